import { DCtx } from 'zstd-napi/binding';
import { AppleLz4Decoder, FormatError } from './lz4';
import { DISK_V2, DISK_ZSTD } from './mediatypes';

/** A resumable streaming disk-layer decoder (Apple LZ4 or Nestbox zstd frames). */
export interface LayerDecoder {
  push(chunk: Uint8Array): void;
  /** Flushes output and returns a point from which decoding can restart (compressed offset, uncompressed offset). */
  checkpoint(): { compressed: number; uncompressed: number };
  finish(): void;
  readonly produced: number;
}

export interface ResumePoint {
  compressed: number;
  uncompressed: number;
  /** The last ≤64 KiB of output before `uncompressed` (LZ4 history). */
  history: Uint8Array;
}

class Lz4LayerDecoder implements LayerDecoder {
  private d: AppleLz4Decoder;
  constructor(sink: (p: Buffer) => void, resume?: ResumePoint) {
    this.d = new AppleLz4Decoder(sink, 16 * 1024 * 1024, resume);
  }
  push(c: Uint8Array) {
    this.d.push(c);
  }
  checkpoint() {
    this.d.flush();
    return { compressed: this.d.compressedAtBoundary, uncompressed: this.d.produced };
  }
  finish() {
    this.d.finish();
  }
  get produced() {
    return this.d.produced;
  }
}

/** zstd: Nestbox writes one frame per ≤4 MiB of disk, so every frame end is a resume point. */
const EMPTY = Buffer.alloc(0);

class ZstdLayerDecoder implements LayerDecoder {
  private ctx = new DCtx();
  private out = Buffer.alloc(8 * 1024 * 1024);
  private pos = 0;
  private consumed: number;
  produced: number;
  private boundary: { compressed: number; uncompressed: number };
  private inFrame = false;

  constructor(
    private readonly sink: (p: Buffer) => void,
    resume?: ResumePoint,
  ) {
    this.consumed = resume?.compressed ?? 0;
    this.produced = resume?.uncompressed ?? 0;
    this.boundary = { compressed: this.consumed, uncompressed: this.produced };
  }

  push(chunk: Uint8Array) {
    let off = 0;
    while (off < chunk.length) {
      if (this.pos === this.out.length) this.flush();
      const [ret, p, c] = this.ctx.decompressStream(this.out.subarray(this.pos), chunk.subarray(off));
      this.pos += p;
      this.produced += p;
      off += c;
      this.consumed += c;
      this.inFrame = ret !== 0;
      if (ret === 0) {
        this.flush();
        this.boundary = { compressed: this.consumed, uncompressed: this.produced };
      }
      if (p === 0 && c === 0 && this.pos < this.out.length) break;
    }
    // Drain output the context still holds for input already consumed.
    for (;;) {
      if (this.pos === this.out.length) this.flush();
      const [ret, p] = this.ctx.decompressStream(this.out.subarray(this.pos), EMPTY);
      this.pos += p;
      this.produced += p;
      if (ret === 0 && this.inFrame) {
        this.inFrame = false;
        this.flush();
        this.boundary = { compressed: this.consumed, uncompressed: this.produced };
      }
      if (p === 0) break;
    }
  }

  private flush() {
    if (this.pos > 0) this.sink(this.out.subarray(0, this.pos));
    this.pos = 0;
  }

  checkpoint() {
    this.flush();
    return { ...this.boundary };
  }

  finish() {
    this.flush();
    if (this.inFrame) throw new FormatError('the zstd stream ended inside a frame (truncated blob)');
  }
}

export function makeDecoder(mediaType: string, sink: (p: Buffer) => void, resume?: ResumePoint): LayerDecoder {
  if (mediaType === DISK_V2) return new Lz4LayerDecoder(sink, resume);
  if (mediaType === DISK_ZSTD) return new ZstdLayerDecoder(sink, resume);
  throw new FormatError(`unsupported disk layer media type ${mediaType}`);
}
