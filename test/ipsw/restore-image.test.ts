import { mkdtempSync, rmSync, writeFileSync, readFileSync, statSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePlist, parseBinaryPlist, toXmlPlist, PlistError, isDict } from '../../app/core/ipsw/plist';
import { inspectRestoreImage } from '../../app/core/ipsw/restore-image';
import { compareVersions, isBetaBuild } from '../../app/core/ipsw/version';
import { ZipReader } from '../../app/core/ipsw/zip';
import { IPHONE_MANIFEST, OLD_MAC_MANIFEST, rejection, writeIpsw, writeZip } from './fixtures';

const dir = mkdtempSync(path.join(os.tmpdir(), 'nestbox-ipsw-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const f = (n: string) => path.join(dir, n);

describe('XML plist', () => {
  it('reads every element type, entities, comments and empty forms', () => {
    const v = parsePlist(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<!-- a comment -->
<dict>
  <key>s</key><string>a &lt;b&gt; &amp; &#x41;&#66;</string>
  <key>empty</key><string/>
  <key>i</key><integer>-42</integer>
  <key>big</key><integer>18446744073709551615</integer>
  <key>r</key><real>1.5</real>
  <key>t</key><true/>
  <key>f</key><false/>
  <key>d</key><date>2024-06-10T17:00:00Z</date>
  <key>data</key><data>
    aGVs
    bG8=
  </data>
  <key>a</key><array><string>x</string><array/><dict/></array>
  <key>__proto__</key><string>stays data</string>
</dict>
</plist>`) as Record<string, unknown>;
    expect(v.s).toBe('a <b> & AB');
    expect(v.empty).toBe('');
    expect(v.i).toBe(-42);
    expect(v.big).toBe(18446744073709551615n);
    expect(v.r).toBe(1.5);
    expect(v.t).toBe(true);
    expect(v.f).toBe(false);
    expect((v.d as Date).toISOString()).toBe('2024-06-10T17:00:00.000Z');
    expect((v.data as Buffer).toString()).toBe('hello');
    expect(v.a).toEqual(['x', [], Object.create(null)]);
    expect(v['__proto__']).toBe('stays data');
    expect(({} as Record<string, unknown>).s).toBeUndefined();
  });

  it('round-trips through the writer', () => {
    const src = { A: 'x', B: [1, 2.5, true, false], C: { D: Buffer.from([1, 2, 3]) } };
    const back = parsePlist(toXmlPlist(src)) as Record<string, unknown>;
    expect(back.A).toBe('x');
    expect(back.B).toEqual([1, 2.5, true, false]);
    expect(((back.C as Record<string, unknown>).D as Buffer).equals(Buffer.from([1, 2, 3]))).toBe(true);
  });

  it('rejects malformed documents with a line number', () => {
    expect(() => parsePlist('<plist><dict><key>a</key></dict></plist>')).toThrow(PlistError);
    expect(() => parsePlist('<plist><dict><key>a</key><string>x</dict></plist>')).toThrow(/line 1/);
    expect(() => parsePlist('<html></html>')).toThrow(/not a <plist>/);
    expect(() => parsePlist('<plist><foo/></plist>')).toThrow(/unknown element <foo>/);
    expect(() => parsePlist('<plist><integer>12x</integer></plist>')).toThrow(/bad <integer>/);
  });
});

describe('binary plist', () => {
  // Hand-assembled bplist00: {"ProductVersion": "14.6", "n": 7, "ok": true, "list": ["é"]}
  function bplist(): Buffer {
    const objs: Buffer[] = [];
    const str = (s: string) => Buffer.concat([Buffer.from([0x50 | s.length]), Buffer.from(s, 'latin1')]);
    objs.push(Buffer.from([0xd4, 1, 2, 3, 4, 5, 6, 7, 8])); // dict, 4 pairs: keys 1..4, values 5..8
    objs.push(str('ProductVersion'), str('n'), str('ok'), str('list'));
    objs.push(str('14.6'), Buffer.from([0x10, 7]), Buffer.from([0x09]), Buffer.from([0xa1, 9]));
    const u = Buffer.from('é', 'utf16le').swap16();
    objs.push(Buffer.concat([Buffer.from([0x61]), u]));
    const header = Buffer.from('bplist00', 'latin1');
    const offsets: number[] = [];
    let pos = header.length;
    for (const o of objs) {
      offsets.push(pos);
      pos += o.length;
    }
    const table = Buffer.from(offsets);
    const trailer = Buffer.alloc(32);
    trailer[6] = 1;
    trailer[7] = 1;
    trailer.writeBigUInt64BE(BigInt(objs.length), 8);
    trailer.writeBigUInt64BE(0n, 16);
    trailer.writeBigUInt64BE(BigInt(pos), 24);
    return Buffer.concat([header, ...objs, table, trailer]);
  }

  it('reads dictionaries, strings, integers, booleans and UTF-16 strings', () => {
    const v = parsePlist(bplist());
    expect(isDict(v)).toBe(true);
    expect(v).toMatchObject({ ProductVersion: '14.6', n: 7, ok: true, list: ['é'] });
  });

  it('rejects truncated input', () => {
    expect(() => parseBinaryPlist(bplist().subarray(0, 30))).toThrow(PlistError);
  });
});

describe('zip reader', () => {
  it('reads stored and deflated entries, with and without ZIP64 records', async () => {
    for (const zip64 of [false, true]) {
      const p = f(`plain-${zip64}.zip`);
      const big = Buffer.alloc(200_000, 'abc');
      await writeZip(p, [{ name: 'a.txt', data: Buffer.from('hello') }, { name: 'dir/b.bin', data: big, deflate: true }], { zip64 });
      const z = await ZipReader.open(p);
      try {
        expect(z.entries.map((e) => e.name)).toEqual(['a.txt', 'dir/b.bin']);
        expect((await z.read(z.find('a.txt')!)).toString()).toBe('hello');
        expect((await z.read(z.find('dir/b.bin')!)).equals(big)).toBe(true);
      } finally {
        await z.close();
      }
    }
  });

  it('finds entries past 4 GiB through ZIP64 offsets without reading the whole file', async () => {
    const p = f('big.ipsw');
    await writeIpsw(p, { sparseGiB: 5, version: '15.1', build: '24B83' });
    expect(statSync(p).size).toBeGreaterThan(5 * 1024 ** 3);
    const z = await ZipReader.open(p);
    try {
      const m = z.find('BuildManifest.plist')!;
      expect(m.localHeaderOffset).toBeGreaterThan(0xffffffff);
      expect(String((parsePlist(await z.read(m)) as Record<string, unknown>).ProductVersion)).toBe('15.1');
    } finally {
      await z.close();
    }
    const info = await inspectRestoreImage(p);
    expect(info).toMatchObject({ productVersion: '15.1', buildVersion: '24B83' });
    await fsp.rm(p);
  });

  it('detects a damaged entry by its CRC', async () => {
    const p = f('crc.zip');
    await writeZip(p, [{ name: 'x', data: Buffer.from('0123456789') }]);
    const b = readFileSync(p);
    b[30 + 1 + 3] ^= 0xff; // flip a data byte after the 30-byte header and 1-byte name
    writeFileSync(p, b);
    const z = await ZipReader.open(p);
    await expect(z.read(z.find('x')!)).rejects.toThrow(/CRC-32 mismatch/);
    await z.close();
  });
});

describe('inspectRestoreImage', () => {
  it('reports version, build, devices and minimum host of a macOS image', async () => {
    const p = f('UniversalMac_14.0_23A344_Restore.ipsw');
    await writeIpsw(p);
    const info = await inspectRestoreImage(p, { platform: 'darwin', arch: 'arm64', macosVersion: '14.6.1' });
    expect(info).toMatchObject({ productVersion: '14.0', buildVersion: '23A344', beta: false, minimumHost: '14.0', warnings: [] });
    expect(info.supportedProductTypes).toContain('VirtualMac2,1');
    expect(info.size).toBe(statSync(p).size);
  });

  it('flags beta builds', async () => {
    const p = f('beta.ipsw');
    await writeIpsw(p, { version: '15.0', build: '24A5264n' });
    expect((await inspectRestoreImage(p)).beta).toBe(true);
  });

  it('warns when the image is newer than the host and says what to install', async () => {
    const p = f('newer.ipsw');
    await writeIpsw(p, { version: '15.0', build: '24A335' });
    const info = await inspectRestoreImage(p, { platform: 'darwin', arch: 'arm64', macosVersion: '14.6' });
    expect(info.warnings).toHaveLength(1);
    expect(info.warnings[0]).toMatch(/macOS 15\.0 \(24A335\) is newer than this Mac \(macOS 14\.6\)/);
    expect(info.warnings[0]).toMatch(/device-support/);
    expect(info.warnings[0]).toMatch(/MobileDevice\.pkg/);
    // Linux hosts have no macOS version: no warning.
    expect((await inspectRestoreImage(p, { platform: 'linux', arch: 'x64' })).warnings).toEqual([]);
  });

  it('rejects an iPhone image, naming what it is', async () => {
    const p = f('iPhone15,2_17.0_21A329_Restore.ipsw');
    await writeIpsw(p, IPHONE_MANIFEST);
    const e = await rejection(inspectRestoreImage(p));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toMatch(/it holds iOS 17\.0 \(21A329\) for iPhone15,2, iPhone15,3, not macOS/);
    expect(e.fix).toMatch(/UniversalMac/);
  });

  it('rejects a macOS image without VirtualMac2,1', async () => {
    const p = f('old.ipsw');
    await writeIpsw(p, OLD_MAC_MANIFEST);
    const e = await rejection(inspectRestoreImage(p));
    expect(e.message).toMatch(/macOS 11\.6 \(20G165\).*does not support virtual machines.*VirtualMac2,1/);
  });

  it('rejects files that are not zips, zips without a manifest, truncated downloads and missing files', async () => {
    writeFileSync(f('text.ipsw'), 'this is not a zip at all');
    expect((await rejection(inspectRestoreImage(f('text.ipsw')))).message).toMatch(/not a zip archive, or it is incomplete/);

    await writeZip(f('nomanifest.ipsw'), [{ name: 'readme.txt', data: Buffer.from('hi') }]);
    expect((await rejection(inspectRestoreImage(f('nomanifest.ipsw')))).message).toMatch(/has no BuildManifest\.plist/);

    await writeIpsw(f('full.ipsw'));
    const whole = readFileSync(f('full.ipsw'));
    writeFileSync(f('truncated.ipsw'), whole.subarray(0, whole.length - 200));
    expect((await rejection(inspectRestoreImage(f('truncated.ipsw')))).message).toMatch(/incomplete/);

    await writeZip(f('badplist.ipsw'), [{ name: 'BuildManifest.plist', data: Buffer.from('<plist><dict><key>x') }]);
    expect((await rejection(inspectRestoreImage(f('badplist.ipsw')))).message).toMatch(/BuildManifest\.plist cannot be read/);

    const missing = await rejection(inspectRestoreImage(f('nope.ipsw')));
    expect(missing.code).toBe('NOT_FOUND');
    expect(missing.exitCode).toBe(2);
  });
});

describe('versions', () => {
  it('compares numerically and recognises beta builds', () => {
    expect(compareVersions('14.10', '14.9')).toBe(1);
    expect(compareVersions('15', '15.0.0')).toBe(0);
    expect(compareVersions('13.6.1', '14.0')).toBe(-1);
    expect(isBetaBuild('24A5264n')).toBe(true);
    expect(isBetaBuild('23A344')).toBe(false);
    expect(isBetaBuild('22A8380')).toBe(false);
  });
});
