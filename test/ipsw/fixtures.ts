/**
 * Test fixtures for restore images, generated at test time:
 *  - writeZip(): a small zip writer (stored/deflated, optional ZIP64 records, optional sparse multi-GB
 *    stored entry so real ZIP64 offsets are needed) — independent of the reader under test;
 *  - buildManifest()/restorePlist(): the structures found in real UniversalMac/iPhone IPSWs;
 *  - startIpswServer(): a loopback HTTP server for the catalog and image bytes with Range support, HEAD, and a
 *    mode that drops the connection in the middle of a body.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { NestboxError } from '../../app/core/errors';
import { toXmlPlist, type PlistDict, type PlistValue } from '../../app/core/ipsw/plist';

export interface ZipInput {
  name: string;
  data?: Buffer;
  deflate?: boolean;
  /** A stored entry of this many zero bytes written as a hole (fixture for >4 GiB archives). CRC is not computed. */
  sparseZeros?: number;
}

/** Writes a zip. `zip64: true` always writes ZIP64 extra fields and EOCD records (as Apple's IPSWs do). */
export async function writeZip(file: string, inputs: ZipInput[], opts: { zip64?: boolean } = {}): Promise<void> {
  const fh = await fsp.open(file, 'w');
  try {
    let pos = 0;
    const central: Buffer[] = [];
    for (const inp of inputs) {
      const name = Buffer.from(inp.name, 'utf8');
      const raw = inp.data ?? Buffer.alloc(0);
      const size = inp.sparseZeros ?? raw.length;
      const body = inp.sparseZeros !== undefined ? null : inp.deflate ? zlib.deflateRawSync(raw) : raw;
      const csize = body ? body.length : size;
      const method = inp.deflate && inp.sparseZeros === undefined ? 8 : 0;
      const crc = inp.sparseZeros !== undefined ? 0 : zlib.crc32(raw) >>> 0;
      const big = opts.zip64 || size >= 0xffffffff || pos >= 0xffffffff;
      const localExtra = big ? Buffer.alloc(20) : Buffer.alloc(0);
      if (big) {
        localExtra.writeUInt16LE(1, 0);
        localExtra.writeUInt16LE(16, 2);
        localExtra.writeBigUInt64LE(BigInt(size), 4);
        localExtra.writeBigUInt64LE(BigInt(csize), 12);
      }
      const lh = Buffer.alloc(30);
      lh.writeUInt32LE(0x04034b50, 0);
      lh.writeUInt16LE(big ? 45 : 20, 4);
      lh.writeUInt16LE(0x800, 6);
      lh.writeUInt16LE(method, 8);
      lh.writeUInt32LE(crc, 14);
      lh.writeUInt32LE(big ? 0xffffffff : csize, 18);
      lh.writeUInt32LE(big ? 0xffffffff : size, 22);
      lh.writeUInt16LE(name.length, 26);
      lh.writeUInt16LE(localExtra.length, 28);
      const offset = pos;
      await fh.write(Buffer.concat([lh, name, localExtra]), 0, undefined, pos);
      pos += 30 + name.length + localExtra.length;
      if (body) await fh.write(body, 0, body.length, pos);
      pos += csize;
      if (!body) await fh.truncate(pos);

      const cextra = big ? Buffer.alloc(28) : Buffer.alloc(0);
      if (big) {
        cextra.writeUInt16LE(1, 0);
        cextra.writeUInt16LE(24, 2);
        cextra.writeBigUInt64LE(BigInt(size), 4);
        cextra.writeBigUInt64LE(BigInt(csize), 12);
        cextra.writeBigUInt64LE(BigInt(offset), 20);
      }
      const ch = Buffer.alloc(46);
      ch.writeUInt32LE(0x02014b50, 0);
      ch.writeUInt16LE(big ? 45 : 20, 4);
      ch.writeUInt16LE(big ? 45 : 20, 6);
      ch.writeUInt16LE(0x800, 8);
      ch.writeUInt16LE(method, 10);
      ch.writeUInt32LE(crc, 16);
      ch.writeUInt32LE(big ? 0xffffffff : csize, 20);
      ch.writeUInt32LE(big ? 0xffffffff : size, 24);
      ch.writeUInt16LE(name.length, 28);
      ch.writeUInt16LE(cextra.length, 30);
      ch.writeUInt32LE(big ? 0xffffffff : offset, 42);
      central.push(Buffer.concat([ch, name, cextra]));
    }
    const cd = Buffer.concat(central);
    const cdOffset = pos;
    await fh.write(cd, 0, cd.length, pos);
    pos += cd.length;
    const z64 = opts.zip64 || cdOffset >= 0xffffffff;
    if (z64) {
      const rec = Buffer.alloc(56);
      rec.writeUInt32LE(0x06064b50, 0);
      rec.writeBigUInt64LE(44n, 4);
      rec.writeUInt16LE(45, 12);
      rec.writeUInt16LE(45, 14);
      rec.writeBigUInt64LE(BigInt(inputs.length), 24);
      rec.writeBigUInt64LE(BigInt(inputs.length), 32);
      rec.writeBigUInt64LE(BigInt(cd.length), 40);
      rec.writeBigUInt64LE(BigInt(cdOffset), 48);
      const loc = Buffer.alloc(20);
      loc.writeUInt32LE(0x07064b50, 0);
      loc.writeBigUInt64LE(BigInt(pos), 8);
      loc.writeUInt32LE(1, 16);
      await fh.write(Buffer.concat([rec, loc]), 0, 76, pos);
      pos += 76;
    }
    const eocd = Buffer.alloc(22);
    eocd.writeUInt32LE(0x06054b50, 0);
    eocd.writeUInt16LE(z64 ? 0xffff : inputs.length, 8);
    eocd.writeUInt16LE(z64 ? 0xffff : inputs.length, 10);
    eocd.writeUInt32LE(z64 ? 0xffffffff : cd.length, 12);
    eocd.writeUInt32LE(z64 ? 0xffffffff : cdOffset, 16);
    await fh.write(eocd, 0, 22, pos);
  } finally {
    await fh.close();
  }
}

const MAC_TYPES = ['Mac13,1', 'Mac14,2', 'Mac14,3', 'Mac15,3', 'MacBookAir10,1', 'MacBookPro17,1', 'Macmini9,1', 'iMac21,1', 'VirtualMac2,1'];

function identity(boardId: string, chipId: string, deviceClass: string, build: string, variant: string): PlistDict {
  return {
    ApBoardID: boardId,
    ApChipID: chipId,
    ApSecurityDomain: '0x01',
    Info: {
      BuildNumber: build,
      CodeName: 'Fixture',
      DeviceClass: deviceClass,
      FDRSupport: false,
      MinimumSystemPartition: 7000,
      MobileDeviceMinVersion: '1600.100.1',
      RestoreBehavior: variant.includes('Upgrade') ? 'Update' : 'Erase',
      Variant: variant,
      VariantContents: { OS: 'Production', RestoreRamDisk: 'Production' },
    },
    Manifest: {
      KernelCache: { Digest: Buffer.alloc(48, 7), Info: { Path: `kernelcache.release.${deviceClass.replace(/ap$/, '')}` }, Trusted: true },
    },
    UniqueBuildID: Buffer.alloc(20, 3),
    // Unknown keys newer images may carry must not upset the reader.
    FutureKeyFromApple: { Nested: [1, 2, 3] },
  };
}

export interface ManifestOptions {
  version?: string;
  build?: string;
  productTypes?: string[];
  deviceClasses?: string[];
}

export function buildManifest(o: ManifestOptions = {}): PlistDict {
  const build = o.build ?? '23A344';
  const classes = o.deviceClasses ?? ['vma2macosap', 'j274ap', 'j313ap'];
  return {
    BuildIdentities: classes.flatMap((c, i) => [
      identity(c === 'vma2macosap' ? '0x20' : `0x${(0x22 + i).toString(16)}`, c === 'vma2macosap' ? '0xFE00' : '0x8103', c, build, 'macOS Customer'),
      identity('0x20', '0xFE00', c, build, 'macOS Customer Upgrade Install (IPSW)'),
    ]),
    ManifestVersion: 0,
    ProductBuildVersion: build,
    ProductVersion: o.version ?? '14.0',
    SupportedProductTypes: o.productTypes ?? MAC_TYPES,
  };
}

export function restorePlist(o: ManifestOptions = {}): PlistDict {
  return {
    DeviceMap: [{ BDID: 32, BoardConfig: 'vma2macosap', CPID: 65024, Platform: 'vma2', SCEP: 1, SDOM: 1 }],
    ProductBuildVersion: o.build ?? '23A344',
    ProductType: (o.productTypes ?? MAC_TYPES)[0]!,
    ProductVersion: o.version ?? '14.0',
    RestoreRamDisks: { User: '090-00000-000.dmg' },
    SupportedProductTypes: o.productTypes ?? MAC_TYPES,
    SystemRestoreImageFileSystems: { '090-00001-000.dmg': 'APFS' },
  };
}

export const IPHONE_MANIFEST: ManifestOptions = { version: '17.0', build: '21A329', productTypes: ['iPhone15,2', 'iPhone15,3'], deviceClasses: ['d73ap'] };
export const OLD_MAC_MANIFEST: ManifestOptions = { version: '11.6', build: '20G165', productTypes: ['MacBookAir10,1', 'Macmini9,1'], deviceClasses: ['j313ap'] };

/** A small IPSW-shaped zip: BuildManifest.plist (deflated), Restore.plist (stored), a filler "disk image". */
export async function writeIpsw(file: string, o: ManifestOptions & { zip64?: boolean; filler?: Buffer; sparseGiB?: number } = {}): Promise<void> {
  const entries: ZipInput[] = [];
  if (o.sparseGiB) entries.push({ name: '090-00001-000.dmg', sparseZeros: o.sparseGiB * 1024 * 1024 * 1024 });
  else entries.push({ name: '090-00001-000.dmg', data: o.filler ?? Buffer.alloc(4096, 0x5a) });
  entries.push({ name: 'Firmware/all_flash/iBoot.vma2.RELEASE.im4p', data: Buffer.from('iboot'), deflate: true });
  entries.push({ name: 'BuildManifest.plist', data: Buffer.from(toXmlPlist(buildManifest(o))), deflate: true });
  entries.push({ name: 'Restore.plist', data: Buffer.from(toXmlPlist(restorePlist(o))) });
  await writeZip(file, entries, { zip64: o.zip64 ?? true });
}

// ---------------------------------------------------------------- catalog

export interface CatalogBuild {
  version: string;
  build: string;
  url: string;
  sha1?: string;
  device?: string;
}

/** Apple's com_apple_macOSIPSW.xml shape: MobileDeviceSoftwareVersionsByVersion → 1 → MobileDeviceSoftwareVersions → device → build → Restore. */
export function appleCatalog(builds: CatalogBuild[], extra: PlistDict = {}): string {
  const devices: PlistDict = {};
  for (const b of builds) {
    const dev = b.device ?? 'VirtualMac2,1';
    const d = (devices[dev] ??= {}) as PlistDict;
    const restore: PlistDict = { BuildVersion: b.build, DocumentationURL: 'https://example.invalid/doc', FirmwareURL: b.url, ProductVersion: b.version };
    if (b.sha1) restore.FirmwareSHA1 = b.sha1;
    d[b.build] = { Restore: restore };
  }
  const root: PlistDict = {
    MobileDeviceSoftwareVersionsByVersion: { '1': { MobileDeviceSoftwareVersions: devices } },
    MobileDeviceProductTypes: { DFU: {}, Recovery: {} },
    ...extra,
  };
  return toXmlPlist(root as PlistValue);
}

export function sha1(b: Buffer): string {
  return createHash('sha1').update(b).digest('hex');
}
export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

// ---------------------------------------------------------------- loopback server

export interface ServedFile {
  body: Buffer;
  contentType?: string;
  /** Extra response headers (e.g. x-amz-meta-digest-sha256). */
  headers?: Record<string, string>;
  /** Destroy the socket after sending this many body bytes, for the first `dropTimes` GETs. */
  dropAfter?: number;
  dropTimes?: number;
  /** Ignore Range requests (always 200 with the whole body). */
  noRange?: boolean;
}

export interface IpswServer {
  url: string;
  files: Map<string, ServedFile>;
  /** Every request seen: method, path and Range header. */
  requests: { method: string; path: string; range?: string }[];
  close(): Promise<void>;
}

export async function startIpswServer(): Promise<IpswServer> {
  const files = new Map<string, ServedFile>();
  const requests: IpswServer['requests'] = [];
  const drops = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const p = (req.url ?? '/').split('?')[0]!;
    requests.push({ method: req.method ?? '', path: p, range: req.headers.range });
    const f = files.get(p);
    if (!f) {
      res.writeHead(404).end('not found');
      return;
    }
    const total = f.body.length;
    let start = 0;
    let end = total - 1;
    let status = 200;
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (m && !f.noRange) {
      start = Number(m[1]);
      end = m[2] ? Math.min(Number(m[2]), total - 1) : total - 1;
      if (start >= total) {
        res.writeHead(416, { 'content-range': `bytes */${total}` }).end();
        return;
      }
      status = 206;
    }
    const headers: Record<string, string | number> = {
      'content-type': f.contentType ?? 'application/octet-stream',
      'content-length': end - start + 1,
      'accept-ranges': 'bytes',
      ...(f.headers ?? {}),
    };
    if (status === 206) headers['content-range'] = `bytes ${start}-${end}/${total}`;
    res.writeHead(status, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const slice = f.body.subarray(start, end + 1);
    const dropped = drops.get(p) ?? 0;
    if (f.dropAfter !== undefined && dropped < (f.dropTimes ?? 1) && f.dropAfter < slice.length) {
      drops.set(p, dropped + 1);
      res.write(slice.subarray(0, f.dropAfter), () => {
        // Let the bytes leave, then cut the connection without finishing the body.
        setImmediate(() => req.socket.destroy());
      });
      return;
    }
    res.end(slice);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    files,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The NestboxError a promise rejects with (any other rejection, or none, fails the test). */
export async function rejection(p: Promise<unknown>): Promise<NestboxError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof NestboxError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}
