import { describe, expect, it } from 'vitest';
import { compressSync } from 'lz4-napi';
import { AppleLz4Decoder, decodeAppleLz4, encodeAppleLz4, MAGIC_COMPRESSED, MAGIC_END, MAGIC_RAW } from './lz4';
import { makeDisk } from '../../../test/oci/disks';
import { appleLz4WithBackrefs } from '../../../test/oci/images';

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

function decodeInPieces(stream: Buffer, outCap: number, seed: number): Buffer {
  const parts: Buffer[] = [];
  const d = new AppleLz4Decoder((p) => parts.push(Buffer.from(p)), outCap);
  let s = seed;
  for (let o = 0; o < stream.length; ) {
    s = (s * 1103515245 + 12345) >>> 0;
    const n = 1 + (s % 70000);
    d.push(stream.subarray(o, o + n));
    o += n;
  }
  d.finish();
  return Buffer.concat(parts);
}

describe('Apple LZ4 framing', () => {
  it('round-trips generated disks through Nestbox blocks (bv41 and bv4- for incompressible data)', () => {
    const data = makeDisk(9 * 1024 * 1024 + 17, 3);
    const enc = encodeAppleLz4(data, 1024 * 1024);
    expect(enc.readUInt32LE(0) === MAGIC_COMPRESSED || enc.readUInt32LE(0) === MAGIC_RAW).toBe(true);
    expect(enc.readUInt32LE(enc.length - 4)).toBe(MAGIC_END);
    expect(decodeAppleLz4(enc).equals(data)).toBe(true);
    const random = Buffer.from(makeDisk(600 * 1024, 9).subarray(0)).fill(0, 0, 0);
    for (let i = 0; i < random.length; i++) random[i] = (i * 2654435761) >>> 24;
    expect(decodeAppleLz4(encodeAppleLz4(random)).equals(random)).toBe(true);
  });

  it('decodes blocks that refer back into earlier blocks, across output flushes and arbitrary input splits', () => {
    const data = makeDisk(3 * 1024 * 1024 + 333, 11);
    const stream = appleLz4WithBackrefs(data, 64 * 1024, 4);
    // The blocks really depend on history: decoding the 2nd block alone must fail.
    const first = stream.readUInt32LE(8);
    const second = 12 + first;
    expect(stream.readUInt32LE(second)).toBe(MAGIC_COMPRESSED);
    const alone = Buffer.concat([stream.subarray(second, second + 12 + stream.readUInt32LE(second + 8)), u32(MAGIC_END)]);
    expect(() => decodeAppleLz4(alone)).toThrow(/corrupt LZ4 block/);
    for (const cap of [64 * 1024, 100_000, 1024 * 1024, 16 * 1024 * 1024]) {
      expect(decodeInPieces(stream, cap, cap).equals(data)).toBe(true);
    }
  });

  it('handles a match at the maximum distance (65535) reaching into the previous block', () => {
    const a = Buffer.alloc(70000);
    for (let i = 0; i < a.length; i++) a[i] = (i * 7919) & 0xff;
    // block 2: one sequence, 0 literals, match offset 65535 length 4+15+100, then 5 literal bytes
    const b2 = Buffer.concat([Buffer.from([0x0f, 0xff, 0xff, 100]), Buffer.from([0x50]), Buffer.from('tail!')]);
    const expected2 = Buffer.alloc(119 + 5);
    const out = Buffer.concat([a]);
    for (let i = 0; i < 119; i++) expected2[i] = out[out.length - 65535 + i] ?? expected2[i - 65535 + out.length]!;
    Buffer.from('tail!').copy(expected2, 119);
    const stream = Buffer.concat([u32(MAGIC_RAW), u32(a.length), a, u32(MAGIC_COMPRESSED), u32(expected2.length), u32(b2.length), b2, u32(MAGIC_END)]);
    expect(decodeInPieces(stream, 65536, 1).equals(Buffer.concat([a, expected2]))).toBe(true);
  });

  it('rejects truncated streams, unknown magic and trailing data', () => {
    const enc = encodeAppleLz4(Buffer.from('x'.repeat(100000)));
    expect(() => decodeAppleLz4(enc.subarray(0, enc.length - 4))).toThrow(/without its end-of-stream marker/);
    expect(() => decodeAppleLz4(Buffer.concat([Buffer.from('junk'), enc]))).toThrow(/unknown block magic/);
    expect(() => decodeAppleLz4(Buffer.concat([enc, Buffer.from('x')]))).toThrow(/after the end-of-stream/);
  });

  it('reads lz4-napi (lz4_flex) raw blocks framed as bv41', () => {
    const data = makeDisk(200_000, 5);
    const raw = compressSync(data).subarray(4);
    const stream = Buffer.concat([u32(MAGIC_COMPRESSED), u32(data.length), u32(raw.length), raw, u32(MAGIC_END)]);
    expect(decodeAppleLz4(stream).equals(data)).toBe(true);
  });
});
