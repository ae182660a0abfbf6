/** Tart's OCI media types and annotation keys (tart-format.md §4), plus Nestbox's zstd disk layer. */
export const MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_CONFIG_MEDIA_TYPE = 'application/vnd.oci.image.config.v1+json';
export const CONFIG_LAYER = 'application/vnd.cirruslabs.tart.config.v1';
export const DISK_V1 = 'application/vnd.cirruslabs.tart.disk.v1';
export const DISK_V2 = 'application/vnd.cirruslabs.tart.disk.v2';
/** Nestbox-only: the disk chunk as zstd frames (Tart cannot pull it). */
export const DISK_ZSTD = 'application/vnd.nestbox.disk.zstd.v1';
export const NVRAM_LAYER = 'application/vnd.cirruslabs.tart.nvram.v1';

export const ANN_UNCOMPRESSED_DISK_SIZE = 'org.cirruslabs.tart.uncompressed-disk-size';
export const ANN_UPLOAD_TIME = 'org.cirruslabs.tart.upload-time';
export const ANN_UNCOMPRESSED_SIZE = 'org.cirruslabs.tart.uncompressed-size';
export const ANN_UNCOMPRESSED_DIGEST = 'org.cirruslabs.tart.uncompressed-content-digest';
export const LABEL_DISK_FORMAT = 'org.cirruslabs.tart.disk.format';

/** Tart's disk chunk size: 512 MiB of uncompressed disk per layer. */
export const DEFAULT_CHUNK_SIZE = 512 * 1024 * 1024;

export type DiskCompression = 'lz4' | 'zstd';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface Manifest {
  schemaVersion: number;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

/** JSON with object keys sorted recursively (Tart's manifest/config encoding). */
export function sortedJson(v: unknown): string {
  return JSON.stringify(sortKeys(v));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) o[k] = sortKeys((v as Record<string, unknown>)[k]);
    return o;
  }
  return v;
}
