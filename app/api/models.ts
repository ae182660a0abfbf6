/**
 * Data shapes that cross process boundaries. Every shape is a zod schema (validated on the receiving side)
 * and a TypeScript type inferred from it. Sizes are bytes unless the name says otherwise; dates are ISO-8601.
 */
import { z } from 'zod';

export const ApiErrorSchema = z.object({
  /** Machine-readable code (NOT_FOUND, RUNNING, INVALID_ARGUMENT, NO_SPACE, AUTH, CANCELLED, UNSUPPORTED, …). */
  code: z.string(),
  /** What went wrong, naming the thing and the reason. */
  message: z.string(),
  /** What to do about it. */
  fix: z.string().optional(),
  /** Structured, secret-free detail for "copy details". */
  details: z.record(z.string(), z.unknown()).optional(),
});
export type ApiError = z.infer<typeof ApiErrorSchema>;

export const VmStateSchema = z.enum(['stopped', 'starting', 'running', 'paused', 'suspending', 'suspended', 'stopping', 'error', 'broken']);
export type VmState = z.infer<typeof VmStateSchema>;

export const DisplaySchema = z.object({
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  unit: z.enum(['pt', 'px']).optional(),
});

export const DiskSizesSchema = z.object({ apparent: z.number().nonnegative(), allocated: z.number().nonnegative() });

export const VmSummarySchema = z.object({
  name: z.string(),
  os: z.enum(['darwin', 'linux']).optional(),
  arch: z.enum(['arm64', 'amd64']).optional(),
  state: VmStateSchema,
  /** Why the VM is broken or in error, for the badge's tooltip. */
  stateReason: z.string().optional(),
  cpuCount: z.number().int().optional(),
  memorySize: z.number().optional(),
  disk: DiskSizesSchema,
  display: DisplaySchema.optional(),
  accessedAt: z.string(),
  /** Changes whenever the thumbnail changes (mtime in ms); absent when there is none. Fetch with vm.thumbnail. */
  thumbnailVersion: z.number().optional(),
});
export type VmSummary = z.infer<typeof VmSummarySchema>;

export const VmDetailSchema = VmSummarySchema.extend({
  cpuCountMin: z.number().int().optional(),
  memorySizeMin: z.number().optional(),
  macAddress: z.string().optional(),
  diskFormat: z.enum(['raw', 'asif']).optional(),
  /** Which backend would run it here, and whether it can. */
  backend: z.enum(['qemu', 'vz']).optional(),
  canRun: z.object({ ok: z.boolean(), reason: z.string().optional(), fix: z.string().optional() }),
  /** When running: how to reach it. */
  ip: z.string().optional(),
  ssh: z.object({ host: z.string(), port: z.number().int() }).optional(),
  /** When running: whether the clipboard is shared with the guest's agent (false: only typing text works). */
  clipboard: z.boolean().optional(),
  /** Host limits that bound the settings sliders. */
  limits: z.object({ maxCpu: z.number().int(), maxMemory: z.number(), minCpu: z.number().int(), minMemory: z.number() }),
});
export type VmDetail = z.infer<typeof VmDetailSchema>;

export const CachedImageSchema = z.object({
  /** As Tart lists it: host/ns:tag or host/ns@sha256:… */
  name: z.string(),
  kind: z.enum(['tag', 'digest']),
  digest: z.string(),
  disk: DiskSizesSchema,
  accessedAt: z.string(),
});
export type CachedImage = z.infer<typeof CachedImageSchema>;

export const BackendInfoSchema = z.object({
  id: z.enum(['qemu', 'vz']),
  available: z.boolean(),
  reason: z.string().optional(),
  fix: z.string().optional(),
});

export const HostInfoSchema = z.object({
  version: z.string(),
  platform: z.string(),
  arch: z.string(),
  cpus: z.number().int(),
  memory: z.number(),
  /** Free bytes on the volume holding TART_HOME. */
  freeDisk: z.number(),
  home: z.string(),
  backends: z.array(BackendInfoSchema),
  /** What this host cannot do, and why — the UI says so up front instead of failing later. */
  limitations: z.array(z.object({ feature: z.enum(['macos-guests', 'linux-guests', 'arm64-guests', 'amd64-guests', 'native-window']), reason: z.string(), fix: z.string().optional() })),
  /** Which shell serves the UI: native windows exist only in 'electron'. */
  shell: z.enum(['electron', 'web']),
});
export type HostInfo = z.infer<typeof HostInfoSchema>;

export const TaskKindSchema = z.enum(['pull', 'push', 'clone', 'create', 'ipsw-download', 'disk-resize']);
export const TaskStateSchema = z.enum(['running', 'done', 'failed', 'cancelled']);

export const ProgressItemSchema = z.object({
  id: z.string(),
  label: z.string(),
  state: z.enum(['pending', 'active', 'done', 'skipped', 'failed']),
  done: z.number(),
  total: z.number(),
});

export const TaskProgressSchema = z.object({
  step: z.string().optional(),
  done: z.number().optional(),
  total: z.number().optional(),
  unit: z.enum(['bytes', 'items', 'percent']).optional(),
  secondary: z.object({ label: z.string(), done: z.number(), total: z.number(), unit: z.enum(['bytes', 'items', 'percent']) }).optional(),
  items: z.array(ProgressItemSchema).optional(),
  /** Units per second of the main counter, smoothed. */
  rate: z.number().optional(),
  etaSeconds: z.number().optional(),
});
export type TaskProgress = z.infer<typeof TaskProgressSchema>;

export const TaskInfoSchema = z.object({
  id: z.string(),
  kind: TaskKindSchema,
  title: z.string(),
  target: z.object({ vm: z.string().optional(), image: z.string().optional() }),
  state: TaskStateSchema,
  progress: TaskProgressSchema,
  error: ApiErrorSchema.optional(),
  /** e.g. {vm: "new-name"} or {image: "host/ns:tag"} when done. */
  result: z.record(z.string(), z.unknown()).optional(),
  /** A failed/cancelled task that can pick up where it stopped when started again. */
  resumable: z.boolean().optional(),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
});
export type TaskInfo = z.infer<typeof TaskInfoSchema>;

export const DisplayEndpointSchema = z.discriminatedUnion('kind', [
  /** A WebSocket speaking RFB (noVNC). `url` may be relative to the page (web shell) or absolute (desktop). */
  z.object({ kind: z.literal('vnc'), url: z.string() }),
  /** Virtualization.framework: a native window opened with vm.showScreen. */
  z.object({ kind: z.literal('native-window') }),
  /** Running headless: use the serial console. */
  z.object({ kind: z.literal('none'), reason: z.string() }),
]);
export type DisplayEndpoint = z.infer<typeof DisplayEndpointSchema>;

export const IpswEntrySchema = z.object({
  version: z.string(),
  build: z.string(),
  channel: z.enum(['release', 'beta']),
  url: z.string(),
  size: z.number().optional(),
  sha256: z.string().optional(),
  sha1: z.string().optional(),
  minimumHost: z.string().optional(),
});
export type IpswEntry = z.infer<typeof IpswEntrySchema>;

export const IpswInfoSchema = z.object({
  path: z.string(),
  productVersion: z.string(),
  build: z.string(),
  supportedDevices: z.array(z.string()),
  warnings: z.array(z.string()),
});
export type IpswInfo = z.infer<typeof IpswInfoSchema>;

export const TaskRefSchema = z.object({ taskId: z.string() });
