/**
 * Long work over `nestbox serve`: pulls from a real registry (docker-registry) through the real WebSocket, with a
 * fault proxy that stalls a transfer so cancel and shutdown land mid-pull.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TaskInfo } from '../api/models';
import { createClient, type ApiClient } from '../api/wire';
import { openHome } from '../core/library/home';
import { pullTempName } from '../core/oci/pull';
import { parseRemoteNameOrThrow } from '../core/oci/reference';
import { Registry } from '../core/oci/registry';
import { CredentialStore } from '../core/oci/credentials';
import { tempHome, waitFor, type TempHome } from '../../test/helpers';
import { pushTestImage, startRegistry, type StartedRegistry } from '../../test/helpers/registry';
import { startFaultProxy, type FaultProxy } from '../../test/oci/faultProxy';
import { connectBridge, type NodeBridge } from './node-client';
import { startServer, type RunningServer } from './server';

const MiB = 1024 * 1024;

/** Incompressible, reproducible bytes (so compressed ≈ raw and transfers take real bytes). */
function noise(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b.writeUInt32LE(x >>> 0, i);
  }
  return b;
}

const until = <T>(what: string, f: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000) => waitFor(what, f, timeoutMs, 20);

/** The pull's resume journal in its temp dir (the newest valid record of its nestbox-pull*.json files), or null. */
function readJournal(dir: string): { manifestDigest: string; partial: Record<string, { compressed: number }>; seq?: number } | null {
  let best: ReturnType<typeof readJournal> = null;
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => /^nestbox-pull.*\.json$/.test(f));
  } catch {
    return null;
  }
  for (const f of files) {
    try {
      const j = JSON.parse(readFileSync(path.join(dir, f), 'utf8'));
      if (typeof j.manifestDigest === 'string' && (!best || (j.seq ?? 0) > (best.seq ?? 0))) best = j;
    } catch {}
  }
  return best;
}

interface Conn {
  home: TempHome;
  server: RunningServer;
  bridge: NodeBridge;
  client: ApiClient;
  updates: TaskInfo[];
}

async function serve(): Promise<Conn> {
  const home = tempHome();
  const server = await startServer({ home: openHome(home.env), port: 0, log: () => {} });
  const bridge = await connectBridge({ url: server.url });
  const client = createClient(bridge);
  const updates: TaskInfo[] = [];
  client.on('task.updated', (t) => updates.push(t));
  return { home, server, bridge, client, updates };
}

async function stop(c: Conn | undefined): Promise<void> {
  if (!c) return;
  await c.bridge.close();
  await c.server.close();
  c.home.cleanup();
}

describe('tasks over nestbox serve', () => {
  let reg: StartedRegistry;
  let proxy: FaultProxy;
  let diskBlobs: RegExp;
  /** Bytes of the image's disk layers as stored in the registry. */
  let diskLayerBytes = 0;
  const disk = noise(12 * MiB, 7);
  const conns: Conn[] = [];

  beforeAll(async () => {
    reg = await startRegistry();
    proxy = await startFaultProxy({ port: reg.port });
    await pushTestImage(reg.host, 'serve/img:v1', disk, { layerSize: 4 * MiB });
    const { manifest } = await new Registry(reg.host, 'serve/img', { insecure: true, credentials: new CredentialStore([]) }).getManifest('v1');
    diskLayerBytes = manifest.layers.filter((l) => /disk/.test(l.mediaType)).reduce((a, l) => a + l.size, 0);
    diskBlobs = new RegExp(`/blobs/(${manifest.layers.filter((l) => /disk/.test(l.mediaType)).map((l) => l.digest).join('|')})`);
  });

  afterAll(async () => {
    for (const c of conns) await stop(c);
    await proxy?.stop();
    await reg?.stop();
  });

  beforeEach(() => {
    proxy.rules = [];
    proxy.requests = [];
    proxy.blobBytes.clear();
  });

  it("a pull's progress events arrive in order and end in done, with the image in the cache", async () => {
    const c = await serve();
    conns.push(c);
    const reference = `${reg.host}/serve/img:v1`;
    const { taskId } = await c.client.request('image.pull', { reference, insecure: true });
    const final = await until('the pull to finish', () => c.updates.find((t) => t.id === taskId && t.state !== 'running'));
    expect(final.state).toBe('done');
    expect(final.error).toBeUndefined();
    expect(final.result).toMatchObject({ image: reference, digest: expect.stringMatching(/^sha256:/) });
    const mine = c.updates.filter((t) => t.id === taskId);
    expect(mine[0]!.state).toBe('running');
    expect(mine.at(-1)).toBe(final);
    expect(mine.filter((t) => t.state !== 'running')).toHaveLength(1);
    // In order: the main counter never goes back within the download step, and ends at the total.
    const download = mine.filter((t) => t.progress.step === 'Downloading disk layers' || t.state === 'done');
    const dones = download.map((t) => t.progress.done ?? 0);
    expect(dones).toEqual([...dones].sort((a, b) => a - b));
    expect(final.progress.done).toBe(disk.length);
    expect(final.progress.total).toBe(disk.length);
    expect(final.progress.unit).toBe('bytes');
    const images = await c.client.request('image.list', {});
    expect(images.map((i) => i.name)).toContain(reference);
    expect((await c.client.request('task.list', {})).find((t) => t.id === taskId)?.state).toBe('done');
  });

  it('cancel mid-pull ends cancelled and resumable; pulling again resumes and finishes', async () => {
    const c = await serve();
    conns.push(c);
    proxy.rules = [{ method: 'GET', path: diskBlobs, action: { kind: 'stall', afterBytes: 2 * MiB + 12345 }, times: 1 }];
    const reference = `${proxy.host}/serve/img:v1`;
    const { taskId } = await c.client.request('image.pull', { reference, insecure: true, concurrency: 1 });
    // Mid-pull: the stalled layer has checkpointed 2 MiB to the pull's journal, and the task is still running.
    const tmp = path.join(c.home.root, 'tmp', pullTempName(parseRemoteNameOrThrow(reference)));
    const journal = () => readJournal(tmp);
    await until('a 2 MiB checkpoint in the pull journal', () => Object.values(journal()?.partial ?? {}).some((p) => p.compressed >= 2 * MiB));
    expect(c.updates.filter((t) => t.id === taskId).every((t) => t.state === 'running')).toBe(true);
    await c.client.request('task.cancel', { id: taskId });
    const final = await until('the cancelled pull', () => c.updates.find((t) => t.id === taskId && t.state !== 'running'));
    expect(final.state).toBe('cancelled');
    expect(final.resumable).toBe(true);
    expect(final.error).toMatchObject({ code: 'CANCELLED' });
    // The partial pull is kept for the next attempt (Tart's deterministic temp dir with Nestbox's journal).
    expect(existsSync(tmp)).toBe(true);
    expect(Object.values(journal()!.partial).some((p) => p.compressed >= 2 * MiB)).toBe(true);
    expect((await c.client.request('image.list', {})).map((i) => i.name)).not.toContain(reference);

    const firstBytes = proxy.totalBlobBytes();
    proxy.blobBytes.clear();
    const again = await c.client.request('image.pull', { reference, insecure: true });
    const done = await until('the resumed pull', () => c.updates.find((t) => t.id === again.taskId && t.state !== 'running'));
    expect(done.state).toBe('done');
    // Resumed, not restarted: the second attempt skipped the checkpointed 2 MiB of the layer the first one stopped
    // in (the small config and NVRAM blobs are fetched again: 64 KiB here).
    expect(firstBytes).toBeGreaterThan(2 * MiB);
    expect(proxy.totalBlobBytes()).toBeLessThanOrEqual(diskLayerBytes - 2 * MiB + 256 * 1024);
    const dir = (await c.client.request('image.list', {})).find((i) => i.name === reference);
    expect(dir).toBeDefined();
  });

  it('refuses a second pull of the image being pulled, with BUSY', async () => {
    const c = await serve();
    conns.push(c);
    proxy.rules = [{ method: 'GET', path: diskBlobs, action: { kind: 'stall', afterBytes: 1 * MiB }, times: 1 }];
    const reference = `${proxy.host}/serve/img:v1`;
    const { taskId } = await c.client.request('image.pull', { reference, insecure: true, concurrency: 1 });
    const err = await c.client.request('image.pull', { reference, insecure: true }).catch((e) => e);
    expect(err.code).toBe('BUSY');
    expect(err.message).toBe(`Cannot pull ${reference}: image "${reference}" is in use by the running task "Pull ${reference}".`);
    expect((await c.client.request('image.delete', { name: reference }).catch((e) => e)).code).toBe('BUSY');
    await c.client.request('task.cancel', { id: taskId });
    await until('the cancelled pull', () => c.updates.find((t) => t.id === taskId && t.state === 'cancelled'));
  });

  it('graceful shutdown cancels running tasks into a resumable state and tells the clients', async () => {
    const c = await serve();
    proxy.rules = [{ method: 'GET', path: diskBlobs, action: { kind: 'stall', afterBytes: 1 * MiB }, times: 1 }];
    const reference = `${proxy.host}/serve/img:v1`;
    const { taskId } = await c.client.request('image.pull', { reference, insecure: true, concurrency: 1 });
    await until('bytes through the stalled layer', () => proxy.totalBlobBytes() >= 1 * MiB);
    await c.server.close();
    const final = c.updates.find((t) => t.id === taskId && t.state !== 'running');
    expect(final).toMatchObject({ state: 'cancelled', resumable: true });
    const tmp = path.join(c.home.root, 'tmp', pullTempName(parseRemoteNameOrThrow(reference)));
    expect(readJournal(tmp)).toHaveProperty('manifestDigest');
    await c.bridge.close();
    c.home.cleanup();
  });

  it('logs in to a registry only with valid credentials, and logs out', async () => {
    const authReg = await startRegistry({ auth: { kind: 'basic', username: 'alice', password: 's3cret-pw' } });
    const c = await serve();
    conns.push(c);
    try {
      const bad = await c.client.request('registry.login', { host: authReg.host, username: 'alice', password: 'wrong', insecure: true }).catch((e) => e);
      expect(bad.code).toBe('AUTH');
      expect(JSON.stringify(bad.toApiError())).not.toContain('wrong');
      await c.client.request('registry.login', { host: authReg.host, username: 'alice', password: 's3cret-pw', insecure: true });
      await c.client.request('registry.logout', { host: authReg.host });
      const again = await c.client.request('registry.logout', { host: authReg.host }).catch((e) => e);
      expect(again).toMatchObject({ code: 'NOT_FOUND', message: `You are not logged in to ${authReg.host}.` });
    } finally {
      await authReg.stop();
    }
  });

  it('prunes and deletes cached images, reported as library changes', async () => {
    const c = await serve();
    conns.push(c);
    const changes: string[] = [];
    c.client.on('library.changed', (e) => changes.push(e.scope));
    const reference = `${reg.host}/serve/img:v1`;
    const { taskId } = await c.client.request('image.pull', { reference, insecure: true });
    await until('the pull', () => c.updates.find((t) => t.id === taskId && t.state === 'done'));
    await until('an images change', () => changes.includes('images'));
    expect((await c.client.request('image.list', {})).map((i) => i.name)).toContain(reference);
    const pruned = await c.client.request('image.prune', { olderThanDays: 0 });
    expect(pruned.removed.length).toBeGreaterThan(0);
    expect(await c.client.request('image.list', {})).toEqual([]);
    const gone = await c.client.request('image.delete', { name: reference }).catch((e) => e);
    expect(gone.code).toBe('NOT_FOUND');
  });

  it('pushes a VM as a task; deleting the VM meanwhile is refused with BUSY', async () => {
    const c = await serve();
    conns.push(c);
    const created = await c.client.request('vm.create', { name: 'src', os: 'linux', diskSizeGB: 1, cpuCount: 1, memoryMB: 512 });
    await until('the VM', () => c.updates.find((t) => t.id === created.taskId && t.state === 'done'));
    // The registry refuses the first upload attempts, so the push is certainly still running when the delete comes.
    proxy.rules = [{ method: 'POST', path: /\/blobs\/uploads\//, action: { kind: 'status', code: 503 }, times: 2 }];
    const target = `${proxy.host}/serve/pushed:v1`;
    const { taskId } = await c.client.request('image.push', { source: 'src', targets: [target], insecure: true });
    const busy = await c.client.request('vm.delete', { name: 'src' }).catch((e) => e);
    expect(busy.code).toBe('BUSY');
    expect(busy.message).toBe(`Cannot delete VM "src": VM "src" is in use by the running task "Push src to ${target}".`);
    const final = await until('the push', () => c.updates.find((t) => t.id === taskId && t.state !== 'running'), 60_000);
    expect(final.error).toBeUndefined();
    expect(final).toMatchObject({ state: 'done', kind: 'push', target: { vm: 'src' }, result: { digest: expect.stringMatching(/^sha256:/), targets: [target] } });
    await c.client.request('vm.delete', { name: 'src' });
    const manifest = await new Registry(reg.host, 'serve/pushed', { insecure: true, credentials: new CredentialStore([]) }).getManifest('v1');
    expect(manifest.digest).toBe(final.result!.digest);
  });

  it('clones a VM straight from a registry image (pull, then clone) as one task', async () => {
    const c = await serve();
    conns.push(c);
    const reference = `${reg.host}/serve/img:v1`;
    const { taskId } = await c.client.request('vm.clone', { source: reference, name: 'from-registry', insecure: true });
    const final = await until('the clone', () => c.updates.find((t) => t.id === taskId && t.state !== 'running'), 60_000);
    expect(final.error).toBeUndefined();
    expect(final).toMatchObject({ state: 'done', kind: 'clone', result: { vm: 'from-registry', image: reference } });
    expect(readFileSync(path.join(c.home.root, 'vms', 'from-registry', 'disk.img')).equals(disk)).toBe(true);
    expect((await c.client.request('vm.list', {})).map((v) => v.name)).toEqual(['from-registry']);
    expect((await c.client.request('image.list', {})).map((i) => i.name)).toContain(reference);
  });
});
