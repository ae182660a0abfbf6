import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { homePaths } from '../../app/core/library/home';
import type { TaskContext, ProgressUpdate } from '../../app/core/tasks/context';
import {
  defaultSources,
  downloadIpsw,
  fetchCatalog,
  latestEntry,
  parseIpswSpec,
  resolveIpsw,
  readCachedCatalog,
  macGuestsUnsupported,
} from '../../app/core/ipsw';
import { appleCatalog, rejection, sha1, sha256, startIpswServer, writeIpsw, type IpswServer } from './fixtures';

let server: IpswServer;
const roots: string[] = [];
function freshHome() {
  const root = mkdtempSync(path.join(os.tmpdir(), 'nestbox-ipsw-dl-'));
  roots.push(root);
  return homePaths(root);
}
beforeAll(async () => {
  server = await startIpswServer();
});
afterAll(async () => {
  await server.close();
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function recordingTask(signal = new AbortController().signal) {
  const updates: ProgressUpdate[] = [];
  const logs: string[] = [];
  const task: TaskContext = { signal, progress: (u) => updates.push(u), log: (m) => logs.push(m) };
  return { task, updates, logs };
}

describe('catalog', () => {
  it('parses Apple’s feed defensively, merges sources, sorts newest first and caches with the fetch time', async () => {
    const home = freshHome();
    server.files.set('/release.xml', {
      contentType: 'text/xml',
      body: Buffer.from(
        appleCatalog(
          [
            { version: '14.6.1', build: '23G93', url: `${server.url}/a.ipsw`, sha1: 'A'.repeat(40) },
            { version: '15.1', build: '24B83', url: `${server.url}/b.ipsw`, sha1: 'b'.repeat(40) },
            { version: '17.0', build: '21A329', url: `${server.url}/iphone.ipsw`, device: 'iPhone15,2' },
            { version: '', build: '99Z999', url: `${server.url}/broken.ipsw` },
          ],
          { SomeFutureKey: { Anything: [1] } },
        ),
      ),
    });
    server.files.set('/beta.xml', {
      body: Buffer.from(appleCatalog([{ version: '15.2', build: '24C5057p', url: `${server.url}/beta.ipsw` }])),
    });
    server.files.set('/a.ipsw', { body: Buffer.alloc(1234) });
    server.files.set('/b.ipsw', { body: Buffer.alloc(4321) });
    server.files.set('/beta.ipsw', { body: Buffer.alloc(99) });
    const sources = defaultSources({ NESTBOX_IPSW_CATALOG_URL: `${server.url}/release.xml`, NESTBOX_IPSW_BETA_CATALOG_URL: `${server.url}/beta.xml` });
    const now = new Date('2026-01-01T10:00:00Z');
    const { task, logs } = recordingTask();
    const c = await fetchCatalog(home, { sources, withSizes: true, now: () => now, task });
    expect(c.fetchedAt).toBe('2026-01-01T10:00:00.000Z');
    expect(c.entries.map((e) => [e.version, e.build, e.channel, e.size, e.minimumHost])).toEqual([
      ['15.2', '24C5057p', 'beta', 99, '15.0'],
      ['15.1', '24B83', 'release', 4321, '15.0'],
      ['14.6.1', '23G93', 'release', 1234, '14.0'],
    ]);
    expect(c.entries[2]!.sha1).toBe('a'.repeat(40));
    expect(c.sources.find((s) => s.id === 'apple')).toMatchObject({ ok: true, entries: 2, skipped: 1 });
    expect(logs.join('\n')).toMatch(/skipped 1 catalog entries/);
    expect(latestEntry(c)?.build).toBe('24B83');
    expect(latestEntry(c, 'beta')?.build).toBe('24C5057p');

    // Cached: a second call within the max age makes no request.
    const before = server.requests.length;
    const again = await fetchCatalog(home, { sources, now: () => new Date(now.getTime() + 60_000) });
    expect(server.requests.length).toBe(before);
    expect(again.fetchedAt).toBe(c.fetchedAt);
    expect((await readCachedCatalog(home))?.entries).toHaveLength(3);

    // Sources down: the cached copy comes back, marked stale.
    const down = defaultSources({ NESTBOX_IPSW_CATALOG_URL: `${server.url}/gone.xml` });
    const stale = await fetchCatalog(home, { sources: down, maxAgeMs: 0 });
    expect(stale.stale).toBe(true);
    expect(stale.entries).toHaveLength(3);
  });

  it('fails with NETWORK when no source answers and nothing is cached; a garbage source does not hide a good one', async () => {
    const home = freshHome();
    const e = await rejection(fetchCatalog(home, { sources: [{ id: 'x', url: `${server.url}/missing.xml`, channel: 'release' }] }));
    expect(e.code).toBe('NETWORK');
    expect(e.message).toMatch(/HTTP 404/);

    server.files.set('/garbage.xml', { body: Buffer.from('<html>nope</html>') });
    server.files.set('/good.xml', { body: Buffer.from(appleCatalog([{ version: '14.0', build: '23A344', url: `${server.url}/x.ipsw` }])) });
    const c = await fetchCatalog(home, {
      sources: [
        { id: 'garbage', url: `${server.url}/garbage.xml`, channel: 'release' },
        { id: 'good', url: `${server.url}/good.xml`, channel: 'release' },
      ],
    });
    expect(c.sources.map((s) => s.ok)).toEqual([false, true]);
    expect(c.entries.map((e) => e.build)).toEqual(['23A344']);
  });
});

describe('download', () => {
  it('downloads into cache/IPSWs/sha256:<hex>.ipsw with progress and SHA-1 verification, then reuses it', async () => {
    const home = freshHome();
    const body = randomBytes(3 * 1024 * 1024 + 17);
    server.files.set('/plain.ipsw', { body });
    const { task, updates } = recordingTask();
    const d = await downloadIpsw(home, `${server.url}/plain.ipsw`, { task, sha1: sha1(body).toUpperCase(), label: 'macOS 14.0 (23A344)' });
    expect(d).toMatchObject({ sha256: sha256(body), bytes: body.length, reused: false });
    expect(path.basename(d.path)).toBe(`sha256:${sha256(body)}.ipsw`);
    expect(path.dirname(d.path)).toBe(home.ipsws);
    expect(readFileSync(d.path).equals(body)).toBe(true);
    expect(readdirSync(home.tmp)).toEqual([]);
    const last = updates.filter((u) => u.unit === 'bytes').at(-1)!;
    expect(last).toMatchObject({ done: body.length, total: body.length });
    expect(updates.some((u) => u.step?.includes('macOS 14.0 (23A344)'))).toBe(true);

    const gets = server.requests.filter((r) => r.path === '/plain.ipsw' && r.method === 'GET').length;
    const old = new Date('2020-01-01T00:00:00Z');
    utimesSync(d.path, old, old);
    const again = await downloadIpsw(home, `${server.url}/plain.ipsw`);
    expect(statSync(d.path).atime.getTime()).toBeGreaterThan(old.getTime()); // access date bumped for prune's LRU
    expect(again).toMatchObject({ path: d.path, reused: true });
    expect(server.requests.filter((r) => r.path === '/plain.ipsw' && r.method === 'GET').length).toBe(gets);
  });

  it('resumes with a Range request after the connection drops mid-body', async () => {
    const home = freshHome();
    const body = randomBytes(5 * 1024 * 1024);
    server.files.set('/drop.ipsw', { body, dropAfter: 1024 * 1024 + 5, dropTimes: 2 });
    const { task, logs } = recordingTask();
    const d = await downloadIpsw(home, `${server.url}/drop.ipsw`, { task, sha1: sha1(body), retryDelayMs: () => 1 });
    expect(readFileSync(d.path).equals(body)).toBe(true);
    const ranges = server.requests.filter((r) => r.path === '/drop.ipsw' && r.method === 'GET').map((r) => r.range);
    expect(ranges[0]).toBeUndefined();
    expect(ranges.length).toBe(3);
    expect(ranges[1]).toBe(`bytes=${1024 * 1024 + 5}-`);
    expect(ranges[2]).toBe(`bytes=${2 * (1024 * 1024 + 5)}-`);
    expect(logs.filter((l) => /Connection lost/.test(l))).toHaveLength(2);
  });

  it('keeps the partial file when retries run out and resumes it in a later run (re-hashing the prefix)', async () => {
    const home = freshHome();
    const body = randomBytes(2 * 1024 * 1024);
    server.files.set('/flaky.ipsw', { body, dropAfter: 700_000, dropTimes: 1 });
    const e = await rejection(downloadIpsw(home, `${server.url}/flaky.ipsw`, { retries: 0 }));
    expect(e.code).toBe('NETWORK');
    expect(e.message).toMatch(/700000 bytes kept for the next run/);
    const partials = readdirSync(home.tmp);
    expect(partials).toHaveLength(1);
    expect(readFileSync(path.join(home.tmp, partials[0]!)).length).toBe(700_000);

    const { task, logs } = recordingTask();
    const d = await downloadIpsw(home, `${server.url}/flaky.ipsw`, { task, sha256: sha256(body) });
    expect(readFileSync(d.path).equals(body)).toBe(true);
    expect(logs.join('\n')).toMatch(/Resuming the download at 700000 bytes/);
    expect(server.requests.filter((r) => r.path === '/flaky.ipsw' && r.method === 'GET').at(-1)!.range).toBe('bytes=700000-');
  });

  it('starts over when the server ignores Range', async () => {
    const home = freshHome();
    const body = randomBytes(1024 * 1024);
    server.files.set('/norange.ipsw', { body, noRange: true });
    mkdirSync(home.tmp, { recursive: true });
    const key = (await import('node:crypto')).createHash('sha256').update(`${server.url}/norange.ipsw`).digest('hex').slice(0, 32);
    writeFileSync(path.join(home.tmp, `${key}.ipsw`), Buffer.alloc(1000, 1)); // a stale partial with wrong bytes
    const d = await downloadIpsw(home, `${server.url}/norange.ipsw`, { sha256: sha256(body) });
    expect(readFileSync(d.path).equals(body)).toBe(true);
  });

  it('rejects a digest mismatch and leaves nothing in the cache', async () => {
    const home = freshHome();
    server.files.set('/bad.ipsw', { body: Buffer.from('not what the catalog promised') });
    const e = await rejection(downloadIpsw(home, `${server.url}/bad.ipsw`, { sha1: 'f'.repeat(40) }));
    expect(e.code).toBe('DIGEST_MISMATCH');
    expect(e.message).toMatch(/SHA-1 is [0-9a-f]{40}, expected f{40}/);
    expect(existsSync(home.ipsws) ? readdirSync(home.ipsws) : []).toEqual([]);
  });

  it('reuses the cache entry named by x-amz-meta-digest-sha256 without downloading (Tart’s rule)', async () => {
    const home = freshHome();
    const body = randomBytes(1000);
    const h = sha256(body);
    server.files.set('/cdn.ipsw', { body, headers: { 'x-amz-meta-digest-sha256': h } });
    const first = await downloadIpsw(home, `${server.url}/cdn.ipsw`);
    expect(first.reused).toBe(false);
    // A different URL for the same bytes: HEAD names the digest, the cache has it.
    server.files.set('/mirror.ipsw', { body, headers: { 'x-amz-meta-digest-sha256': h } });
    const second = await downloadIpsw(home, `${server.url}/mirror.ipsw`);
    expect(second).toMatchObject({ reused: true, path: first.path });
    expect(server.requests.filter((r) => r.path === '/mirror.ipsw' && r.method === 'GET')).toHaveLength(0);
  });

  it('cancels on the task signal, keeping the partial file', async () => {
    const home = freshHome();
    const body = randomBytes(8 * 1024 * 1024);
    server.files.set('/cancel.ipsw', { body });
    const ac = new AbortController();
    const task: TaskContext = {
      signal: ac.signal,
      progress: (u) => {
        if (u.unit === 'bytes' && (u.done ?? 0) > 0) ac.abort();
      },
      log: () => {},
    };
    const e = await rejection(downloadIpsw(home, `${server.url}/cancel.ipsw`, { task }));
    expect(e.code).toBe('CANCELLED');
    expect(readdirSync(home.tmp)).toHaveLength(1);
  });

  it('404 is NOT_FOUND', async () => {
    const e = await rejection(downloadIpsw(freshHome(), `${server.url}/nothing.ipsw`));
    expect(e.code).toBe('NOT_FOUND');
  });
});

describe('resolveIpsw (the --from-ipsw flow up to the installer)', () => {
  it('latest: catalog → download → validation, with the newer-than-host warning', async () => {
    const home = freshHome();
    const ipsw = path.join(home.root, 'src.ipsw');
    await writeIpsw(ipsw, { version: '15.1', build: '24B83' });
    const bytes = readFileSync(ipsw);
    server.files.set('/UniversalMac_15.1_24B83_Restore.ipsw', { body: bytes, dropAfter: 3000 });
    server.files.set('/latest.xml', {
      body: Buffer.from(appleCatalog([{ version: '15.1', build: '24B83', url: `${server.url}/UniversalMac_15.1_24B83_Restore.ipsw`, sha1: sha1(bytes) }])),
    });
    const { task, logs } = recordingTask();
    const r = await resolveIpsw(home, parseIpswSpec('latest'), {
      task,
      host: { platform: 'darwin', arch: 'arm64', macosVersion: '14.5' },
      sources: defaultSources({ NESTBOX_IPSW_CATALOG_URL: `${server.url}/latest.xml` }),
    });
    expect(r.downloaded).toBe(true);
    expect(r.info).toMatchObject({ productVersion: '15.1', buildVersion: '24B83', path: path.join(home.ipsws, `sha256:${sha256(bytes)}.ipsw`) });
    expect(logs.some((l) => /^Warning: macOS 15\.1 \(24B83\) is newer than this Mac/.test(l))).toBe(true);
  });

  it('a local non-macOS file is rejected before anything else; a good one on Linux gets UNSUPPORTED with the reason', async () => {
    const home = freshHome();
    const bad = path.join(home.root, 'iphone.ipsw');
    await writeIpsw(bad, { version: '17.0', build: '21A329', productTypes: ['iPhone15,2'], deviceClasses: ['d73ap'] });
    expect((await rejection(resolveIpsw(home, parseIpswSpec(bad)))).message).toMatch(/iOS 17\.0/);
    const good = path.join(home.root, 'mac.ipsw');
    await writeIpsw(good);
    const r = await resolveIpsw(home, parseIpswSpec(good), { host: { platform: 'linux', arch: 'x64' } });
    const e = macGuestsUnsupported(r.info);
    expect(e.code).toBe('UNSUPPORTED');
    expect(e.message).toMatch(/^macOS guests need a Mac with Apple silicon \(the restore image is fine: macOS 14\.0 \(23A344\)\)/);
  });

  it('parses --from-ipsw forms', () => {
    expect(parseIpswSpec('latest')).toEqual({ kind: 'latest' });
    expect(parseIpswSpec('https://x/y.ipsw')).toEqual({ kind: 'url', url: 'https://x/y.ipsw' });
    expect(parseIpswSpec('~/a.ipsw')).toEqual({ kind: 'file', path: path.join(os.homedir(), 'a.ipsw') });
  });
});
