/** Engine shapes → contract shapes (app/api/models.ts). */
import type { CachedImage as ApiCachedImage, TaskInfo, VmState as ApiVmState, VmSummary } from '../api/models';
import type { CachedImage } from '../core/oci/cache';
import type { VMInfo } from '../core/library/library';
import type { TaskSnapshot } from '../core/tasks/manager';

export function vmSummary(v: VMInfo, thumbnailVersion?: number, state?: ApiVmState): VmSummary {
  const c = v.config;
  return {
    name: v.name,
    ...(c ? { os: c.os, arch: c.arch, cpuCount: c.cpuCount, memorySize: c.memorySize } : {}),
    state: state ?? v.state,
    ...(v.broken ? { stateReason: v.broken.reason } : {}),
    disk: { apparent: v.disk.apparent, allocated: v.disk.allocated },
    ...(c?.display ? { display: { width: c.display.width, height: c.display.height, ...(c.display.unit ? { unit: c.display.unit } : {}) } } : {}),
    accessedAt: v.accessedAt.toISOString(),
    ...(thumbnailVersion !== undefined ? { thumbnailVersion } : {}),
  };
}

export function cachedImage(i: CachedImage): ApiCachedImage {
  return { name: i.name, kind: i.kind, digest: i.digest, disk: { apparent: i.disk.apparent, allocated: i.disk.allocated }, accessedAt: i.accessedAt.toISOString() };
}

/** The contract's TaskInfo (the session log stays on the server side). */
export function taskInfo(t: TaskSnapshot): TaskInfo {
  const p = t.progress;
  return {
    id: t.id,
    kind: t.kind,
    title: t.title,
    target: { ...t.target },
    state: t.state,
    progress: {
      ...(p.step !== undefined ? { step: p.step } : {}),
      ...(p.done !== undefined ? { done: p.done } : {}),
      ...(p.total !== undefined ? { total: p.total } : {}),
      ...(p.unit !== undefined ? { unit: p.unit } : {}),
      ...(p.secondary !== undefined ? { secondary: p.secondary } : {}),
      ...(p.items !== undefined ? { items: p.items } : {}),
      ...(p.rate !== undefined ? { rate: p.rate } : {}),
      ...(p.etaSeconds !== undefined ? { etaSeconds: p.etaSeconds } : {}),
    },
    ...(t.error ? { error: t.error } : {}),
    ...(t.result ? { result: t.result } : {}),
    ...(t.resumable !== undefined ? { resumable: t.resumable } : {}),
    startedAt: t.startedAt,
    ...(t.finishedAt ? { finishedAt: t.finishedAt } : {}),
  };
}
