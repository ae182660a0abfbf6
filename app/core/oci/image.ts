import { NestboxError } from '../errors';
import {
  ANN_UNCOMPRESSED_DIGEST,
  ANN_UNCOMPRESSED_DISK_SIZE,
  ANN_UNCOMPRESSED_SIZE,
  CONFIG_LAYER,
  DISK_V1,
  DISK_V2,
  DISK_ZSTD,
  MANIFEST_MEDIA_TYPE,
  NVRAM_LAYER,
  type Descriptor,
  type Manifest,
} from './mediatypes';

export interface DiskLayerPlan {
  index: number;
  desc: Descriptor;
  /** Offset in disk.img: sum of the previous layers' uncompressed sizes (from annotations, never a constant). */
  offset: number;
  size: number;
  digest: string;
}

export interface ImagePlan {
  config: Descriptor;
  nvram: Descriptor;
  disks: DiskLayerPlan[];
  /** Σ uncompressed layer sizes = disk.img size. */
  diskSize: number;
  compressedSize: number;
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** Checks that a manifest is a Tart VM image and lays out its disk layers. */
export function planImage(m: Manifest, what: string): ImagePlan {
  const types = (m?.layers ?? []).map((l) => l?.mediaType);
  const notVm = (why: string) =>
    new NestboxError('NOT_A_VM_IMAGE', `${what} is not a VM image: ${why}. Media types found: ${[m?.mediaType ?? m?.config?.mediaType, ...types].filter(Boolean).join(', ') || 'none'}.`, {
      fix: 'Pull an image pushed by Tart or Nestbox (e.g. ghcr.io/cirruslabs/macos-sequoia-base:latest); container images cannot be run as VMs.',
      details: { mediaTypes: types, manifestMediaType: m?.mediaType ?? null },
    });
  if (!m || typeof m !== 'object' || !Array.isArray(m.layers)) {
    const mt = (m as { mediaType?: string } | undefined)?.mediaType ?? '';
    if (/index|list/.test(mt)) throw notVm(`it is an image index/manifest list (${mt}), Tart images are a single manifest`);
    throw notVm('it has no layers');
  }
  if (m.mediaType && m.mediaType !== MANIFEST_MEDIA_TYPE) throw notVm(`its manifest type is ${m.mediaType}`);
  if (types.includes(DISK_V1)) {
    throw new NestboxError('NOT_A_VM_IMAGE', `${what} uses the legacy disk format (${DISK_V1}), which is no longer supported.`, {
      fix: 'Re-push the image with a current Tart (or pull it with Tart ≤ 1.x, then push it with Nestbox).',
      details: { mediaTypes: types },
    });
  }
  const configs = m.layers.filter((l) => l.mediaType === CONFIG_LAYER);
  const nvrams = m.layers.filter((l) => l.mediaType === NVRAM_LAYER);
  const disks = m.layers.filter((l) => l.mediaType === DISK_V2 || l.mediaType === DISK_ZSTD);
  if (configs.length !== 1) throw notVm(`expected exactly one ${CONFIG_LAYER} layer, found ${configs.length}`);
  if (nvrams.length !== 1) throw notVm(`expected exactly one ${NVRAM_LAYER} layer, found ${nvrams.length}`);
  if (disks.length === 0) throw notVm('it has no disk layers');
  for (const l of m.layers) if (!DIGEST.test(String(l.digest))) throw notVm(`layer digest "${l.digest}" is not sha256`);
  const plan: DiskLayerPlan[] = [];
  let offset = 0;
  let compressed = 0;
  for (const [i, d] of disks.entries()) {
    const sizeText = d.annotations?.[ANN_UNCOMPRESSED_SIZE];
    const digest = d.annotations?.[ANN_UNCOMPRESSED_DIGEST];
    const size = Number(sizeText);
    if (sizeText === undefined || !/^\d+$/.test(sizeText) || !Number.isSafeInteger(size)) {
      throw new NestboxError('NOT_A_VM_IMAGE', `${what}: disk layer ${i} has no valid ${ANN_UNCOMPRESSED_SIZE} annotation.`, { fix: 'Re-push the image with a current Tart or Nestbox.' });
    }
    if (!digest || !DIGEST.test(digest)) {
      throw new NestboxError('NOT_A_VM_IMAGE', `${what}: disk layer ${i} has no valid ${ANN_UNCOMPRESSED_DIGEST} annotation.`, { fix: 'Re-push the image with a current Tart or Nestbox.' });
    }
    plan.push({ index: i, desc: d, offset, size, digest });
    offset += size;
    compressed += d.size;
  }
  return { config: configs[0]!, nvram: nvrams[0]!, disks: plan, diskSize: offset, compressedSize: compressed };
}

/** The manifest's declared disk size (annotation), or the layer sum. */
export function declaredDiskSize(m: Manifest, plan: ImagePlan): number {
  const a = Number(m.annotations?.[ANN_UNCOMPRESSED_DISK_SIZE]);
  return Number.isSafeInteger(a) && a > 0 ? Math.max(a, plan.diskSize) : plan.diskSize;
}
