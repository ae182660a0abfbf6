/** Builds Tart-format images by hand (any layer sizes, Apple-style LZ4 streams) and pushes them raw. */
import { compressSync } from 'lz4-napi';
import { Registry } from '../../app/core/oci/registry';
import { CredentialStore } from '../../app/core/oci/credentials';
import { MAGIC_COMPRESSED, MAGIC_END, MAGIC_RAW } from '../../app/core/oci/lz4';
import * as MT from '../../app/core/oci/mediatypes';
import { sha256 } from './disks';

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

/**
 * An Apple-framed LZ4 stream like Apple's encoder makes: 64 KiB blocks whose matches refer back into the previous
 * blocks' output (each block is compressed with the previous 64 KiB as dictionary). Every `rawEvery`-th block is
 * stored raw (bv4-), so later blocks also refer into stored blocks.
 */
export function appleLz4WithBackrefs(data: Uint8Array, blockSize = 64 * 1024, rawEvery = 5): Buffer {
  const parts: Buffer[] = [];
  for (let o = 0, i = 0; o < data.length; o += blockSize, i++) {
    const block = Buffer.from(data.subarray(o, Math.min(data.length, o + blockSize)));
    if (i % rawEvery === rawEvery - 1) {
      parts.push(u32(MAGIC_RAW), u32(block.length), block);
      continue;
    }
    const dict = Buffer.from(data.subarray(Math.max(0, o - 65536), o));
    const c = dict.length > 0 ? compressSync(block, dict) : compressSync(block);
    const raw = c.subarray(4);
    parts.push(u32(MAGIC_COMPRESSED), u32(block.length), u32(raw.length), raw);
  }
  parts.push(u32(MAGIC_END));
  return Buffer.concat(parts);
}

export interface RawLayer {
  blob: Buffer;
  mediaType?: string;
  uncompressedSize?: number;
  uncompressedDigest?: string;
}

export const TEST_VM_CONFIG = { version: 1, os: 'linux', arch: 'arm64', cpuCountMin: 1, cpuCount: 1, memorySizeMin: 268435456, memorySize: 268435456, macAddress: '7e:1c:f2:4a:78:31', display: { width: 1024, height: 768 } };

/** Pushes config + given disk layers + NVRAM with a hand-made manifest. Returns the manifest digest. */
export async function pushRawImage(
  host: string,
  repo: string,
  tag: string,
  disks: RawLayer[],
  o: { nvram?: Buffer; diskSizeAnnotation?: number; extraLayers?: { mediaType: string; blob: Buffer }[]; skipConfig?: boolean } = {},
): Promise<string> {
  const reg = new Registry(host, repo, { insecure: true, credentials: new CredentialStore([]) });
  const config = Buffer.from(JSON.stringify(TEST_VM_CONFIG));
  const nvram = o.nvram ?? Buffer.alloc(4096, 7);
  const ociConfig = Buffer.from(MT.sortedJson({ architecture: 'arm64', config: { Labels: {} }, os: 'linux' }));
  const layers: MT.Descriptor[] = [];
  if (!o.skipConfig) layers.push({ mediaType: MT.CONFIG_LAYER, digest: await reg.uploadSmallBlob(config), size: config.length, annotations: {} });
  let total = 0;
  for (const d of disks) {
    total += d.uncompressedSize ?? 0;
    const ann: Record<string, string> = {};
    if (d.uncompressedSize !== undefined) ann[MT.ANN_UNCOMPRESSED_SIZE] = String(d.uncompressedSize);
    if (d.uncompressedDigest !== undefined) ann[MT.ANN_UNCOMPRESSED_DIGEST] = d.uncompressedDigest;
    layers.push({ mediaType: d.mediaType ?? MT.DISK_V2, digest: await reg.uploadSmallBlob(d.blob), size: d.blob.length, annotations: ann });
  }
  for (const x of o.extraLayers ?? []) layers.push({ mediaType: x.mediaType, digest: await reg.uploadSmallBlob(x.blob), size: x.blob.length, annotations: {} });
  layers.push({ mediaType: MT.NVRAM_LAYER, digest: await reg.uploadSmallBlob(nvram), size: nvram.length, annotations: {} });
  const manifest = Buffer.from(
    MT.sortedJson({
      annotations: { [MT.ANN_UNCOMPRESSED_DISK_SIZE]: String(o.diskSizeAnnotation ?? total), [MT.ANN_UPLOAD_TIME]: '2025-01-01T00:00:00Z' },
      config: { mediaType: MT.OCI_CONFIG_MEDIA_TYPE, digest: await reg.uploadSmallBlob(ociConfig), size: ociConfig.length },
      layers,
      mediaType: MT.MANIFEST_MEDIA_TYPE,
      schemaVersion: 2,
    }),
  );
  await reg.putManifest(tag, manifest);
  return sha256(manifest);
}

/** A disk layer from bytes, Apple-style LZ4 with cross-block references. */
export function appleLayer(data: Buffer, blockSize?: number): RawLayer {
  return { blob: appleLz4WithBackrefs(data, blockSize), uncompressedSize: data.length, uncompressedDigest: sha256(data) };
}
