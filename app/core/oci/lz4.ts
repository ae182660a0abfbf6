import { native } from '../native';

/**
 * Apple Compression-framework LZ4 framing (tart-format.md Appendix A), the content of Tart's `disk.v2` layers:
 *   "bv41" u32 decodedSize u32 encodedSize <raw LZ4 block>   — compressed block
 *   "bv4-" u32 size <bytes>                                  — stored (incompressible) block
 *   "bv4$"                                                   — end of stream
 * All integers little-endian. Blocks may refer back into the previous 64 KiB of earlier blocks' output, so the
 * decoder keeps that history in front of its output area.
 */
export const MAGIC_COMPRESSED = 0x31347662; // "bv41"
export const MAGIC_RAW = 0x2d347662; // "bv4-"
export const MAGIC_END = 0x24347662; // "bv4$"
export const HISTORY = 64 * 1024;
/**
 * Decoded size of the blocks Nestbox writes. LZ4's window is 64 KiB, so bigger blocks would not compress better;
 * 1 MiB blocks give pulls a resume point every ≤1 MiB of compressed stream.
 */
export const ENCODE_BLOCK = 1024 * 1024;

export class FormatError extends Error {}

/**
 * Streaming decoder. `push()` input as it arrives; decoded output is handed to `sink` in pieces of at most
 * `outCap` bytes (the buffer is reused: consume it synchronously). After `flush()`, `boundary` names a point
 * (compressed offset, uncompressed offset) from which decoding can resume given the previous 64 KiB of output.
 */
export class AppleLz4Decoder {
  private inBuf: Buffer;
  private inLen = 0;
  private out: Buffer;
  private pos = HISTORY;
  /** Compressed bytes of the stream consumed by fully decoded blocks (plus resume base). */
  compressedAtBoundary: number;
  /** Uncompressed bytes produced (including buffered, unflushed output). */
  produced: number;
  ended = false;

  constructor(
    private readonly sink: (piece: Buffer) => void,
    readonly outCap = 16 * 1024 * 1024,
    resume?: { compressed: number; uncompressed: number; history: Uint8Array },
  ) {
    this.inBuf = Buffer.allocUnsafe(8 * 1024 * 1024);
    this.out = Buffer.alloc(HISTORY + outCap);
    this.compressedAtBoundary = resume?.compressed ?? 0;
    this.produced = resume?.uncompressed ?? 0;
    if (resume) {
      const h = resume.history.subarray(Math.max(0, resume.history.length - HISTORY));
      this.out.set(h, HISTORY - h.length);
    }
  }

  push(chunk: Uint8Array): void {
    if (this.ended) {
      if (chunk.length > 0) throw new FormatError('data after the end-of-stream marker');
      return;
    }
    if (this.inLen + chunk.length > this.inBuf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.inBuf.length * 2, this.inLen + chunk.length));
      this.inBuf.copy(bigger, 0, 0, this.inLen);
      this.inBuf = bigger;
    }
    this.inBuf.set(chunk, this.inLen);
    this.inLen += chunk.length;
    this.parse();
  }

  private parse(): void {
    const b = this.inBuf;
    let p = 0;
    for (;;) {
      if (this.inLen - p < 4) break;
      const magic = b.readUInt32LE(p);
      if (magic === MAGIC_END) {
        p += 4;
        this.ended = true;
        this.compressedAtBoundary += 4;
        if (this.inLen !== p) throw new FormatError('data after the end-of-stream marker');
        break;
      } else if (magic === MAGIC_COMPRESSED) {
        if (this.inLen - p < 12) break;
        const dec = b.readUInt32LE(p + 4);
        const enc = b.readUInt32LE(p + 8);
        if (this.inLen - p < 12 + enc) break;
        this.room(dec);
        // Only real output may be referenced: the window starts where valid history starts.
        const start = this.pos - Math.min(this.pos, this.produced);
        const end = start + native().lz4DecodeBlock(b.subarray(p + 12, p + 12 + enc), this.out.subarray(start), this.pos - start, this.pos - start + dec);
        if (end !== this.pos + dec) throw new FormatError(`corrupt LZ4 block at compressed offset ${this.compressedAtBoundary} (code ${end})`);
        this.pos = end;
        this.produced += dec;
        p += 12 + enc;
        this.compressedAtBoundary += 12 + enc;
      } else if (magic === MAGIC_RAW) {
        if (this.inLen - p < 8) break;
        const n = b.readUInt32LE(p + 4);
        if (this.inLen - p < 8 + n) break;
        this.room(n);
        b.copy(this.out, this.pos, p + 8, p + 8 + n);
        this.pos += n;
        this.produced += n;
        p += 8 + n;
        this.compressedAtBoundary += 8 + n;
      } else {
        throw new FormatError(`not an Apple LZ4 stream: unknown block magic 0x${magic.toString(16)} at compressed offset ${this.compressedAtBoundary}`);
      }
    }
    if (p > 0) {
      b.copy(b, 0, p, this.inLen);
      this.inLen -= p;
    }
  }

  /** Makes room for n more output bytes (flushing, or growing for huge blocks). */
  private room(n: number): void {
    if (this.pos + n <= this.out.length) return;
    this.flush();
    if (this.pos + n > this.out.length) {
      const bigger = Buffer.alloc(HISTORY + n);
      this.out.copy(bigger, 0, 0, HISTORY);
      this.out = bigger;
    }
  }

  /** Hands buffered output to the sink and keeps the last 64 KiB as history. */
  flush(): void {
    if (this.pos === HISTORY) return;
    this.sink(this.out.subarray(HISTORY, this.pos));
    this.out.copy(this.out, 0, this.pos - HISTORY, this.pos);
    this.pos = HISTORY;
  }

  /** True when no partial block is buffered (the stream can be cut here). */
  get atBoundary(): boolean {
    return this.inLen === 0;
  }

  finish(): void {
    this.flush();
    if (!this.ended) throw new FormatError('the LZ4 stream ended without its end-of-stream marker (truncated blob)');
  }
}

/** Encodes one piece (≤ ENCODE_BLOCK) as a framed block into `dst` (≥ 12 + lz4CompressBound). Returns bytes written. */
export function encodeBlock(piece: Uint8Array, dst: Buffer): number {
  const n = native().lz4EncodeBlock(piece, dst.subarray(12));
  if (n > 0 && n + 12 < piece.length + 8) {
    dst.writeUInt32LE(MAGIC_COMPRESSED, 0);
    dst.writeUInt32LE(piece.length, 4);
    dst.writeUInt32LE(n, 8);
    return 12 + n;
  }
  dst.writeUInt32LE(MAGIC_RAW, 0);
  dst.writeUInt32LE(piece.length, 4);
  dst.set(piece, 8);
  return 8 + piece.length;
}

export function endMarker(): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(MAGIC_END, 0);
  return b;
}

export function encodeBound(n: number): number {
  return 12 + native().lz4CompressBound(n) + 16;
}

/** Whole-buffer convenience (tests, small layers). */
export function encodeAppleLz4(data: Uint8Array, blockSize = ENCODE_BLOCK): Buffer {
  const parts: Buffer[] = [];
  const tmp = Buffer.alloc(encodeBound(blockSize));
  for (let o = 0; o < data.length; o += blockSize) {
    const n = encodeBlock(data.subarray(o, Math.min(data.length, o + blockSize)), tmp);
    parts.push(Buffer.from(tmp.subarray(0, n)));
  }
  parts.push(endMarker());
  return Buffer.concat(parts);
}

export function decodeAppleLz4(data: Uint8Array): Buffer {
  const parts: Buffer[] = [];
  const d = new AppleLz4Decoder((p) => parts.push(Buffer.from(p)));
  d.push(data);
  d.finish();
  return Buffer.concat(parts);
}
