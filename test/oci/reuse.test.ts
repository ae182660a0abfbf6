/**
 * Push reuses disk layers the target tag already holds in the registry (issue #3): a fresh home pushing a disk that
 * differs from the registry's image in one layer uploads about one layer, keeps the unchanged layers' digests, and the
 * result pulls back byte-identical. A new tag uploads everything; a failing manifest GET only costs the optimisation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tempHome, type TempHome } from '../helpers';
import { startRegistry, type StartedRegistry } from '../helpers/registry';
import { writeVmFolder } from '../helpers/vmfixtures';
import { homePaths, openHome } from '../../app/core/library/home';
import { push } from '../../app/core/oci/push';
import { pull } from '../../app/core/oci/pull';
import { CredentialStore } from '../../app/core/oci/credentials';
import { NOOP_TASK, type ProgressUpdate } from '../../app/core/tasks/context';
import type { Descriptor, Manifest } from '../../app/core/oci/mediatypes';
import { makeDisk } from './disks';
import { startFaultProxy, type FaultProxy } from './faultProxy';

const MiB = 1024 * 1024;
const LAYER = 4 * MiB;
const DISK_TYPE = 'application/vnd.cirruslabs.tart.disk.v2';
let reg: StartedRegistry;
let proxy: FaultProxy;
const homes: TempHome[] = [];
const roots: string[] = [];
const anon = new CredentialStore([]);

beforeAll(async () => {
  reg = await startRegistry();
  proxy = await startFaultProxy({ port: reg.port });
});
afterAll(async () => {
  await proxy?.stop();
  await reg?.stop();
  for (const h of homes) h.cleanup();
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** A fresh home (no layer record, empty cache) holding VM "src" with `disk`; pushes it to host/ref. */
async function pushFresh(host: string, ref: string, disk: Buffer, updates?: ProgressUpdate[], logs?: string[]) {
  const root = mkdtempSync(path.join(os.tmpdir(), 'nestbox-reuse-'));
  roots.push(root);
  const home = homePaths(root);
  mkdirSync(home.tmp, { recursive: true });
  mkdirSync(home.cache, { recursive: true });
  const vm = writeVmFolder(path.join(home.vms, 'src'), {
    config: { version: 1, os: 'linux', arch: 'arm64', cpuCountMin: 1, cpuCount: 1, memorySizeMin: 268435456, memorySize: 268435456, macAddress: '7e:1c:f2:4a:78:30', display: { width: 1024, height: 768 } },
    disk,
    nvram: Buffer.alloc(64 * 1024, 0x4e),
  });
  expect(existsSync(path.join(root, 'nestbox-layer-digests.json'))).toBe(false);
  const res = await push(home, 'src', [`${host}/${ref}`], { insecure: true, credentials: anon, layerSize: LAYER }, {
    ...NOOP_TASK,
    progress: (u) => updates?.push(u),
    log: (m) => logs?.push(m),
  });
  return { ...res, diskPath: path.join(vm, 'disk.img') };
}

async function manifestOf(repo: string, tag: string): Promise<Manifest> {
  const r = await fetch(`${reg.url}/v2/${repo}/manifests/${tag}`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
  expect(r.status).toBe(200);
  return (await r.json()) as Manifest;
}

const disks = (m: Manifest) => m.layers.filter((l) => l.mediaType === DISK_TYPE);
const sum = (ls: Descriptor[]) => ls.reduce((a, l) => a + l.size, 0);

describe('push reuses layers the target tag already has in the registry', () => {
  const size = 5 * LAYER + 12345; // 6 layers, uneven last
  const diskA = makeDisk(size, 31);

  it('uploads only the changed layer from a fresh home, keeps the other digests, and pulls back byte-identical', async () => {
    await pushFresh(reg.host, 'reuse/a:v1', diskA);
    const before = await manifestOf('reuse/a', 'v1');
    expect(disks(before)).toHaveLength(6);

    const diskB = Buffer.from(diskA);
    randomBytes(LAYER).copy(diskB, 2 * LAYER); // layer 2 changed (random: compresses to about its own size)
    const updates: ProgressUpdate[] = [];
    const up0 = proxy.uploadBytes();
    const pushed = await pushFresh(proxy.host, 'reuse/a:v1', diskB, updates);
    const uploaded = proxy.uploadBytes() - up0;

    const after = await manifestOf('reuse/a', 'v1');
    const [b, a] = [disks(before), disks(after)];
    expect(a).toHaveLength(6);
    for (let i = 0; i < 6; i++) {
      if (i === 2) expect(a[i]!.digest).not.toBe(b[i]!.digest);
      else expect(a[i]).toEqual(b[i]); // same digest, size, media type and annotations
    }
    // Tart's layer order: config, disk layers, NVRAM.
    expect(after.layers.map((l) => l.mediaType)).toEqual(before.layers.map((l) => l.mediaType));
    // About one layer's compressed bytes (+ the manifest), nowhere near the whole image.
    expect(uploaded).toBeGreaterThanOrEqual(a[2]!.size);
    expect(uploaded).toBeLessThan(a[2]!.size + 64 * 1024);
    expect(sum(a)).toBeGreaterThan(a[2]!.size + 2 * MiB);

    // Progress adds up: reused chunks are 'skipped' items and count as done.
    const last = updates.filter((u) => u.total !== undefined).at(-1)!;
    expect(last.done).toBe(size);
    expect(last.total).toBe(size);
    const states = new Map<string, string>();
    for (const u of updates) for (const it of u.items ?? []) states.set(it.id, it.state);
    expect([...states.entries()].filter(([, s]) => s === 'skipped').map(([id]) => id).sort()).toEqual(['chunk-0', 'chunk-1', 'chunk-3', 'chunk-4', 'chunk-5']);
    expect(states.get('chunk-2')).toBe('done');

    const th = tempHome();
    homes.push(th);
    const res = await pull(openHome(th.env), `${reg.host}/reuse/a:v1`, { insecure: true, credentials: anon }, NOOP_TASK);
    expect(res.digest).toBe(pushed.digest);
    const got = readFileSync(path.join(res.dir, 'disk.img'));
    expect(got.equals(readFileSync(pushed.diskPath))).toBe(true);
    expect(got.equals(diskB)).toBe(true);
  });

  it('a tag that does not exist yet uploads every layer, as before', async () => {
    const disk = makeDisk(3 * LAYER + 777, 32);
    const up0 = proxy.uploadBytes();
    await pushFresh(proxy.host, 'reuse/new:v1', disk);
    const uploaded = proxy.uploadBytes() - up0;
    const m = await manifestOf('reuse/new', 'v1');
    expect(disks(m)).toHaveLength(4);
    expect(uploaded).toBeGreaterThanOrEqual(sum(disks(m)));
    expect(proxy.requests.some((r) => r.method === 'GET' && r.path.endsWith('/reuse/new/manifests/v1') && r.status === 404)).toBe(true);
  });

  it('a manifest GET failing with 500 does not fail the push (it only uploads everything)', async () => {
    const disk = makeDisk(3 * LAYER + 4321, 33);
    await pushFresh(reg.host, 'reuse/err:v1', disk);
    const rule = { method: 'GET', path: /\/reuse\/err\/manifests\/v1$/, action: { kind: 'status' as const, code: 500 }, times: 1 };
    proxy.rules.push(rule);
    const logs: string[] = [];
    const up0 = proxy.uploadBytes();
    try {
      await pushFresh(proxy.host, 'reuse/err:v1', disk, undefined, logs);
    } finally {
      proxy.rules.splice(proxy.rules.indexOf(rule), 1);
    }
    const uploaded = proxy.uploadBytes() - up0;
    expect(rule.times).toBe(0); // the fault was served
    expect(logs.some((l) => /Not reusing layers/.test(l) && /500/.test(l))).toBe(true);
    const m = await manifestOf('reuse/err', 'v1');
    expect(uploaded).toBeGreaterThanOrEqual(sum(disks(m)));
    const th = tempHome();
    homes.push(th);
    const res = await pull(openHome(th.env), `${reg.host}/reuse/err:v1`, { insecure: true, credentials: anon }, NOOP_TASK);
    expect(readFileSync(path.join(res.dir, 'disk.img')).equals(disk)).toBe(true);
  });
});
