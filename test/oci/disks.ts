/** Generated test disks: zero, random and compressible regions, deterministic per seed. */
import { createHash } from 'node:crypto';

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** `size` bytes: regions of 256 KiB–2 MiB cycling zeros / random / text-like / repeated pattern. */
export function makeDisk(size: number, seed = 1): Buffer {
  const b = Buffer.alloc(size);
  const r = rng(seed);
  let off = 0;
  let kind = 0;
  while (off < size) {
    const len = Math.min(size - off, (256 * 1024) * (1 + (r() % 8)));
    const k = kind++ % 4;
    if (k === 1) {
      for (let i = 0; i < len; i += 4) b.writeUInt32LE(r(), off + i - (i + 4 > len ? i + 4 - len : 0));
    } else if (k === 2) {
      const words = ['kernel ', 'module ', 'init ', 'usr/lib/', 'libc.so.6 ', '0000 ', 'ELF ', '\n'];
      let i = 0;
      while (i < len) {
        const w = words[r() % words.length]!;
        i += b.write(w, off + i, Math.min(w.length, len - i));
      }
    } else if (k === 3) {
      const pat = Buffer.from(`pattern-${seed}-${off}-`);
      for (let i = 0; i < len; i += pat.length) pat.copy(b, off + i, 0, Math.min(pat.length, len - i));
    }
    off += len;
  }
  return b;
}

export const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
