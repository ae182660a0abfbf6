import { promises as fsp } from 'node:fs';
import zlib from 'node:zlib';

/**
 * A minimal, dependency-free zip reader for restore images (IPSWs are zip archives of 10–20 GB, so ZIP64).
 * It reads only the end-of-central-directory records, the central directory and the local headers and data of
 * the (small) entries asked for — never the whole file. Supports stored and deflated entries; refuses
 * encrypted ones.
 */
export class ZipError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ZipError';
  }
}

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;
const MAX_CENTRAL_DIRECTORY = 64 * 1024 * 1024;

function u64(b: Buffer, off: number): number {
  const v = b.readBigUInt64LE(off);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipError('a ZIP64 size or offset is too large');
  return Number(v);
}

export class ZipReader {
  private constructor(
    private fh: fsp.FileHandle | null,
    readonly fileSize: number,
    readonly entries: ZipEntry[],
  ) {}

  static async open(file: string): Promise<ZipReader> {
    const fh = await fsp.open(file, 'r');
    try {
      const size = (await fh.stat()).size;
      const entries = await readCentralDirectory(fh, size);
      return new ZipReader(fh, size, entries);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  find(name: string): ZipEntry | undefined {
    return this.entries.find((e) => e.name === name);
  }

  /** Reads and decompresses one entry (refusing entries larger than maxSize) and checks its CRC-32. */
  async read(entry: ZipEntry, maxSize = 64 * 1024 * 1024): Promise<Buffer> {
    const fh = this.fh;
    if (!fh) throw new ZipError('the archive is closed');
    if (entry.flags & 1) throw new ZipError(`${entry.name} is encrypted`);
    if (entry.size > maxSize || entry.compressedSize > maxSize) throw new ZipError(`${entry.name} is too large to read (${entry.size} bytes)`);
    const lh = Buffer.alloc(30);
    await readFully(fh, lh, entry.localHeaderOffset, this.fileSize);
    if (lh.readUInt32LE(0) !== SIG_LOCAL) throw new ZipError(`${entry.name}: bad local header`);
    const dataStart = entry.localHeaderOffset + 30 + lh.readUInt16LE(26) + lh.readUInt16LE(28);
    const raw = Buffer.alloc(entry.compressedSize);
    await readFully(fh, raw, dataStart, this.fileSize);
    let out: Buffer;
    if (entry.method === 0) out = raw;
    else if (entry.method === 8) {
      try {
        out = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.size) });
      } catch (e) {
        throw new ZipError(`${entry.name}: cannot inflate (${(e as Error).message})`);
      }
    } else throw new ZipError(`${entry.name}: unsupported compression method ${entry.method}`);
    if (out.length !== entry.size) throw new ZipError(`${entry.name}: size mismatch (${out.length} ≠ ${entry.size})`);
    if (zlib.crc32(out) >>> 0 !== entry.crc32 >>> 0) throw new ZipError(`${entry.name}: CRC-32 mismatch (the file is damaged)`);
    return out;
  }

  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    await fh?.close();
  }
}

async function readFully(fh: fsp.FileHandle, buf: Buffer, position: number, fileSize: number): Promise<void> {
  if (position < 0 || position + buf.length > fileSize) throw new ZipError('a record points past the end of the file (truncated archive?)');
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0) throw new ZipError('unexpected end of file');
    done += bytesRead;
  }
}

async function readCentralDirectory(fh: fsp.FileHandle, size: number): Promise<ZipEntry[]> {
  // The EOCD record (22 bytes + comment ≤ 65535) sits at the end; the ZIP64 locator (20 bytes) just before it.
  if (size < 22) throw new ZipError('the file is too small to be a zip archive');
  const tailLen = Math.min(size, 22 + 65535 + 20);
  const tail = Buffer.alloc(tailLen);
  await readFully(fh, tail, size - tailLen, size);
  let eocd = -1;
  for (let i = tailLen - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === SIG_EOCD && i + 22 + tail.readUInt16LE(i + 20) <= tailLen) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ZipError('no end-of-central-directory record (not a zip archive, or truncated)');
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);

  const locAt = eocd - 20;
  if (locAt >= 0 && tail.readUInt32LE(locAt) === SIG_ZIP64_LOCATOR) {
    const z64Offset = u64(tail, locAt + 8);
    const rec = Buffer.alloc(56);
    await readFully(fh, rec, z64Offset, size);
    if (rec.readUInt32LE(0) !== SIG_ZIP64_EOCD) throw new ZipError('bad ZIP64 end-of-central-directory record');
    count = u64(rec, 32);
    cdSize = u64(rec, 40);
    cdOffset = u64(rec, 48);
  } else if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    throw new ZipError('ZIP64 archive without a ZIP64 locator');
  }
  if (cdSize > MAX_CENTRAL_DIRECTORY) throw new ZipError(`central directory too large (${cdSize} bytes)`);
  const cd = Buffer.alloc(cdSize);
  await readFully(fh, cd, cdOffset, size);

  const entries: ZipEntry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== SIG_CENTRAL) throw new ZipError(`bad central directory entry #${i}`);
    const flags = cd.readUInt16LE(p + 8);
    const method = cd.readUInt16LE(p + 10);
    const crc = cd.readUInt32LE(p + 16);
    let csize = cd.readUInt32LE(p + 20);
    let usize = cd.readUInt32LE(p + 24);
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    let offset = cd.readUInt32LE(p + 42);
    if (p + 46 + nameLen + extraLen + commentLen > cd.length) throw new ZipError(`truncated central directory entry #${i}`);
    const name = cd.toString(flags & 0x800 ? 'utf8' : 'latin1', p + 46, p + 46 + nameLen);
    // ZIP64 extended information: only the fields whose 32-bit value is 0xFFFFFFFF are present, in this order.
    let x = p + 46 + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = cd.readUInt16LE(x);
      const len = cd.readUInt16LE(x + 2);
      if (id === 0x0001) {
        let q = x + 4;
        const take = (): number => {
          if (q + 8 > x + 4 + len) throw new ZipError(`${name}: short ZIP64 extra field`);
          const v = u64(cd, q);
          q += 8;
          return v;
        };
        if (usize === 0xffffffff) usize = take();
        if (csize === 0xffffffff) csize = take();
        if (offset === 0xffffffff) offset = take();
      }
      x += 4 + len;
    }
    entries.push({ name, method, flags, crc32: crc, compressedSize: csize, size: usize, localHeaderOffset: offset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}
