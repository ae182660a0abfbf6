import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { tempHome, type TempHome } from '../helpers';
import { pushTestImage, startRegistry, type StartedRegistry } from '../helpers/registry';
import { writeVmFolder } from '../helpers/vmfixtures';
import { openHome } from '../../app/core/library/home';
import { pull } from '../../app/core/oci/pull';
import { push } from '../../app/core/oci/push';
import { CredentialStore } from '../../app/core/oci/credentials';
import { Registry } from '../../app/core/oci/registry';
import { NOOP_TASK } from '../../app/core/tasks/context';
import { startFaultProxy, type FaultProxy } from './faultProxy';
import { makeDisk } from './disks';
import { TEST_VM_CONFIG } from './images';

const MiB = 1024 * 1024;
let reg: StartedRegistry;
let proxy: FaultProxy;
const homes: TempHome[] = [];
const anon = new CredentialStore([]);
const disk = makeDisk(14 * MiB + 77, 99);
/** Matches GETs of the image's disk layers only (not config/NVRAM). */
let diskBlobs: RegExp;

beforeAll(async () => {
  reg = await startRegistry();
  proxy = await startFaultProxy({ port: reg.port });
  await pushTestImage(reg.host, 'fault/img:v1', disk, { layerSize: 4 * MiB });
  const { manifest } = await new Registry(reg.host, 'fault/img', { insecure: true, credentials: anon }).getManifest('v1');
  diskBlobs = new RegExp(`/blobs/(${manifest.layers.filter((l) => /disk/.test(l.mediaType)).map((l) => l.digest).join('|')})`);
});
afterAll(async () => {
  await proxy?.stop();
  await reg?.stop();
  for (const h of homes) h.cleanup();
});
beforeEach(() => {
  proxy.rules = [];
  proxy.requests = [];
  proxy.blobBytes.clear();
});

function home() {
  const th = tempHome();
  homes.push(th);
  return { home: openHome(th.env), env: th.env, root: th.root };
}

async function pullViaProxy(timeoutMs?: number) {
  const { home: h, env } = home();
  const r = await pull(h, `${proxy.host}/fault/img:v1`, { insecure: true, credentials: anon, env, timeoutMs }, NOOP_TASK);
  expect(readFileSync(path.join(r.dir, 'disk.img')).equals(disk)).toBe(true);
  return r;
}

describe('pull through a faulty network', () => {
  it('connections dropped mid-blob: resumes with Range and finishes with the right bytes', async () => {
    proxy.rules = [{ method: 'GET', path: diskBlobs, action: { kind: 'drop', afterBytes: 300_000 }, times: 4 }];
    await pullViaProxy();
    const ranged = proxy.requests.filter((r) => r.method === 'GET' && r.status === 206);
    expect(ranged.length).toBeGreaterThanOrEqual(3);
  });

  it('5xx answers on manifest and blobs are retried', async () => {
    proxy.rules = [
      { method: 'GET', path: /\/manifests\//, action: { kind: 'status', code: 503 }, times: 2 },
      { method: 'GET', path: diskBlobs, action: { kind: 'status', code: 500 }, times: 3 },
    ];
    await pullViaProxy();
    expect(proxy.requests.filter((r) => r.status >= 500).length).toBe(5);
  });

  it('a stalled transfer times out and resumes', async () => {
    proxy.rules = [{ method: 'GET', path: diskBlobs, action: { kind: 'stall', afterBytes: 200_000 }, times: 2 }];
    await pullViaProxy(1500);
    expect(proxy.rules[0]!.times).toBe(0); // both stalls happened
    expect(proxy.requests.filter((r) => r.method === 'GET' && r.status === 206).length).toBeGreaterThanOrEqual(1);
  });

  it('cancel leaves a resumable state: the next pull fetches only what is missing', async () => {
    const { home: h, env } = home();
    const ac = new AbortController();
    proxy.rules = [{ method: 'GET', path: diskBlobs, action: { kind: 'stall', afterBytes: 1_000_000 }, times: 1 }];
    const p = pull(h, `${proxy.host}/fault/img:v1`, { insecure: true, credentials: anon, env, concurrency: 1 }, {
      ...NOOP_TASK,
      signal: ac.signal,
      progress: (u) => {
        if ((u.secondary?.done ?? 0) > 0) ac.abort();
      },
    });
    await expect(p).rejects.toMatchObject({ code: 'CANCELLED' });
    const before = proxy.totalBlobBytes();
    proxy.rules = [];
    const r = await pull(h, `${proxy.host}/fault/img:v1`, { insecure: true, credentials: anon, env }, NOOP_TASK);
    expect(readFileSync(path.join(r.dir, 'disk.img')).equals(disk)).toBe(true);
    const manifest = JSON.parse(readFileSync(path.join(r.dir, 'manifest.json'), 'utf8')) as { layers: { size: number; mediaType: string }[] };
    const blobs = manifest.layers.filter((x) => /disk/.test(x.mediaType)).reduce((s, x) => s + x.size, 0);
    expect(before).toBeGreaterThan(0);
    expect(proxy.totalBlobBytes() - blobs).toBeLessThanOrEqual(Math.max(...manifest.layers.map((x) => x.size)));
  });
});

describe('push through a faulty network', () => {
  it('5xx and dropped uploads are retried; the pushed image pulls back intact', async () => {
    const th = tempHome();
    homes.push(th);
    const h = openHome(th.env);
    const d = makeDisk(9 * MiB + 3, 123);
    writeVmFolder(path.join(h.vms, 'src'), { config: TEST_VM_CONFIG, disk: d, nvram: Buffer.alloc(1024, 1) });
    proxy.rules = [
      { method: 'POST', path: /\/blobs\/uploads\//, action: { kind: 'status', code: 502 }, times: 1 },
      { method: 'PUT', path: /\/blobs\/uploads\//, action: { kind: 'status', code: 500 }, times: 2 },
      { method: 'PATCH', path: /\/blobs\/uploads\//, action: { kind: 'status', code: 503 }, times: 1 },
      { method: 'HEAD', path: /\/blobs\//, action: { kind: 'status', code: 503 }, times: 1 },
      { method: 'PUT', path: /\/manifests\//, action: { kind: 'status', code: 500 }, times: 1 },
    ];
    const { digest } = await push(h, 'src', [`${proxy.host}/fault/pushed:v1`], { insecure: true, credentials: anon, layerSize: 2 * MiB, chunkSizeMB: 1 }, NOOP_TASK);
    expect(proxy.rules.every((r) => r.times === 0)).toBe(true);
    const { home: h2, env } = home();
    const r = await pull(h2, `${reg.host}/fault/pushed:v1`, { insecure: true, credentials: anon, env }, NOOP_TASK);
    expect(r.digest).toBe(digest);
    expect(readFileSync(path.join(r.dir, 'disk.img')).equals(d)).toBe(true);
  });

  it('a re-push skips the chunks the registry already has without compressing them again (HEAD-skip)', async () => {
    const th = tempHome();
    homes.push(th);
    const h = openHome(th.env);
    writeVmFolder(path.join(h.vms, 'src'), { config: TEST_VM_CONFIG, disk: makeDisk(8 * MiB, 321), nvram: Buffer.alloc(1024, 1) });
    const first = await push(h, 'src', [`${proxy.host}/fault/repush:v1`], { insecure: true, credentials: anon, layerSize: 2 * MiB }, NOOP_TASK);
    const before = proxy.uploadBytes();
    const states: string[] = [];
    const again = await push(h, 'src', [`${proxy.host}/fault/repush:v2`], { insecure: true, credentials: anon, layerSize: 2 * MiB }, { ...NOOP_TASK, progress: (u) => u.items?.forEach((i) => states.push(i.state)) });
    expect(again.digest).not.toBe(''); // same layers, new upload-time annotation
    expect(states.filter((x) => x === 'skipped').length).toBe(4);
    expect(proxy.uploadBytes() - before).toBeLessThan(64 * 1024); // only the manifest (config/NVRAM blobs exist: HEAD)
    expect(first.digest).toMatch(/^sha256:/);
  });
});
