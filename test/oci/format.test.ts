/** A Nestbox-pushed image checked against every rule of tart-format.md §4 (what real Tart pulls). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, openSync, closeSync, writeSync, ftruncateSync, writeFileSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { tempHome, type TempHome } from '../helpers';
import { startRegistry, type StartedRegistry } from '../helpers/registry';
import { openHome } from '../../app/core/library/home';
import { push } from '../../app/core/oci/push';
import { pull } from '../../app/core/oci/pull';
import { CredentialStore } from '../../app/core/oci/credentials';
import { Registry } from '../../app/core/oci/registry';
import { readBody } from '../../app/core/oci/http';
import { decodeAppleLz4, MAGIC_COMPRESSED, MAGIC_END, MAGIC_RAW } from '../../app/core/oci/lz4';
import * as MT from '../../app/core/oci/mediatypes';
import { NOOP_TASK } from '../../app/core/tasks/context';
import { makeDisk, sha256 } from './disks';

const MiB = 1024 * 1024;
let reg: StartedRegistry;
const homes: TempHome[] = [];
const anon = new CredentialStore([]);
const VM_CONFIG = { version: 1, os: 'linux', arch: 'amd64', cpuCountMin: 2, cpuCount: 2, memorySizeMin: 1073741824, memorySize: 1073741824, macAddress: '7e:1c:f2:4a:78:32', display: { width: 800, height: 600 }, customKey: { kept: true } };

beforeAll(async () => {
  reg = await startRegistry();
});
afterAll(async () => {
  await reg?.stop();
  for (const h of homes) h.cleanup();
});

async function blob(r: Registry, digest: string): Promise<Buffer> {
  const res = await r.send('GET', r.url(`blobs/${digest}`));
  expect(res.statusCode).toBe(200);
  return readBody(res, 1024 * MiB);
}

describe('Nestbox-pushed images follow tart-format.md §4', () => {
  it('default 512 MiB chunks of a sparse 600 MiB disk: manifest, config, annotations, Apple LZ4 framing, layer order', async () => {
    const th = tempHome();
    homes.push(th);
    const home = openHome(th.env);
    const vm = path.join(home.vms, 'fmt');
    mkdirSync(vm, { recursive: true });
    writeFileSync(path.join(vm, 'config.json'), JSON.stringify(VM_CONFIG, null, 2));
    writeFileSync(path.join(vm, 'nvram.bin'), Buffer.alloc(128 * 1024, 0x77));
    const diskSize = 600 * MiB + 12345;
    const fd = openSync(path.join(vm, 'disk.img'), 'w');
    ftruncateSync(fd, diskSize);
    const head = makeDisk(3 * MiB, 1);
    const tail = makeDisk(2 * MiB, 2);
    writeSync(fd, head, 0, head.length, 0);
    writeSync(fd, tail, 0, tail.length, 530 * MiB); // straddles the 512 MiB boundary
    closeSync(fd);

    const { digest } = await push(home, 'fmt', [`${reg.host}/fmt/vm:a`, `${reg.host}/fmt/vm:b`], { insecure: true, credentials: anon, labels: { 'com.example.team': 'qa' } }, NOOP_TASK);
    const r = new Registry(reg.host, 'fmt/vm', { insecure: true, credentials: anon });
    const a = await r.getManifest('a');
    const b = await r.getManifest('b');
    expect(a.digest).toBe(digest);
    expect(b.digest).toBe(digest); // several tags, one manifest
    const m = a.manifest;
    // manifest: OCI image manifest, schemaVersion 2, sorted keys
    expect(m.mediaType).toBe(MT.MANIFEST_MEDIA_TYPE);
    expect(m.schemaVersion).toBe(2);
    expect(a.bytes.toString()).toBe(MT.sortedJson(JSON.parse(a.bytes.toString())));
    // annotations
    expect(m.annotations![MT.ANN_UNCOMPRESSED_DISK_SIZE]).toBe(String(diskSize));
    expect(m.annotations![MT.ANN_UPLOAD_TIME]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // layer order [config, disk…, nvram]
    const types = m.layers.map((l) => l.mediaType);
    expect(types).toEqual([MT.CONFIG_LAYER, MT.DISK_V2, MT.DISK_V2, MT.NVRAM_LAYER]);
    expect(m.layers[0]!.annotations).toEqual({});
    expect(m.layers.at(-1)!.annotations).toEqual({});
    // every blob: digest = sha256(bytes), size matches
    for (const l of [m.config, ...m.layers]) {
      const bytes = await blob(r, l.digest);
      expect(sha256(bytes)).toBe(l.digest);
      expect(bytes.length).toBe(l.size);
    }
    // OCI config stub
    const ociConfig = await blob(r, m.config.digest);
    expect(m.config.mediaType).toBe(MT.OCI_CONFIG_MEDIA_TYPE);
    expect(JSON.parse(ociConfig.toString())).toEqual({ architecture: 'amd64', config: { Labels: { [MT.LABEL_DISK_FORMAT]: 'raw', 'com.example.team': 'qa' } }, os: 'linux' });
    expect(ociConfig.toString()).toBe(MT.sortedJson(JSON.parse(ociConfig.toString())));
    // VM config layer: compact JSON of config.json (unknown keys preserved)
    const cfg = (await blob(r, m.layers[0]!.digest)).toString();
    expect(cfg).not.toMatch(/\n/);
    expect(JSON.parse(cfg)).toEqual(VM_CONFIG);
    // NVRAM verbatim
    expect((await blob(r, m.layers.at(-1)!.digest)).equals(readFileSync(path.join(vm, 'nvram.bin')))).toBe(true);
    // disk layers: 512 MiB chunks (last shorter), annotations, Apple LZ4 framing with self-contained blocks
    const diskBytes = readFileSync(path.join(vm, 'disk.img'));
    const sizes = [MT.DEFAULT_CHUNK_SIZE, diskSize - MT.DEFAULT_CHUNK_SIZE];
    expect(MT.DEFAULT_CHUNK_SIZE).toBe(536870912);
    let offset = 0;
    for (const [i, l] of m.layers.slice(1, -1).entries()) {
      expect(l.annotations![MT.ANN_UNCOMPRESSED_SIZE]).toBe(String(sizes[i]));
      const chunk = diskBytes.subarray(offset, offset + sizes[i]!);
      expect(l.annotations![MT.ANN_UNCOMPRESSED_DIGEST]).toBe(`sha256:${createHash('sha256').update(chunk).digest('hex')}`);
      const bytes = await blob(r, l.digest);
      const first = bytes.readUInt32LE(0);
      expect([MAGIC_COMPRESSED, MAGIC_RAW]).toContain(first);
      expect(bytes.readUInt32LE(bytes.length - 4)).toBe(MAGIC_END);
      expect(decodeAppleLz4(bytes).equals(chunk)).toBe(true);
      offset += sizes[i]!;
    }
    // and it pulls back bit-exact
    const th2 = tempHome();
    homes.push(th2);
    const pulled = await pull(openHome(th2.env), `${reg.host}/fmt/vm:b`, { insecure: true, credentials: anon, env: th2.env }, NOOP_TASK);
    const back = readFileSync(path.join(pulled.dir, 'disk.img'));
    expect(back.length).toBe(diskSize);
    expect(back.equals(diskBytes)).toBe(true);
  });

  it('zstd layers use the Nestbox media type and are ≥ 20 % smaller on compressible disks', async () => {
    const { pushTestImage } = await import('../helpers/registry');
    const d = makeDisk(16 * MiB, 17);
    await pushTestImage(reg.host, 'fmt/z:lz4', d, { layerSize: 8 * MiB, compression: 'lz4' });
    await pushTestImage(reg.host, 'fmt/z:zstd', d, { layerSize: 8 * MiB, compression: 'zstd' });
    const r = new Registry(reg.host, 'fmt/z', { insecure: true, credentials: anon });
    const l = (await r.getManifest('lz4')).manifest.layers.filter((x) => x.mediaType === MT.DISK_V2);
    const z = (await r.getManifest('zstd')).manifest.layers.filter((x) => x.mediaType === MT.DISK_ZSTD);
    expect(z.length).toBe(2);
    const sum = (xs: { size: number }[]) => xs.reduce((s, x) => s + x.size, 0);
    expect(sum(z)).toBeLessThan(sum(l) * 0.8);
  });
});
