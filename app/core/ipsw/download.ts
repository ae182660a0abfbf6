import { createHash, type Hash } from 'node:crypto';
import { promises as fsp, constants } from 'node:fs';
import path from 'node:path';
import { NestboxError, mapSpaceError } from '../errors';
import { fsyncDir, writeFileAtomic } from '../fsutil';
import type { Home } from '../library/home';
import { FileLock } from '../library/locks';
import { NOOP_TASK, cancelledError, type TaskContext } from '../tasks/context';

/**
 * Downloads a restore image into Tart's IPSW cache (`cache/IPSWs/sha256:<hex>.ipsw`, tart-format.md §6):
 *  - streams into `tmp/<key>.ipsw` (key = hash of the URL, flocked while in use so Tart's/Nestbox's tmp GC
 *    leaves it alone and a second download of the same URL waits instead of racing);
 *  - resumes with `Range: bytes=<have>-` after a dropped connection (up to `retries` times per run) and also
 *    across runs while the partial file survives (its prefix is re-hashed first);
 *  - verifies SHA-1/SHA-256 when known (catalog FirmwareSHA1, HEAD `x-amz-meta-digest-sha256`) and the length;
 *  - renames into the cache; files there are pruned with the caches (`prune --entries caches`).
 * Reuses a cached file when the server's SHA-256 header or our URL index names one that exists.
 */
const INDEX_FILE = 'nestbox-ipsw-index.json';
const WRITE_CHUNK = 4 * 1024 * 1024;
const HASH_CHUNK = 16 * 1024 * 1024;

export interface DownloadIpswOptions {
  task?: TaskContext;
  /** Expected digests (hex, any case). */
  sha1?: string;
  sha256?: string;
  /** Label for progress ("macOS 15.1 (24B83)"). */
  label?: string;
  /** Network retries after a dropped connection (default 5, like Tart's layer pulls). */
  retries?: number;
  /** Delay before retry n (ms); default 250·n. */
  retryDelayMs?: (attempt: number) => number;
}

export interface DownloadedIpsw {
  path: string;
  sha256: string;
  bytes: number;
  /** True when an existing cache entry was used and nothing was downloaded. */
  reused: boolean;
}

export function ipswCachePath(home: Home, sha256: string): string {
  return path.join(home.ipsws, `sha256:${sha256}.ipsw`);
}

interface IndexEntry {
  url: string;
  sha256: string;
  sha1?: string;
}

async function readIndex(home: Home): Promise<IndexEntry[]> {
  try {
    const v = JSON.parse(await fsp.readFile(path.join(home.cache, INDEX_FILE), 'utf8')) as { entries?: IndexEntry[] };
    return Array.isArray(v.entries) ? v.entries.filter((e) => typeof e.url === 'string' && typeof e.sha256 === 'string') : [];
  } catch {
    return [];
  }
}

async function remember(home: Home, e: IndexEntry): Promise<void> {
  const all = (await readIndex(home)).filter((x) => x.url !== e.url);
  all.push(e);
  await writeFileAtomic(path.join(home.cache, INDEX_FILE), JSON.stringify({ entries: all }, null, 2) + '\n');
}

async function existingFile(p: string): Promise<number | undefined> {
  try {
    const st = await fsp.stat(p);
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = u.search ? '?…' : '';
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}

function networkError(url: string, reason: string, cause?: unknown): NestboxError {
  return new NestboxError('NETWORK', `Cannot download ${redact(url)}: ${reason}.`, {
    fix: 'Check the network connection and run the command again; the download resumes where it stopped.',
    details: { url: redact(url) },
    cause,
  });
}

async function lookupCached(home: Home, url: string, headSha: string | undefined, want: { sha1?: string; sha256?: string }): Promise<DownloadedIpsw | undefined> {
  const candidates = new Set<string>();
  if (want.sha256) candidates.add(want.sha256);
  if (headSha) candidates.add(headSha);
  for (const e of await readIndex(home)) {
    if (e.url === url || (want.sha1 && e.sha1 === want.sha1)) candidates.add(e.sha256);
  }
  for (const h of candidates) {
    const p = ipswCachePath(home, h);
    const size = await existingFile(p);
    if (size !== undefined) {
      // Bump the access time: prune and auto-prune delete least recently accessed cache entries first (Tart does the same).
      const now = new Date();
      await fsp.utimes(p, now, (await fsp.stat(p)).mtime).catch(() => {});
      return { path: p, sha256: h, bytes: size, reused: true };
    }
  }
  return undefined;
}

export async function downloadIpsw(home: Home, url: string, opts: DownloadIpswOptions = {}): Promise<DownloadedIpsw> {
  const task = opts.task ?? NOOP_TASK;
  const signal = task.signal;
  const want = { sha1: opts.sha1?.toLowerCase(), sha256: opts.sha256?.toLowerCase() };
  const what = opts.label ? `the ${opts.label} restore image` : 'the restore image';
  const retries = opts.retries ?? 5;
  const delay = opts.retryDelayMs ?? ((n: number) => 250 * n);
  await fsp.mkdir(home.ipsws, { recursive: true });
  await fsp.mkdir(home.tmp, { recursive: true });

  // HEAD: size and, on Apple's CDN, the SHA-256 (Tart reuses the cache entry it names).
  let total: number | undefined;
  let headSha: string | undefined;
  try {
    const res = await fetch(url, { method: 'HEAD', signal, redirect: 'follow' });
    if (res.status === 404) throw new NestboxError('NOT_FOUND', `${redact(url)} does not exist (HTTP 404).`, { fix: 'Check the URL, or refresh the catalog.' });
    if (res.ok) {
      const len = Number(res.headers.get('content-length'));
      if (Number.isSafeInteger(len) && len > 0) total = len;
      const h = res.headers.get('x-amz-meta-digest-sha256')?.toLowerCase();
      if (h && /^[0-9a-f]{64}$/.test(h)) headSha = h;
    }
  } catch (e) {
    if (e instanceof NestboxError) throw e;
    if (signal.aborted) throw cancelledError(`Downloading ${what}`);
    throw networkError(url, (e as Error).message, e);
  }
  if (headSha && want.sha256 && headSha !== want.sha256) headSha = undefined;
  const hit = await lookupCached(home, url, headSha, want);
  if (hit) {
    task.log(`Using the cached restore image ${path.basename(hit.path)}.`);
    return hit;
  }

  const key = createHash('sha256').update(url).digest('hex').slice(0, 32);
  const tmp = path.join(home.tmp, `${key}.ipsw`);
  const fh = await fsp.open(tmp, constants.O_RDWR | constants.O_CREAT, 0o644);
  let lock: FileLock | undefined;
  try {
    lock = new FileLock(tmp);
    if (!lock.tryLock()) {
      task.log('Waiting for another download of the same image to finish…');
      await lock.lock();
      const done = await lookupCached(home, url, headSha, want);
      if (done) return done;
    }
    // tmp GC may have removed the path between open and lock: make sure we write the file the path names.
    const [a, b] = await Promise.all([fh.stat(), fsp.stat(tmp).catch(() => undefined)]);
    if (!b || a.ino !== b.ino) throw networkError(url, 'the temporary file was removed while starting; run the command again');

    const sha256 = createHash('sha256');
    const sha1 = want.sha1 ? createHash('sha1') : undefined;
    let have = (await fh.stat()).size;
    if (total !== undefined && have > total) {
      await fh.truncate(0);
      have = 0;
    }
    if (have > 0) {
      task.progress({ step: `Checking the partial download of ${what}`, done: 0, total: have, unit: 'bytes' });
      await hashPrefix(fh, have, [sha256, sha1], task);
      task.log(`Resuming the download at ${have} bytes.`);
    }

    const buf = Buffer.allocUnsafe(WRITE_CHUNK);
    let attempt = 0;
    for (;;) {
      try {
        const r = await getFrom(url, have, signal);
        if (r.restart) {
          // The server ignored the Range request (or the partial is stale): start over.
          await fh.truncate(0);
          have = 0;
          return await restart();
        }
        if (r.total !== undefined) total = r.total;
        have = await pump(r.body, fh, have, buf, [sha256, sha1], (done) =>
          task.progress({ step: `Downloading ${what}`, done, total, unit: 'bytes' }),
        );
        if (total !== undefined && have < total) throw new Error(`the connection closed after ${have} of ${total} bytes`);
        break;
      } catch (e) {
        if (signal.aborted) throw cancelledError(`Downloading ${what}`);
        if (e instanceof NestboxError) throw e;
        const c = mapSpaceError(e, `download ${what}`, home.tmp);
        if (c instanceof NestboxError) throw c;
        have = (await fh.stat()).size;
        if (attempt >= retries) throw networkError(url, `${(e as Error).message} (gave up after ${retries} retries; ${have} bytes kept for the next run)`, e);
        attempt++;
        task.log(`Connection lost at ${have} bytes (${(e as Error).message}); retrying (${attempt}/${retries})…`);
        await sleep(delay(attempt), signal);
        if (signal.aborted) throw cancelledError(`Downloading ${what}`);
      }
    }

    await fh.sync();
    const hex256 = sha256.digest('hex');
    const hex1 = sha1?.digest('hex');
    const mismatch = (kind: string, expected: string, got: string) =>
      new NestboxError('DIGEST_MISMATCH', `The downloaded restore image is damaged: its ${kind} is ${got}, expected ${expected}.`, {
        fix: 'Run the command again to download it afresh.',
        details: { url: redact(url), expected, actual: got },
      });
    if (want.sha1 && hex1 !== want.sha1) {
      await fh.truncate(0);
      throw mismatch('SHA-1', want.sha1, hex1!);
    }
    const expected256 = want.sha256 ?? headSha;
    if (expected256 && hex256 !== expected256) {
      await fh.truncate(0);
      throw mismatch('SHA-256', expected256, hex256);
    }
    const dest = ipswCachePath(home, hex256);
    await fsp.rename(tmp, dest);
    await fsyncDir(home.ipsws);
    await remember(home, { url, sha256: hex256, ...(hex1 ? { sha1: hex1 } : {}) });
    task.progress({ step: `Downloaded ${what}`, done: have, total: have, unit: 'bytes' });
    return { path: dest, sha256: hex256, bytes: have, reused: false };
  } finally {
    await fh.close().catch(() => {});
    lock?.close();
  }

  async function restart(): Promise<DownloadedIpsw> {
    // Release everything and run again from an empty temp file (bounded: the file is now empty, so no second restart).
    await fh.close().catch(() => {});
    lock?.close();
    lock = undefined;
    await fsp.rm(tmp, { force: true });
    return downloadIpsw(home, url, opts);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

async function hashPrefix(fh: fsp.FileHandle, length: number, hashes: (Hash | undefined)[], task: TaskContext): Promise<void> {
  const buf = Buffer.allocUnsafe(Math.min(HASH_CHUNK, length));
  let pos = 0;
  while (pos < length) {
    if (task.signal.aborted) throw cancelledError('Checking the partial download');
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, length - pos), pos);
    if (bytesRead === 0) break;
    for (const h of hashes) h?.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
    task.progress({ done: pos, total: length, unit: 'bytes' });
  }
}

interface GetResult {
  body: ReadableStream<Uint8Array>;
  total?: number;
  restart: boolean;
}

async function getFrom(url: string, offset: number, signal: AbortSignal): Promise<GetResult> {
  const headers: Record<string, string> = offset > 0 ? { range: `bytes=${offset}-` } : {};
  const res = await fetch(url, { signal, redirect: 'follow', headers });
  if (res.status === 416 || (offset > 0 && res.status === 200)) {
    await res.body?.cancel().catch(() => {});
    return { body: new ReadableStream(), restart: true };
  }
  if (res.status === 404) throw new NestboxError('NOT_FOUND', `${redact(url)} does not exist (HTTP 404).`, { fix: 'Check the URL, or refresh the catalog.' });
  if (res.status !== 200 && res.status !== 206) throw new NestboxError('NETWORK', `Downloading ${redact(url)} failed with HTTP ${res.status}.`, { fix: 'Try again later.' });
  if (!res.body) throw new Error('empty response');
  let total: number | undefined;
  if (res.status === 206) {
    const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
    if (!m || Number(m[1]) !== offset) {
      await res.body.cancel().catch(() => {});
      return { body: new ReadableStream(), restart: true };
    }
    if (m[2] !== '*') total = Number(m[2]);
  } else {
    const len = Number(res.headers.get('content-length'));
    if (Number.isSafeInteger(len) && len >= 0) total = len;
  }
  return { body: res.body, total, restart: false };
}

/** Streams the body to the file at `offset`, coalescing into `buf`; returns the new length. Flushes what it has before rethrowing. */
async function pump(
  body: ReadableStream<Uint8Array>,
  fh: fsp.FileHandle,
  offset: number,
  buf: Buffer,
  hashes: (Hash | undefined)[],
  onProgress: (done: number) => void,
): Promise<number> {
  let pos = offset;
  let fill = 0;
  const flush = async () => {
    let off = 0;
    while (off < fill) {
      const { bytesWritten } = await fh.write(buf, off, fill - off, pos + off);
      off += bytesWritten;
    }
    for (const h of hashes) h?.update(buf.subarray(0, fill));
    pos += fill;
    fill = 0;
    onProgress(pos);
  };
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      let v = value;
      while (v.length > 0) {
        const n = Math.min(v.length, buf.length - fill);
        buf.set(v.subarray(0, n), fill);
        fill += n;
        v = v.subarray(n);
        if (fill === buf.length) await flush();
      }
    }
    await flush();
    return pos;
  } catch (e) {
    await flush();
    throw e;
  } finally {
    reader.releaseLock();
  }
}
