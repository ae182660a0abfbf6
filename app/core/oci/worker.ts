/**
 * Worker thread for the heavy parts of pull and push, so the main thread (UI, API) stays responsive:
 *  - fetch: GET a disk layer (Range-resumed on drops), decode (Apple LZ4 / zstd), sha256, write at its offset
 *           skipping all-zero pieces (holes stay holes), report progress and resume checkpoints;
 *  - copy:  take a layer's bytes from a disk already in the cache (same layer), verifying its digest;
 *  - compress: read a disk chunk, hash it, compress to a spill file, hash that.
 * Messages: {id, job} in; {id, type: 'progress'|'checkpoint'|'done'|'error', …} out.
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { CCtx, CParameter, EndDirective } from 'zstd-napi/binding';
import { makeDecoder, type ResumePoint } from './decoders';
import { discard, readBody, registryErrorText, request } from './http';
import { encodeBlock, encodeBound, endMarker, ENCODE_BLOCK, HISTORY } from './lz4';
import type { DiskCompression } from './mediatypes';

export interface FetchJob {
  kind: 'fetch';
  url: string;
  authorization?: string;
  timeoutMs?: number;
  disk: string;
  offset: number;
  size: number;
  digest: string;
  mediaType: string;
  resume?: { compressed: number; uncompressed: number };
  /** Compressed bytes between checkpoints. */
  checkpointBytes: number;
}

export interface CopyJob {
  kind: 'copy';
  src: string;
  srcOffset: number;
  disk: string;
  offset: number;
  size: number;
  digest: string;
}

/** Compress a disk chunk, streaming the compressed bytes to the main thread ('data' messages, acked for flow control). */
export interface CompressJob {
  kind: 'compress';
  disk: string;
  offset: number;
  size: number;
  compression: DiskCompression;
  zstdLevel?: number;
}

/** sha256 of a disk range (push: look the chunk up among known layers before compressing it). */
export interface HashJob {
  kind: 'hash';
  disk: string;
  offset: number;
  size: number;
}

export type Job = FetchJob | CopyJob | CompressJob | HashJob;

export interface CompressResult {
  digest: string;
  size: number;
  uncompressedDigest: string;
}

export type WorkerMessage =
  | { id: number; type: 'progress'; compressed: number; uncompressed: number }
  | { id: number; type: 'checkpoint'; compressed: number; uncompressed: number }
  | { id: number; type: 'data'; buf: ArrayBuffer; len: number }
  | { id: number; type: 'done'; result: unknown }
  | { id: number; type: 'error'; error: { kind: string; message: string; status?: number } };

/** A worker message without its id (distributive over the union). */
export type OutMessage = WorkerMessage extends infer M ? (M extends unknown ? Omit<M, 'id'> : never) : never;

export class JobError extends Error {
  constructor(
    readonly kind: 'digest' | 'unauthorized' | 'http' | 'network' | 'format' | 'size' | 'io' | 'nospace',
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

const PIECE = 4 * 1024 * 1024;
const ZERO_SUB = 1024 * 1024;
const ZEROS = Buffer.alloc(ZERO_SUB);
const RETRIES = 5;
/** Nestbox zstd layers are a series of frames of ≤4 MiB of disk each (every frame end is a resume point). */
const ZSTD_FRAME = 4 * 1024 * 1024;
let readBuf: Buffer | undefined;
const buf16 = () => (readBuf ??= Buffer.allocUnsafe(PIECE));

/** Writes `piece` at `pos`, skipping all-zero 1 MiB sub-pieces so they stay holes. */
export function writeSparse(fd: number, piece: Buffer, pos: number): void {
  let runStart = -1;
  for (let o = 0; o < piece.length; o += ZERO_SUB) {
    const end = Math.min(piece.length, o + ZERO_SUB);
    const zero = piece.subarray(o, end).equals(end - o === ZERO_SUB ? ZEROS : ZEROS.subarray(0, end - o));
    if (!zero && runStart < 0) runStart = o;
    if (zero && runStart >= 0) {
      writeAll(fd, piece.subarray(runStart, o), pos + runStart);
      runStart = -1;
    }
  }
  if (runStart >= 0) writeAll(fd, piece.subarray(runStart), pos + runStart);
}

function writeAll(fd: number, b: Buffer, pos: number): void {
  let off = 0;
  while (off < b.length) off += writeSync(fd, b, off, b.length - off, pos + off);
}

/** Hashes [offset, offset+len) of fd into h; returns the last ≤64 KiB of that range (LZ4 history). */
function hashRange(fd: number, offset: number, len: number, h: Hash): Buffer {
  const b = buf16();
  let done = 0;
  while (done < len) {
    const n = readSync(fd, b, 0, Math.min(b.length, len - done), offset + done);
    if (n <= 0) throw new JobError('io', 'unexpected end of file while re-reading a partly written layer');
    h.update(b.subarray(0, n));
    done += n;
  }
  const tail = Buffer.alloc(Math.min(HISTORY, len));
  if (tail.length > 0) readSync(fd, tail, 0, tail.length, offset + len - tail.length);
  return tail;
}

const backoff = (attempt: number) => new Promise((r) => setTimeout(r, Math.min(4000, 100 * 2 ** attempt)));

async function fetchLayer(job: FetchJob, post: (m: OutMessage) => void): Promise<{ fetched: number }> {
  const fd = openSync(job.disk, 'r+');
  try {
    const hash = createHash('sha256');
    let resume: ResumePoint | undefined;
    if (job.resume && job.resume.compressed > 0) {
      // Restore the hash state and the LZ4 history from what is already on disk.
      const history = hashRange(fd, job.offset, job.resume.uncompressed, hash);
      resume = { ...job.resume, history };
    }
    let written = resume?.uncompressed ?? 0;
    const decoder = makeDecoder(job.mediaType, (piece) => {
      if (written + piece.length > job.size) throw new JobError('size', `layer decodes to more than its annotated ${job.size} bytes`);
      writeSparse(fd, piece, job.offset + written);
      hash.update(piece);
      written += piece.length;
    }, resume);
    let received = resume?.compressed ?? 0;
    let fetched = 0;
    let lastCheckpoint = received;
    let lastPost = 0;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = {};
      if (job.authorization) headers.Authorization = job.authorization;
      if (received > 0) headers.Range = `bytes=${received}-`;
      try {
        const res = await request(job.url, { headers, timeoutMs: job.timeoutMs });
        const status = res.statusCode ?? 0;
        if (status === 401 || status === 403) {
          await discard(res);
          throw new JobError('unauthorized', `registry answered ${status}`, status);
        }
        if (status >= 500 || status === 429) {
          await discard(res);
          throw new JobError('network', `registry answered ${status}`, status);
        }
        if (status !== 200 && status !== 206) {
          const body = await readBody(res, 1024 * 1024).catch(() => Buffer.alloc(0));
          throw new JobError('http', `registry answered ${status}: ${registryErrorText(body)}`, status);
        }
        let skip = status === 200 ? received : 0; // server ignored Range: skip what we have
        for await (const c of res as AsyncIterable<Buffer>) {
          let chunk = c;
          if (skip > 0) {
            const s = Math.min(skip, chunk.length);
            chunk = chunk.subarray(s);
            skip -= s;
            if (chunk.length === 0) continue;
          }
          decoder.push(chunk);
          received += chunk.length;
          fetched += chunk.length;
          const now = Date.now();
          if (received - lastCheckpoint >= job.checkpointBytes) {
            const cp = decoder.checkpoint();
            if (cp.compressed > lastCheckpoint) {
              lastCheckpoint = cp.compressed;
              post({ type: 'checkpoint', compressed: cp.compressed, uncompressed: cp.uncompressed });
            }
          }
          if (now - lastPost >= 100) {
            lastPost = now;
            post({ type: 'progress', compressed: received, uncompressed: decoder.produced });
          }
        }
        if (skip > 0) throw new JobError('network', 'response ended early');
        break;
      } catch (e) {
        if (e instanceof JobError && e.kind !== 'network') throw e;
        const errno = (e as NodeJS.ErrnoException)?.code;
        if (errno === 'ENOSPC' || errno === 'EDQUOT') throw new JobError('nospace', (e as Error).message);
        if (errno === 'EIO' || errno === 'EROFS' || errno === 'EBADF') throw new JobError('io', (e as Error).message);
        if (e instanceof Error && e.constructor.name === 'FormatError') throw new JobError('format', e.message);
        if (attempt >= RETRIES) throw new JobError('network', (e as Error).message);
        await backoff(attempt);
      }
    }
    try {
      decoder.finish();
    } catch (e) {
      throw new JobError('format', (e as Error).message);
    }
    post({ type: 'progress', compressed: received, uncompressed: decoder.produced });
    if (written !== job.size) throw new JobError('size', `layer decoded to ${written} bytes, its annotation says ${job.size}`);
    const got = `sha256:${hash.digest('hex')}`;
    if (got !== job.digest) throw new JobError('digest', `uncompressed content is ${got}, the manifest says ${job.digest}`);
    return { fetched };
  } finally {
    closeSync(fd);
  }
}

function copyLayer(job: CopyJob, post: (m: OutMessage) => void): { copied: number } {
  const src = openSync(job.src, 'r');
  const dst = openSync(job.disk, 'r+');
  try {
    const h = createHash('sha256');
    const b = buf16();
    let done = 0;
    while (done < job.size) {
      const n = readSync(src, b, 0, Math.min(b.length, job.size - done), job.srcOffset + done);
      if (n <= 0) throw new JobError('io', 'cached disk is shorter than expected');
      const piece = b.subarray(0, n);
      h.update(piece);
      writeSparse(dst, piece, job.offset + done);
      done += n;
      post({ type: 'progress', compressed: 0, uncompressed: done });
    }
    const got = `sha256:${h.digest('hex')}`;
    if (got !== job.digest) throw new JobError('digest', `cached copy does not match ${job.digest}`);
    return { copied: done };
  } finally {
    closeSync(src);
    closeSync(dst);
  }
}

let lz4Out: Buffer | undefined;
let zOut: Buffer | undefined;
let cctx: CCtx | undefined;

/** Flow control for streamed output: at most MAX_IN_FLIGHT pieces not yet acknowledged by the main thread. */
const MAX_IN_FLIGHT = 4;
const credits = new Map<number, { inFlight: number; wake: (() => void) | null }>();
const STAGE = 1024 * 1024;

function readFull(fd: number, b: Buffer, want: number, pos: number, diskSize: number): number {
  let n = 0;
  while (n < want) {
    const r = readSync(fd, b, n, want - n, pos + n);
    if (r <= 0) break;
    n += r;
  }
  if (n < want && pos + n >= diskSize) b.fill(0, n, want); // past EOF (should not happen): zeros
  return want;
}

function hashChunk(job: HashJob, post: (m: OutMessage) => void): { digest: string } {
  const fd = openSync(job.disk, 'r');
  try {
    const h = createHash('sha256');
    const b = buf16();
    const diskSize = fstatSync(fd).size;
    for (let done = 0; done < job.size; ) {
      const n = readFull(fd, b, Math.min(b.length, job.size - done), job.offset + done, diskSize);
      h.update(b.subarray(0, n));
      done += n;
      post({ type: 'progress', compressed: 0, uncompressed: done });
    }
    return { digest: `sha256:${h.digest('hex')}` };
  } finally {
    closeSync(fd);
  }
}

async function compressChunk(id: number, job: CompressJob, post: (m: OutMessage, transfer?: ArrayBuffer[]) => void): Promise<CompressResult> {
  const fd = openSync(job.disk, 'r');
  const credit = { inFlight: 0, wake: null as (() => void) | null };
  credits.set(id, credit);
  try {
    const hu = createHash('sha256');
    const hc = createHash('sha256');
    const b = buf16();
    let done = 0;
    let size = 0;
    let stage = Buffer.allocUnsafe(STAGE);
    let stageLen = 0;
    const send = async () => {
      if (stageLen === 0) return;
      while (credit.inFlight >= MAX_IN_FLIGHT) await new Promise<void>((r) => (credit.wake = r));
      credit.inFlight++;
      const ab = stage.buffer.slice(stage.byteOffset, stage.byteOffset + stageLen) as ArrayBuffer;
      post({ type: 'data', buf: ab, len: stageLen }, [ab]);
      stage = Buffer.allocUnsafe(STAGE);
      stageLen = 0;
    };
    const emit = (x: Buffer) => {
      hc.update(x);
      size += x.length;
      let o = 0;
      while (o < x.length) {
        if (stageLen === stage.length) {
          // rare: one encoded piece larger than the stage
          const bigger = Buffer.allocUnsafe(stage.length * 2);
          stage.copy(bigger, 0, 0, stageLen);
          stage = bigger;
        }
        const k = Math.min(x.length - o, stage.length - stageLen);
        x.copy(stage, stageLen, o, o + k);
        stageLen += k;
        o += k;
      }
    };
    if (job.compression === 'zstd' && !cctx) {
      cctx = new CCtx();
      cctx.setParameter(CParameter.compressionLevel, job.zstdLevel ?? 3);
    }
    const diskSize = fstatSync(fd).size;
    while (done < job.size) {
      const n = readFull(fd, b, Math.min(job.compression === 'lz4' ? ENCODE_BLOCK : ZSTD_FRAME, job.size - done), job.offset + done, diskSize);
      const piece = b.subarray(0, n);
      hu.update(piece);
      if (job.compression === 'lz4') {
        lz4Out ??= Buffer.allocUnsafe(encodeBound(ENCODE_BLOCK));
        emit(lz4Out.subarray(0, encodeBlock(piece, lz4Out)));
      } else {
        zOut ??= Buffer.allocUnsafe(PIECE + PIECE / 128 + 1024);
        let inOff = 0;
        for (;;) {
          const [ret, p, c] = cctx!.compressStream2(zOut, piece.subarray(inOff), EndDirective.end);
          inOff += c;
          if (p > 0) emit(zOut.subarray(0, p));
          if (ret === 0) break;
        }
      }
      done += n;
      if (stageLen >= STAGE * 0.75) await send();
      post({ type: 'progress', compressed: size, uncompressed: done });
    }
    if (job.compression === 'lz4') emit(endMarker());
    await send();
    return { digest: `sha256:${hc.digest('hex')}`, size, uncompressedDigest: `sha256:${hu.digest('hex')}` };
  } finally {
    credits.delete(id);
    closeSync(fd);
  }
}

if (parentPort) {
  const port = parentPort;
  port.on('message', (msg: { id: number; job?: Job; ack?: boolean }) => {
    if (msg.ack) {
      const c = credits.get(msg.id);
      if (c) {
        c.inFlight--;
        const w = c.wake;
        c.wake = null;
        w?.();
      }
      return;
    }
    const post = (m: OutMessage, transfer?: ArrayBuffer[]) => port.postMessage({ id: msg.id, ...m }, transfer);
    (async () => {
      const j = msg.job!;
      if (j.kind === 'fetch') return fetchLayer(j, post);
      if (j.kind === 'copy') return copyLayer(j, post);
      if (j.kind === 'hash') return hashChunk(j, post);
      return compressChunk(msg.id, j, post);
    })().then(
      (result) => post({ type: 'done', result }),
      (e: unknown) => {
        const err = e instanceof JobError ? { kind: e.kind, message: e.message, status: e.status } : { kind: (e as NodeJS.ErrnoException)?.code === 'ENOSPC' ? 'nospace' : 'io', message: (e as Error)?.message ?? String(e) };
        post({ type: 'error', error: err });
      },
    );
  });
}
