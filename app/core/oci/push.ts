import { promises as fsp, statSync } from 'node:fs';
import type http from 'node:http';
import { PassThrough } from 'node:stream';
import path from 'node:path';
import { NestboxError, mapSpaceError } from '../errors';
import { writeFileAtomic } from '../fsutil';
import { vmDir, type Home } from '../library/home';
import { runningPid } from '../library/locks';
import { TempDir } from '../library/tmp';
import { native } from '../native';
import { cancelledError, coalesce, throwIfCancelled, type ProgressItem, type TaskContext } from '../tasks/context';
import { digestDir, gcCache, linkTag, MANIFEST_FILE, resolveCached } from './cache';
import { defaultCredentialStore, type CredentialStore } from './credentials';
import { readBody, registryErrorText, request } from './http';
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
 * worker threads and streamed to the registry as they are compressed, `concurrency` chunks at a time; chunks already
 * known (in the manifest the target tag has in the registry now, or pushed/pulled here before; same uncompressed
 * digest and size) are HEAD-checked and, when the registry has the blob, reused without compressing or uploading.
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
  // Coalesce to ≤10 updates/s, but never drop the latest state (see coalesce).
  const progress = coalesce(() => {
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
  });
  const emit = (force = false) => progress.request(force);
  /** A disk layer is in the registry (uploaded now, or reused): its descriptor, its byte counts, its row. */
  const settle = (index: number, layer: Descriptor, state: 'done' | 'skipped') => {
    layers[index] = layer;
    compC.set(index, layer.size);
    sentC.set(index, layer.size);
    items.get(index)!.state = state;
    changed.add(index);
    emit();
  };
  emit(true);

  const mediaType = compression === 'zstd' ? DISK_ZSTD : DISK_V2;
  // Layers the target tags already hold in the registry (e.g. pushed from another machine or by Tart) come first:
  // their blobs are the likeliest to exist there. Then this home's record and its cached images.
  const known = new Map<string, KnownLayer[]>();
  for (const g of groups.values()) for (const t of g.targets) addKnown(known, await existingLayers(g.reg, t, mediaType, ctx));
  addKnown(known, await knownLayers(home));
  // The look-up costs a hashing pass per chunk: only worth it when chunks of this media type are known at all.
  const knownOfType = [...known.keys()].filter((k) => k.startsWith(`${mediaType} `)).length;

  const doChunk = async (c: (typeof chunks)[number]) => {
    items.get(c.index)!.state = 'active';
    changed.add(c.index);
    const poolErr = (e: unknown) => {
      if (e instanceof PoolJobError && e.kind === 'cancelled') return cancelledError('The push');
      if (e instanceof PoolJobError && e.kind === 'nospace') return mapSpaceError(Object.assign(new Error(e.message), { code: 'ENOSPC' }), 'push', home.tmp);
      return e;
    };
    // A chunk the target tag already holds, or this machine has pushed or pulled before (same content, same size, same
    // compression): HEAD-skip without compressing.
    if (knownOfType > 0) {
      let ud: string;
      try {
        ud = (await pool.run<{ digest: string }>({ kind: 'hash', disk: diskPath, offset: c.offset, size: c.size })).digest;
      } catch (e) {
        throw poolErr(e);
      }
      for (const hit of known.get(`${mediaType} ${ud}`) ?? []) {
        if (hit.usize !== undefined && hit.usize !== c.size) continue;
        let everywhere = true;
        for (const reg of regs) if (everywhere && !(await blobExistsOrFalse(reg, hit.digest, ctx))) everywhere = false;
        if (everywhere) {
          // Same annotations as a freshly compressed layer (tart-format.md §4): only the blob is reused.
          readU.set(c.index, c.size);
          settle(c.index, { mediaType, digest: hit.digest, size: hit.size, annotations: { [ANN_UNCOMPRESSED_SIZE]: String(c.size), [ANN_UNCOMPRESSED_DIGEST]: ud } }, 'skipped');
          return;
        }
      }
    }
    for (let attempt = 0; ; attempt++) {
      throwIfCancelled(ctx.signal, 'The push');
      const uploads = await Promise.all(regs.map((reg) => BlobUpload.open(reg, o.chunkSizeMB ?? 0, o.timeoutMs)));
      let sent = 0;
      try {
        const res = await pool.run<CompressResult>({ kind: 'compress', disk: diskPath, offset: c.offset, size: c.size, compression }, (m, reply) => {
          if (m.type === 'progress') {
            readU.set(c.index, m.uncompressed);
            compC.set(c.index, m.compressed);
            changed.add(c.index);
            emit();
          } else if (m.type === 'data') {
            const buf = Buffer.from(m.buf, 0, m.len);
            void Promise.all(uploads.map((u) => u.write(buf))).then(
              () => {
                sent += buf.length;
                sentC.set(c.index, sent);
                emit();
                reply({ ack: true });
              },
              () => reply({ ack: true }), // the upload failed; finish() reports it
            );
          }
        });
        for (const u of uploads) await u.finish(res.digest);
        settle(c.index, { mediaType, digest: res.digest, size: res.size, annotations: { [ANN_UNCOMPRESSED_SIZE]: String(c.size), [ANN_UNCOMPRESSED_DIGEST]: res.uncompressedDigest } }, 'done');
        return;
      } catch (e) {
        for (const u of uploads) u.abort();
        const err = poolErr(e);
        if (err instanceof NestboxError && err.code !== 'NETWORK') throw err;
        if (err instanceof PoolJobError) throw err;
        if (ctx.signal.aborted) throw cancelledError('The push');
        if (attempt >= RETRIES) throw err instanceof NestboxError ? err : regs[0]!.transportError(err);
        ctx.log(`Retrying disk layer ${c.index + 1} (${(err as Error).message})`);
        sentC.set(c.index, 0);
        await backoff(attempt);
      }
    }
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
    progress.cancel();
    await pool.destroy();
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

  await recordLayers(home, layers);
  if (o.populateCache) await populateCache(home, dir, names, digest, manifest);
  return { digest };
}

/**
 * One blob upload whose bytes arrive as they are compressed (digest known only at the end): POST, then either one
 * streamed PATCH (chunked transfer encoding) and an empty `PUT ?digest=` (default), or, with `--chunk-size MB`, PATCHes
 * of exactly MB×10^6 bytes with Content-Range and the last piece in the `PUT ?digest=` (Tart's chunked protocol).
 */
class BlobUpload {
  private body: PassThrough | null = null;
  private response: Promise<http.IncomingMessage> | null = null;
  private error: unknown = null;
  private offset = 0;
  private pending: Buffer[] = [];
  private pendingLen = 0;

  private constructor(
    private readonly reg: Registry,
    private location: string,
    private readonly chunkBytes: number,
    private readonly timeoutMs?: number,
  ) {}

  static async open(reg: Registry, chunkMB: number, timeoutMs?: number): Promise<BlobUpload> {
    return new BlobUpload(reg, await reg.startUpload(), chunkMB > 0 ? chunkMB * 1_000_000 : 0, timeoutMs);
  }

  private chain: Promise<void> = Promise.resolve();

  /** Queues b (writes are serialized, in order). */
  write(b: Buffer): Promise<void> {
    const p = this.chain.then(() => this.doWrite(b));
    this.chain = p.catch((e) => {
      this.error ??= e;
    });
    return p;
  }

  private async doWrite(b: Buffer): Promise<void> {
    if (this.error) throw this.error;
    if (this.chunkBytes > 0) {
      this.pending.push(b);
      this.pendingLen += b.length;
      while (this.pendingLen >= this.chunkBytes) {
        const all = Buffer.concat(this.pending);
        await this.patch(all.subarray(0, this.chunkBytes));
        const rest = all.subarray(this.chunkBytes);
        this.pending = rest.length ? [Buffer.from(rest)] : [];
        this.pendingLen = rest.length;
      }
      return;
    }
    if (!this.body) {
      this.body = new PassThrough({ highWaterMark: 4 * 1024 * 1024 });
      const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream' };
      const a = this.reg.authorization();
      if (a) headers.Authorization = a;
      this.response = request(this.location, { method: 'PATCH', headers, body: this.body, timeoutMs: this.timeoutMs });
      this.response.catch((e) => {
        this.error = e;
        this.body?.destroy();
      });
    }
    if (!this.body.write(b)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = () => {
          this.body?.off('close', onClose);
          resolve();
        };
        const onClose = () => {
          this.body?.off('drain', onDrain);
          reject(this.error ?? new Error('upload closed'));
        };
        this.body!.once('drain', onDrain);
        this.body!.once('close', onClose);
      });
    }
    this.offset += b.length;
  }

  private async patch(piece: Buffer): Promise<void> {
    const headers = { 'Content-Type': 'application/octet-stream', 'Content-Range': `${this.offset}-${this.offset + piece.length - 1}` };
    const res = await this.reg.send('PATCH', this.location, { headers, body: piece });
    await this.check(res, [202, 201], 'PATCH');
    this.offset += piece.length;
  }

  private async check(res: http.IncomingMessage, ok: number[], what: string): Promise<void> {
    const text = await readBody(res, 1024 * 1024);
    if (!ok.includes(res.statusCode ?? 0)) {
      if ((res.statusCode ?? 0) >= 500 || res.statusCode === 429 || res.statusCode === 401) {
        throw new NestboxError('NETWORK', `${this.reg.host} answered ${res.statusCode} to an upload ${what}.`, { fix: 'Try again.' });
      }
      throw new NestboxError('REGISTRY', `${this.reg.host} refused an upload ${what} (${res.statusCode}: ${registryErrorText(text)}).`, {
        fix: 'Check your push permissions; try --chunk-size if the registry limits request sizes.',
      });
    }
    if (res.headers.location) this.location = new URL(res.headers.location, this.reg.base).toString();
  }

  async finish(digest: string): Promise<void> {
    await this.chain;
    if (this.error) throw this.error;
    let last: Buffer = Buffer.alloc(0);
    if (this.chunkBytes > 0) last = Buffer.concat(this.pending);
    else if (this.body) {
      this.body.end();
      let res: http.IncomingMessage;
      try {
        res = await this.response!;
      } catch (e) {
        throw this.reg.transportError(e);
      }
      await this.check(res, [202, 201, 204], 'PATCH');
    }
    const u = new URL(this.location);
    u.searchParams.set('digest', digest);
    const headers: Record<string, string | number> = { 'Content-Type': 'application/octet-stream' };
    if (last.length > 0) headers['Content-Range'] = `${this.offset}-${this.offset + last.length - 1}`;
    const res = await this.reg.send('PUT', u.toString(), { headers, body: last });
    await this.check(res, [201], 'PUT');
  }

  abort(): void {
    this.error ??= new Error('aborted');
    this.body?.destroy();
  }
}

const LAYER_RECORD = 'nestbox-layer-digests.json';

/** A compressed disk-layer blob known for `<mediaType> <uncompressed digest>`; `usize` = uncompressed size when known. */
interface KnownLayer {
  digest: string;
  size: number;
  usize?: number;
}

const SHA256 = /^sha256:[a-f0-9]{64}$/;

function addKnown(into: Map<string, KnownLayer[]>, from: Iterable<[string, KnownLayer]>): void {
  for (const [k, v] of from) {
    if (!SHA256.test(String(v?.digest)) || !Number.isSafeInteger(v.size) || v.size < 0) continue;
    const list = into.get(k) ?? [];
    if (!list.some((l) => l.digest === v.digest)) list.push(v);
    into.set(k, list);
  }
}

/**
 * The disk layers (of `mediaType`) of the manifest the registry holds for target `t` now, if any. Best effort: a
 * missing tag yields nothing, and any other failure only costs the optimisation (logged), never the push.
 */
async function existingLayers(reg: Registry, t: RemoteName, mediaType: string, ctx: TaskContext): Promise<[string, KnownLayer][]> {
  const out: [string, KnownLayer][] = [];
  try {
    const res = await reg.send('GET', reg.url(`manifests/${formatReference(t.reference)}`), { headers: { Accept: MANIFEST_MEDIA_TYPE } });
    const body = await readBody(res, 4 * 1024 * 1024);
    if (res.statusCode === 404) return out;
    if (res.statusCode !== 200) {
      ctx.log(`Not reusing layers of ${formatRemoteName(t)}: the registry answered ${res.statusCode} for its manifest.`);
      return out;
    }
    const m = JSON.parse(body.toString('utf8')) as { layers?: unknown };
    if (!Array.isArray(m.layers)) return out;
    for (const l of m.layers as Descriptor[]) {
      if (l?.mediaType !== mediaType) continue;
      const ud = l.annotations?.[ANN_UNCOMPRESSED_DIGEST];
      const us = l.annotations?.[ANN_UNCOMPRESSED_SIZE];
      if (!ud || !SHA256.test(ud) || !us || !/^\d+$/.test(us) || !Number.isSafeInteger(Number(us))) continue;
      out.push([`${mediaType} ${ud}`, { digest: l.digest, size: Number(l.size), usize: Number(us) }]);
    }
  } catch (e) {
    if (ctx.signal.aborted) throw cancelledError('The push');
    ctx.log(`Not reusing layers of ${formatRemoteName(t)}: ${(e as Error).message}`);
  }
  return out;
}

/** HEAD a blob; an unexpected answer only means "upload it" (the upload reports real problems). */
async function blobExistsOrFalse(reg: Registry, digest: string, ctx: TaskContext): Promise<boolean> {
  try {
    return await reg.blobExists(digest);
  } catch (e) {
    if (ctx.signal.aborted) throw cancelledError('The push');
    return false;
  }
}

/** uncompressed digest → compressed blob, from cached images' manifests and earlier pushes from this home. */
async function knownLayers(home: Home): Promise<Map<string, KnownLayer>> {
  const out = new Map<string, KnownLayer>();
  try {
    const rec = JSON.parse(await fsp.readFile(path.join(home.root, LAYER_RECORD), 'utf8')) as Record<string, KnownLayer>;
    for (const [k, v] of Object.entries(rec)) out.set(k, v);
  } catch {}
  try {
    const { listCachedImages } = await import('./cache');
    const { planImage } = await import('./image');
    for (const img of await listCachedImages(home)) {
      try {
        const m = JSON.parse(await fsp.readFile(path.join(img.dir, MANIFEST_FILE), 'utf8'));
        for (const l of planImage(m, img.name).disks) out.set(`${l.desc.mediaType} ${l.digest}`, { digest: l.desc.digest, size: l.desc.size, usize: l.size });
      } catch {}
    }
  } catch {}
  return out;
}

async function recordLayers(home: Home, layers: Descriptor[]): Promise<void> {
  try {
    let rec: Record<string, KnownLayer> = {};
    try {
      rec = JSON.parse(await fsp.readFile(path.join(home.root, LAYER_RECORD), 'utf8'));
    } catch {}
    for (const l of layers) {
      const ud = l.annotations?.[ANN_UNCOMPRESSED_DIGEST];
      const us = Number(l.annotations?.[ANN_UNCOMPRESSED_SIZE]);
      if (ud) rec[`${l.mediaType} ${ud}`] = { digest: l.digest, size: l.size, ...(Number.isSafeInteger(us) ? { usize: us } : {}) };
    }
    const keys = Object.keys(rec);
    for (const k of keys.slice(0, Math.max(0, keys.length - 4096))) delete rec[k]; // bounded
    await writeFileAtomic(path.join(home.root, LAYER_RECORD), JSON.stringify(rec));
  } catch {}
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
