import { createReadStream, promises as fsp, statSync } from 'node:fs';
import path from 'node:path';
import { NestboxError, mapSpaceError } from '../errors';
import { vmDir, type Home } from '../library/home';
import { runningPid } from '../library/locks';
import { TempDir } from '../library/tmp';
import { native } from '../native';
import { cancelledError, throwIfCancelled, type ProgressItem, type TaskContext } from '../tasks/context';
import { digestDir, gcCache, linkTag, MANIFEST_FILE, resolveCached } from './cache';
import { defaultCredentialStore, type CredentialStore } from './credentials';
import { readBody, registryErrorText } from './http';
import {
  ANN_UNCOMPRESSED_DIGEST,
  ANN_UNCOMPRESSED_DISK_SIZE,
  ANN_UNCOMPRESSED_SIZE,
  ANN_UPLOAD_TIME,
  CONFIG_LAYER,
  DEFAULT_CHUNK_SIZE,
  DISK_V2,
  DISK_ZSTD,
  LABEL_DISK_FORMAT,
  MANIFEST_MEDIA_TYPE,
  NVRAM_LAYER,
  OCI_CONFIG_MEDIA_TYPE,
  sortedJson,
  type Descriptor,
  type DiskCompression,
} from './mediatypes';
import { PoolJobError, WorkerPool } from './pool';
import { formatReference, formatRemoteName, parseRemoteName, parseRemoteNameOrThrow, type RemoteName } from './reference';
import { backoff, Registry, sha256Digest } from './registry';
import type { CompressResult } from './worker';

export interface PushOptions {
  insecure?: boolean;
  /** Disk chunks compressed/uploaded at once (default 4). */
  concurrency?: number;
  credentials?: CredentialStore;
  env?: NodeJS.ProcessEnv;
  /** Upload chunk size in MB (10^6 bytes) for PATCH uploads; 0 = monolithic PUT (default, Tart's). */
  chunkSizeMB?: number;
  /** Extra OCI config labels (`--label key=value`). */
  labels?: Record<string, string>;
  /** Also put the pushed image into the local OCI cache (and tag it). */
  populateCache?: boolean;
  /** Disk layer compression: `lz4` (Tart's disk.v2, default) or `zstd` (Nestbox-only media type). */
  compression?: DiskCompression;
  /** Uncompressed bytes per disk layer (default Tart's 512 MiB; tests use small values). */
  layerSize?: number;
  timeoutMs?: number;
}

const RETRIES = 5;

interface Group {
  reg: Registry;
  targets: RemoteName[];
}

/** Resolves the source: a local VM, or a remote name already in the cache. */
async function sourceDir(home: Home, source: string): Promise<string> {
  const remote = parseRemoteName(source);
  if (remote) {
    const c = await resolveCached(home, remote);
    if (!c) throw new NestboxError('NOT_FOUND', `The image "${source}" is not in the local cache.`, { fix: `Pull it first: nestbox pull ${source}` });
    return c.dir;
  }
  const dir = vmDir(home, source);
  for (const f of ['config.json', 'disk.img', 'nvram.bin']) {
    try {
      statSync(path.join(dir, f));
    } catch {
      throw new NestboxError('NOT_FOUND', `VM "${source}" does not exist (no ${f} in ${dir}).`, { fix: 'Run `nestbox list` to see the VMs.' });
    }
  }
  const pid = runningPid(dir);
  if (pid !== 0) throw new NestboxError('RUNNING', `VM "${source}" is running; stop it before pushing.`, { fix: `Run \`nestbox stop ${source}\` first.` });
  return dir;
}

/**
 * Pushes a VM (or a cached image) to one or more references (tart-format.md §4 Push). Disk chunks are compressed in
 * worker threads into spill files, HEAD-checked and uploaded, `concurrency` at a time.
 */
export async function push(home: Home, source: string, targets: string[], o: PushOptions, ctx: TaskContext): Promise<{ digest: string }> {
  if (targets.length === 0) throw new NestboxError('INVALID_ARGUMENT', 'No target given to push to.', { fix: 'Name at least one remote reference, e.g. ghcr.io/org/image:tag.' });
  const names = targets.map((t) => parseRemoteNameOrThrow(t));
  const dir = await sourceDir(home, source);
  const env = o.env ?? process.env;
  const credentials = o.credentials ?? defaultCredentialStore(home, { env, warn: (m) => ctx.log(m) });
  const groups = new Map<string, Group>();
  for (const n of names) {
    const key = `${n.host}/${n.namespace}`;
    if (!groups.has(key)) groups.set(key, { reg: new Registry(n.host, n.namespace, { insecure: o.insecure, credentials, timeoutMs: o.timeoutMs, signal: ctx.signal, log: (m) => ctx.log(m) }), targets: [] });
    groups.get(key)!.targets.push(n);
  }
  const regs = [...groups.values()].map((g) => g.reg);

  const configText = await fsp.readFile(path.join(dir, 'config.json'), 'utf8');
  let vmConfig: Record<string, unknown>;
  try {
    vmConfig = JSON.parse(configText) as Record<string, unknown>;
  } catch {
    throw new NestboxError('BROKEN_VM', `config.json of "${source}" is not valid JSON.`, { fix: 'Repair or recreate the VM.' });
  }
  const configBlob = Buffer.from(JSON.stringify(vmConfig));
  const nvramBlob = await fsp.readFile(path.join(dir, 'nvram.bin'));
  const diskPath = path.join(dir, 'disk.img');
  const diskSize = statSync(diskPath).size;
  const layerSize = o.layerSize ?? DEFAULT_CHUNK_SIZE;
  const compression = o.compression ?? 'lz4';

  ctx.progress({ step: 'Checking the registry' });
  for (const reg of regs) await reg.ping().catch((e) => {
    throw e instanceof NestboxError ? e : reg.transportError(e);
  });

  const configDesc: Descriptor = { mediaType: CONFIG_LAYER, digest: sha256Digest(configBlob), size: configBlob.length, annotations: {} };
  const nvramDesc: Descriptor = { mediaType: NVRAM_LAYER, digest: sha256Digest(nvramBlob), size: nvramBlob.length, annotations: {} };
  for (const reg of regs) {
    await reg.uploadSmallBlob(configBlob);
  }

  const chunks: { index: number; offset: number; size: number }[] = [];
  for (let off = 0, i = 0; off < diskSize || (diskSize === 0 && i === 0); off += layerSize, i++) chunks.push({ index: i, offset: off, size: Math.min(layerSize, diskSize - off) });
  const layers: Descriptor[] = new Array(chunks.length);
  const tmp = await TempDir.create(home);
  const concurrency = Math.max(1, Math.min(16, o.concurrency ?? 4));
  const pool = new WorkerPool(concurrency);
  const onAbort = () => void pool.destroy();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  if (ctx.signal.aborted) onAbort();

  const totalU = diskSize;
  const readU = new Map<number, number>();
  const sentC = new Map<number, number>();
  const compC = new Map<number, number>();
  const items = new Map<number, ProgressItem>(chunks.map((c) => [c.index, { id: `chunk-${c.index}`, label: `disk layer ${c.index + 1}/${chunks.length}`, state: 'pending', done: 0, total: c.size }]));
  const changed = new Set<number>(chunks.map((c) => c.index));
  let lastEmit = 0;
  let trailing: NodeJS.Timeout | null = null;
  // Coalesce to ≤10 updates/s, but never drop the latest state: a skipped update is sent when the interval ends.
  const emit = (force = false) => {
    const now = Date.now();
    if (!force && now - lastEmit < 100) {
      trailing ??= setTimeout(() => {
        trailing = null;
        emit(true);
      }, 100 - (now - lastEmit));
      return;
    }
    if (trailing) {
      clearTimeout(trailing);
      trailing = null;
    }
    lastEmit = now;
    const sum = (m: Map<number, number>) => [...m.values()].reduce((a, b) => a + b, 0);
    safeProgress(ctx, {
      step: 'Compressing and uploading disk layers',
      done: sum(readU),
      total: totalU,
      unit: 'bytes',
      secondary: { label: 'uploaded (compressed)', done: sum(sentC), total: Math.max(sum(compC), sum(sentC)), unit: 'bytes' },
      items: [...changed].map((i) => ({ ...items.get(i)!, done: readU.get(i) ?? 0 })),
    });
    changed.clear();
  };
  emit(true);

  const doChunk = async (c: (typeof chunks)[number]) => {
    items.get(c.index)!.state = 'active';
    changed.add(c.index);
    const spill = path.join(tmp.path, `chunk-${c.index}`);
    let res: CompressResult;
    try {
      res = await pool.run<CompressResult>({ kind: 'compress', disk: diskPath, offset: c.offset, size: c.size, spill, compression }, (m) => {
        if (m.type === 'progress') {
          readU.set(c.index, m.uncompressed);
          compC.set(c.index, m.compressed);
          changed.add(c.index);
          emit();
        }
      });
    } catch (e) {
      if (e instanceof PoolJobError && e.kind === 'cancelled') throw cancelledError('The push');
      if (e instanceof PoolJobError && e.kind === 'nospace') throw mapSpaceError(Object.assign(new Error(e.message), { code: 'ENOSPC' }), 'push (compressing the disk)', home.tmp);
      throw e;
    }
    compC.set(c.index, res.size);
    layers[c.index] = {
      mediaType: compression === 'zstd' ? DISK_ZSTD : DISK_V2,
      digest: res.digest,
      size: res.size,
      annotations: { [ANN_UNCOMPRESSED_SIZE]: String(c.size), [ANN_UNCOMPRESSED_DIGEST]: res.uncompressedDigest },
    };
    let skipped = true;
    for (const reg of regs) {
      throwIfCancelled(ctx.signal, 'The push');
      if (await reg.blobExists(res.digest)) continue;
      skipped = false;
      await uploadFile(reg, spill, res.size, res.digest, o.chunkSizeMB ?? 0, ctx, (n) => {
        sentC.set(c.index, n);
        emit();
      });
    }
    if (skipped) sentC.set(c.index, res.size);
    await fsp.rm(spill, { force: true });
    items.get(c.index)!.state = skipped ? 'skipped' : 'done';
    changed.add(c.index);
    emit();
  };

  try {
    let next = 0;
    let failure: unknown = null;
    await Promise.all(
      Array.from({ length: Math.min(concurrency, chunks.length) }, async () => {
        while (failure === null && next < chunks.length) {
          const c = chunks[next++]!;
          try {
            await doChunk(c);
          } catch (e) {
            failure ??= e;
            void pool.destroy();
          }
        }
      }),
    );
    if (ctx.signal.aborted) throw cancelledError('The push');
    if (failure !== null) throw failure;
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    if (trailing) clearTimeout(trailing);
    await pool.destroy();
    await tmp.dispose();
  }
  emit(true);

  ctx.progress({ step: 'Uploading NVRAM and manifest' });
  const labels: Record<string, string> = { [LABEL_DISK_FORMAT]: vmConfig.diskFormat === 'asif' ? 'asif' : 'raw', ...(o.labels ?? {}) };
  const ociConfig = Buffer.from(sortedJson({ architecture: vmConfig.arch ?? 'arm64', config: { Labels: labels }, os: vmConfig.os ?? 'darwin' }));
  const ociConfigDesc: Descriptor = { mediaType: OCI_CONFIG_MEDIA_TYPE, digest: sha256Digest(ociConfig), size: ociConfig.length };
  for (const reg of regs) {
    await reg.uploadSmallBlob(nvramBlob);
    await reg.uploadSmallBlob(ociConfig);
  }
  const manifest = Buffer.from(
    sortedJson({
      annotations: { [ANN_UNCOMPRESSED_DISK_SIZE]: String(diskSize), [ANN_UPLOAD_TIME]: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') },
      config: ociConfigDesc,
      layers: [configDesc, ...layers, nvramDesc],
      mediaType: MANIFEST_MEDIA_TYPE,
      schemaVersion: 2,
    }),
  );
  const digest = sha256Digest(manifest);
  for (const g of groups.values()) {
    for (const t of g.targets) {
      if (t.reference.kind === 'digest' && t.reference.digest !== digest) {
        throw new NestboxError('INVALID_REFERENCE', `Cannot push to ${formatRemoteName(t)}: the image's digest is ${digest}.`, { fix: 'Push to a tag, or to the digest the image has.' });
      }
      await g.reg.putManifest(formatReference(t.reference), manifest);
      ctx.log(`Pushed ${formatRemoteName(t)} (${digest})`);
    }
  }

  if (o.populateCache) await populateCache(home, dir, names, digest, manifest);
  return { digest };
}

/** Streams a spill file to the registry: monolithic PUT, or PATCH chunks + final PUT. Retries with backoff. */
async function uploadFile(reg: Registry, file: string, size: number, digest: string, chunkMB: number, ctx: TaskContext, onSent: (n: number) => void): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    throwIfCancelled(ctx.signal, 'The push');
    try {
      let location = await reg.startUpload();
      const chunk = chunkMB > 0 ? chunkMB * 1_000_000 : size;
      let off = 0;
      do {
        const end = Math.min(size, off + chunk);
        const last = end >= size;
        const u = new URL(location);
        if (last) u.searchParams.set('digest', digest);
        const start = off;
        const body = () => {
          const s = createReadStream(file, { start, end: Math.max(start, end - 1), highWaterMark: 1024 * 1024 });
          if (end === start) s.destroy(); // empty blob
          let n = start;
          s.on('data', (d) => {
            n += (d as Buffer).length;
            onSent(n);
          });
          return s;
        };
        const headers: Record<string, string | number> = { 'Content-Type': 'application/octet-stream', 'Content-Length': end - start };
        if (!last || chunkMB > 0) headers['Content-Range'] = `${start}-${Math.max(start, end - 1)}`;
        const res = await reg.send(last ? 'PUT' : 'PATCH', u.toString(), { headers, body: end > start ? body : Buffer.alloc(0) });
        const text = await readBody(res, 1024 * 1024);
        const ok = last ? res.statusCode === 201 || res.statusCode === 202 : res.statusCode === 202 || res.statusCode === 201;
        if (!ok) {
          if ((res.statusCode ?? 0) >= 500 || res.statusCode === 429) throw Object.assign(new Error(`HTTP ${res.statusCode}`), { retryable: true });
          throw new NestboxError('REGISTRY', `${reg.host} refused the upload of ${digest} (${res.statusCode}: ${registryErrorText(text)}).`, { fix: 'Check your push permissions; try --chunk-size if the registry limits request sizes.' });
        }
        if (res.headers.location) location = new URL(res.headers.location, reg.base).toString();
        off = end;
      } while (off < size);
      return;
    } catch (e) {
      if (e instanceof NestboxError && e.code !== 'NETWORK') throw e;
      if (ctx.signal.aborted) throw cancelledError('The push');
      if (attempt >= RETRIES) throw e instanceof NestboxError ? e : reg.transportError(e);
      ctx.log(`Retrying the upload of ${digest.slice(0, 19)}… (${(e as Error).message})`);
      onSent(0);
      await backoff(attempt);
    }
  }
}

async function populateCache(home: Home, src: string, names: RemoteName[], digest: string, manifest: Buffer): Promise<void> {
  const done = new Set<string>();
  for (const n of names) {
    const dest = digestDir(home, n, digest);
    if (!done.has(dest) && !(await resolveCached(home, { ...n, reference: { kind: 'digest', digest } }))) {
      const tmp = await TempDir.create(home);
      try {
        for (const f of ['config.json', 'nvram.bin']) await fsp.copyFile(path.join(src, f), path.join(tmp.path, f));
        const diskDst = path.join(tmp.path, 'disk.img');
        try {
          await native().reflink(path.join(src, 'disk.img'), diskDst);
        } catch {
          await native().sparseCopy(path.join(src, 'disk.img'), diskDst);
        }
        await fsp.writeFile(path.join(tmp.path, MANIFEST_FILE), manifest);
        await fsp.mkdir(path.dirname(dest), { recursive: true });
        await fsp.rename(tmp.path, dest);
        tmp.release();
      } catch (e) {
        await tmp.dispose();
        throw e;
      }
    }
    done.add(dest);
    await linkTag(home, n, digest);
  }
  await gcCache(home);
}

/** A consumer's progress handler that throws must not break the transfer (it runs inside worker message handlers). */
function safeProgress(ctx: TaskContext, u: Parameters<TaskContext['progress']>[0]): void {
  try {
    ctx.progress(u);
  } catch {}
}
