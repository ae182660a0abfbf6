import { createHash } from 'node:crypto';
import { promises as fsp, mkdirSync, openSync, closeSync, ftruncateSync, fstatSync, writeSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { NestboxError, mapSpaceError } from '../errors';
import type { Home } from '../library/home';
import { FileLock } from '../library/locks';
import { TempDir } from '../library/tmp';
import { native } from '../native';
import { cancelledError, coalesce, type ProgressItem, type TaskContext } from '../tasks/context';
import { autoPrune, EXPLICITLY_PULLED, freeSpace, gcCache, linkTag, MANIFEST_FILE, resolveCached, digestDir, touchAccess, encodeHost } from './cache';
import { defaultCredentialStore, type CredentialStore } from './credentials';
import { readBody, registryErrorText } from './http';
import { declaredDiskSize, planImage, type DiskLayerPlan, type ImagePlan } from './image';
import type { Descriptor, Manifest } from './mediatypes';
import { PoolJobError, WorkerPool } from './pool';
import { formatReference, formatRemoteName, parseRemoteNameOrThrow, type RemoteName } from './reference';
import { Registry, sha256Digest } from './registry';
import type { WorkerMessage } from './worker';

export interface PullOptions {
  insecure?: boolean;
  /** Disk layers fetched at once (default 4, Tart's). */
  concurrency?: number;
  credentials?: CredentialStore;
  env?: NodeJS.ProcessEnv;
  /** Idle timeout per request (default 60 s). */
  timeoutMs?: number;
  /** Compressed bytes between resume checkpoints of a layer (default 2 MiB; each costs a message and a journal write). */
  checkpointBytes?: number;
}

export interface PullResult {
  dir: string;
  digest: string;
  name: string;
}

/** Free space a pull needs beyond the disk (Tart: uncompressed size + 128 MiB). */
export const PULL_MARGIN = 128 * 1024 * 1024;
const JOURNAL_SLOTS = ['nestbox-pull.0.json', 'nestbox-pull.1.json'];

interface Journal {
  manifestDigest: string;
  done: number[];
  partial: Record<string, { compressed: number; uncompressed: number }>;
  seq?: number;
}

/**
 * The resume journal of a pull in its temp dir: which layers are done and where each partial layer can restart.
 * Written often (every resume checkpoint), so no rename (on ext4 a rename over a file waits for its data to be
 * flushed) and no fsync: two slot files written in place alternately, each record padded with spaces so the file
 * never shrinks; the reader takes the valid record with the higher sequence number (a torn write leaves the other).
 */
class JournalFile {
  private fds: (number | null)[] = [null, null];
  private lens = [0, 0];
  private seq = 0;
  constructor(private readonly dir: string) {}

  read(): Journal | null {
    let best: Journal | null = null;
    for (const slot of JOURNAL_SLOTS) {
      try {
        const j = JSON.parse(readFileSync(path.join(this.dir, slot), 'utf8')) as Journal;
        if (typeof j.manifestDigest === 'string' && Array.isArray(j.done) && (!best || (j.seq ?? 0) > (best.seq ?? 0))) best = j;
      } catch {}
    }
    this.seq = best?.seq ?? 0;
    return best;
  }

  /** Best effort: a journal that cannot be written (disk full) only costs re-fetching on resume. */
  write(j: Journal): void {
    try {
      this.writeOrThrow(j);
    } catch {}
  }

  private writeOrThrow(j: Journal): void {
    this.seq++;
    const i = this.seq % 2;
    let text = JSON.stringify({ ...j, seq: this.seq });
    if (text.length < this.lens[i]!) text = text.padEnd(this.lens[i]!, ' ');
    const buf = Buffer.from(text);
    this.fds[i] ??= openSync(path.join(this.dir, JOURNAL_SLOTS[i]!), 'w');
    writeSync(this.fds[i]!, buf, 0, buf.length, 0);
    this.lens[i] = buf.length;
  }

  close(): void {
    for (const fd of this.fds) if (fd !== null) closeSync(fd);
    this.fds = [null, null];
  }

  async remove(): Promise<void> {
    this.close();
    for (const slot of JOURNAL_SLOTS) await fsp.rm(path.join(this.dir, slot), { force: true });
  }
}

/** Tart's deterministic temp dir name for a pull: md5 of the name as given (so an interrupted pull resumes). */
export function pullTempName(r: RemoteName): string {
  return createHash('md5').update(formatRemoteName(r)).digest('hex');
}

async function fetchSmallBlob(reg: Registry, d: Descriptor, what: string): Promise<Buffer> {
  for (let attempt = 0; ; attempt++) {
    const res = await reg.send('GET', reg.url(`blobs/${d.digest}`), { retry: true });
    if (res.statusCode !== 200) {
      const body = await readBody(res, 1024 * 1024).catch(() => Buffer.alloc(0));
      throw new NestboxError(res.statusCode === 404 ? 'NOT_FOUND' : 'REGISTRY', `${reg.host} has no ${what} blob ${d.digest} (${res.statusCode}: ${registryErrorText(body)}).`, { fix: 'The image is incomplete in the registry; re-push it.' });
    }
    let body: Buffer;
    try {
      body = await readBody(res, 256 * 1024 * 1024);
    } catch (e) {
      if (attempt < 5) continue;
      throw reg.transportError(e);
    }
    if (sha256Digest(body) === d.digest) return body;
    if (attempt >= 1) {
      throw new NestboxError('DIGEST_MISMATCH', `The ${what} blob from ${reg.host} does not match its digest ${d.digest} (fetched twice).`, { fix: 'The registry holds a corrupted blob; re-push the image.' });
    }
  }
}

interface LocalSource {
  disk: string;
  offset: number;
}

/** Layers of images already in the cache, by compressed digest (+ uncompressed digest/size), to copy instead of download. */
async function localLayerIndex(home: Home): Promise<Map<string, LocalSource & { size: number; digest: string }>> {
  const out = new Map<string, LocalSource & { size: number; digest: string }>();
  const { listCachedImages } = await import('./cache');
  const seen = new Set<string>();
  for (const img of await listCachedImages(home)) {
    if (seen.has(img.dir)) continue;
    seen.add(img.dir);
    try {
      const m = JSON.parse(await fsp.readFile(path.join(img.dir, MANIFEST_FILE), 'utf8')) as Manifest;
      const plan = planImage(m, img.name);
      for (const l of plan.disks) {
        if (!out.has(l.desc.digest)) out.set(l.desc.digest, { disk: path.join(img.dir, 'disk.img'), offset: l.offset, size: l.size, digest: l.digest });
      }
    } catch {}
  }
  return out;
}

/** Checks free space for what is left to write; prunes the cache (Tart's auto-prune) or fails early. */
async function ensureSpace(home: Home, need: number, env: NodeJS.ProcessEnv, ctx: TaskContext): Promise<void> {
  let free = freeSpace(home.tmp);
  if (need <= free) return;
  const removed = await autoPrune(home, need, { env });
  for (const r of removed) ctx.log(`Pruned ${r} from the cache to make room`);
  free = freeSpace(home.tmp);
  if (need <= free) return;
  const gb = (n: number) => `${(n / 1e9).toFixed(2)} GB`;
  throw new NestboxError('NO_SPACE', `Not enough disk space to pull: it needs ${gb(need)} (disk + 128 MiB), ${gb(free)} is free at ${home.root}.`, {
    fix:
      env.TART_NO_AUTO_PRUNE !== undefined
        ? 'Free some space, or unset TART_NO_AUTO_PRUNE so old cache entries can be pruned, and pull again.'
        : 'Free some space (e.g. `nestbox prune --entries caches --older-than 7`, or delete unused VMs) and pull again.',
    details: { needed: need, free, path: home.root },
  });
}

/**
 * Pulls a Tart VM image into the OCI cache (tart-format.md §4 Pull) and returns its digest dir. Disk layers are
 * fetched, decoded, verified and written in worker threads; an interrupted pull resumes from its journal.
 */
export async function pull(home: Home, name: string, o: PullOptions, ctx: TaskContext): Promise<PullResult> {
  const r = parseRemoteNameOrThrow(name);
  const env = o.env ?? process.env;
  const credentials = o.credentials ?? defaultCredentialStore(home, { env, warn: (m) => ctx.log(m) });
  const reg = new Registry(r.host, r.namespace, { insecure: o.insecure, credentials, timeoutMs: o.timeoutMs, signal: ctx.signal, log: (m) => ctx.log(m) });
  const fq = formatRemoteName(r);
  ctx.progress({ step: `Fetching the manifest of ${fq}` });
  const { bytes, manifest, digest } = await reg.getManifest(formatReference(r.reference));
  if (r.reference.kind === 'digest' && digest !== r.reference.digest) {
    throw new NestboxError('DIGEST_MISMATCH', `${r.host} returned a manifest whose digest is ${digest}, not the requested ${r.reference.digest}.`, { fix: 'Check the digest; the registry may be misbehaving.' });
  }
  const plan = planImage(manifest, fq);

  const finish = async (dir: string): Promise<PullResult> => {
    if (r.reference.kind === 'tag') {
      await linkTag(home, r, digest);
      await gcCache(home);
    } else {
      await fsp.writeFile(path.join(dir, EXPLICITLY_PULLED), '');
    }
    await touchAccess(dir);
    return { dir, digest, name: fq };
  };

  const cached = await resolveCached(home, { ...r, reference: { kind: 'digest', digest } });
  if (cached) {
    ctx.log(`${fq} is already in the cache (${digest})`);
    return finish(cached.dir);
  }

  // One pull per host at a time (Tart's per-host lock).
  const hostDir = path.join(home.ocis, encodeHost(r.host));
  mkdirSync(hostDir, { recursive: true });
  const hostLock = new FileLock(hostDir);
  try {
    if (!hostLock.tryLock()) {
      ctx.log('waiting for lock...');
      await hostLock.lock();
    }
    const again = await resolveCached(home, { ...r, reference: { kind: 'digest', digest } });
    if (again) return finish(again.dir);
    const tmp = await TempDir.create(home, pullTempName(r));
    try {
      await pullInto(home, tmp.path, reg, r, digest, bytes, manifest, plan, o, env, ctx);
      const dest = digestDir(home, r, digest);
      await fsp.mkdir(path.dirname(dest), { recursive: true });
      try {
        await fsp.rename(tmp.path, dest);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOTEMPTY' && (e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        await tmp.dispose(); // someone else completed it
      }
      tmp.release();
      return await finish(dest);
    } catch (e) {
      tmp.release();
      throw e;
    }
  } finally {
    hostLock.close();
  }
}

async function pullInto(
  home: Home,
  dir: string,
  reg: Registry,
  r: RemoteName,
  digest: string,
  manifestBytes: Buffer,
  manifest: Manifest,
  plan: ImagePlan,
  o: PullOptions,
  env: NodeJS.ProcessEnv,
  ctx: TaskContext,
): Promise<void> {
  const jf = new JournalFile(dir);
  let journal = jf.read();
  if (!journal || journal.manifestDigest !== digest) {
    // Different image under the same name (or a Tart-made temp dir): start over.
    jf.close();
    for (const f of await fsp.readdir(dir)) await fsp.rm(path.join(dir, f), { recursive: true, force: true });
    journal = { manifestDigest: digest, done: [], partial: {} };
    jf.write(journal);
  }
  const j = journal;
  try {
    const remaining = plan.disks.filter((l) => !j.done.includes(l.index));
    const need = remaining.reduce((s, l) => s + l.size - (j.partial[l.index]?.uncompressed ?? 0), 0) + PULL_MARGIN;
    const declared = declaredDiskSize(manifest, plan);
    await ensureSpace(home, Math.max(need, j.done.length === 0 && Object.keys(j.partial).length === 0 ? declared + PULL_MARGIN : 0), env, ctx);

    ctx.progress({ step: 'Fetching the VM configuration' });
    await fsp.writeFile(path.join(dir, 'config.json'), await fetchSmallBlob(reg, plan.config, 'VM config'));
    await fsp.writeFile(path.join(dir, 'nvram.bin'), await fetchSmallBlob(reg, plan.nvram, 'NVRAM'));

    const diskPath = path.join(dir, 'disk.img');
    const fd = openSync(diskPath, 'a');
    try {
      if (fstatSync(fd).size !== plan.diskSize) ftruncateSync(fd, plan.diskSize);
    } finally {
      closeSync(fd);
    }
    await fetchDisk(home, reg, diskPath, jf, j, plan, o, ctx);
    await fsp.writeFile(path.join(dir, MANIFEST_FILE), manifestBytes);
    await jf.remove();
  } catch (e) {
    throw mapSpaceError(e, `pull ${formatRemoteName(r)}`, home.root);
  } finally {
    jf.close();
  }
}

async function fetchDisk(home: Home, reg: Registry, diskPath: string, jf: JournalFile, j: Journal, plan: ImagePlan, o: PullOptions, ctx: TaskContext): Promise<void> {
  const concurrency = Math.max(1, Math.min(32, o.concurrency ?? 4));
  const totalU = plan.diskSize;
  const totalC = plan.compressedSize;
  const doneU = new Map<number, number>();
  const doneC = new Map<number, number>();
  const items = new Map<number, ProgressItem>();
  for (const l of plan.disks) {
    const fin = j.done.includes(l.index);
    const part = j.partial[l.index];
    doneU.set(l.index, fin ? l.size : (part?.uncompressed ?? 0));
    doneC.set(l.index, fin ? l.desc.size : (part?.compressed ?? 0));
    items.set(l.index, { id: l.desc.digest + '#' + l.index, label: `disk layer ${l.index + 1}/${plan.disks.length}`, state: fin ? 'done' : 'pending', done: fin ? l.size : 0, total: l.size });
  }
  const changed = new Set<number>();
  // Coalesce to ≤10 updates/s, but never drop the latest state (see coalesce).
  const progress = coalesce(() => {
    const sum = (m: Map<number, number>) => [...m.values()].reduce((a, b) => a + b, 0);
    safeProgress(ctx, {
      step: 'Downloading disk layers',
      done: sum(doneU),
      total: totalU,
      unit: 'bytes',
      secondary: { label: 'downloaded (compressed)', done: sum(doneC), total: totalC, unit: 'bytes' },
      items: [...changed].map((i) => ({ ...items.get(i)!, done: doneU.get(i)! })),
    });
    changed.clear();
  });
  const emit = (force = false) => progress.request(force);
  for (const l of plan.disks) changed.add(l.index);
  emit(true);

  const local = await localLayerIndex(home);
  const pool = new WorkerPool(concurrency);
  const onAbort = () => void pool.destroy();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  if (ctx.signal.aborted) onAbort();
  const setState = (l: DiskLayerPlan, state: ProgressItem['state']) => {
    items.get(l.index)!.state = state;
    changed.add(l.index);
  };

  const runLayer = async (l: DiskLayerPlan): Promise<void> => {
    setState(l, 'active');
    const src = local.get(l.desc.digest);
    if (src && src.digest === l.digest && src.size === l.size) {
      try {
        await pool.run({ kind: 'copy', src: src.disk, srcOffset: src.offset, disk: diskPath, offset: l.offset, size: l.size, digest: l.digest }, (m) => {
          if (m.type === 'progress') {
            doneU.set(l.index, m.uncompressed);
            changed.add(l.index);
            emit();
          }
        });
        doneC.set(l.index, l.desc.size);
        finishLayer(l);
        ctx.log(`Layer ${l.index + 1} copied from the local cache`);
        return;
      } catch (e) {
        if (e instanceof PoolJobError && e.kind === 'cancelled') throw cancelledError('The pull');
        ctx.log(`Could not reuse the cached copy of layer ${l.index + 1}; downloading it`);
        await punch(diskPath, l);
      }
    }
    let mismatches = 0;
    let authRefreshes = 0;
    for (;;) {
      const resume = j.partial[l.index];
      try {
        await pool.run(
          {
            kind: 'fetch',
            url: reg.url(`blobs/${l.desc.digest}`),
            authorization: reg.authorization(),
            timeoutMs: o.timeoutMs,
            disk: diskPath,
            offset: l.offset,
            size: l.size,
            digest: l.digest,
            mediaType: l.desc.mediaType,
            resume,
            checkpointBytes: o.checkpointBytes ?? 2 * 1024 * 1024,
          },
          (m: WorkerMessage) => {
            if (m.type === 'progress') {
              doneU.set(l.index, m.uncompressed);
              doneC.set(l.index, m.compressed);
              changed.add(l.index);
              emit();
            } else if (m.type === 'checkpoint') {
              j.partial[l.index] = { compressed: m.compressed, uncompressed: m.uncompressed };
              jf.write(j);
            }
          },
        );
        finishLayer(l);
        return;
      } catch (e) {
        if (!(e instanceof PoolJobError)) throw e;
        if (e.kind === 'cancelled' || ctx.signal.aborted) throw cancelledError('The pull');
        if (e.kind === 'unauthorized' && authRefreshes++ < 3) {
          await reg.refreshAuth();
          continue;
        }
        if (e.kind === 'unauthorized') throw reg.authError('refused the blob download');
        if (e.kind === 'digest' || e.kind === 'format' || e.kind === 'size') {
          // Discard what was written and fetch the blob once more; a second failure is final.
          delete j.partial[l.index];
          jf.write(j);
          await punch(diskPath, l);
          doneU.set(l.index, 0);
          doneC.set(l.index, 0);
          if (mismatches++ === 0) {
            ctx.log(`Layer ${l.index + 1} failed verification (${e.message}); fetching it again`);
            continue;
          }
          setState(l, 'failed');
          throw new NestboxError('DIGEST_MISMATCH', `Disk layer ${l.index + 1} of ${reg.host}/${reg.namespace} (${l.desc.digest}) is corrupt: ${e.message}. It was discarded and fetched twice.`, {
            fix: 'The registry holds a corrupted blob: re-push the image, or report it to the image publisher.',
            details: { layer: l.desc.digest, uncompressedDigest: l.digest },
          });
        }
        if (e.kind === 'nospace') throw mapSpaceError(Object.assign(new Error(e.message), { code: 'ENOSPC' }), 'pull', diskPath);
        if (e.kind === 'http' && e.status === 404) {
          throw new NestboxError('NOT_FOUND', `${reg.host}/${reg.namespace} is missing disk layer ${l.desc.digest}.`, { fix: 'The image is incomplete in the registry; re-push it.' });
        }
        setState(l, 'failed');
        throw new NestboxError('NETWORK', `Downloading disk layer ${l.index + 1} from ${reg.host} failed after retries: ${e.message}.`, {
          fix: 'Check your connection and run the pull again: it resumes where it stopped.',
          details: { layer: l.desc.digest },
        });
      }
    }
  };

  const finishLayer = (l: DiskLayerPlan) => {
    j.done.push(l.index);
    delete j.partial[l.index];
    jf.write(j);
    doneU.set(l.index, l.size);
    doneC.set(l.index, l.desc.size);
    setState(l, 'done');
    emit();
  };

  try {
    const todo = plan.disks.filter((l) => !j.done.includes(l.index));
    let next = 0;
    let failure: unknown = null;
    const lanes = Array.from({ length: Math.min(concurrency, todo.length) }, async () => {
      while (failure === null && next < todo.length) {
        const l = todo[next++]!;
        try {
          await runLayer(l);
        } catch (e) {
          failure ??= e;
          void pool.destroy();
        }
      }
    });
    await Promise.all(lanes);
    if (ctx.signal.aborted) throw cancelledError('The pull');
    if (failure !== null) throw failure;
    emit(true);
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    progress.cancel();
    await pool.destroy();
  }
}

async function punch(diskPath: string, l: DiskLayerPlan): Promise<void> {
  const fd = openSync(diskPath, 'r+');
  try {
    native().punchHole(fd, l.offset, l.size);
  } catch {
    // No hole punching here: overwrite with zeros is not needed for correctness as long as the refetch writes all
    // non-zero pieces — but stale non-zero data in zero pieces would survive, so fall back to writing zeros.
    const z = Buffer.alloc(Math.min(l.size, 4 * 1024 * 1024));
    const fh = await fsp.open(diskPath, 'r+');
    try {
      for (let o = 0; o < l.size; o += z.length) await fh.write(z, 0, Math.min(z.length, l.size - o), l.offset + o);
    } finally {
      await fh.close();
    }
  } finally {
    closeSync(fd);
  }
}

/** A consumer's progress handler that throws must not break the transfer (it runs inside worker message handlers). */
function safeProgress(ctx: TaskContext, u: Parameters<TaskContext['progress']>[0]): void {
  try {
    ctx.progress(u);
  } catch {}
}
