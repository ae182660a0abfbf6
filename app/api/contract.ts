/**
 * THE contract: every request and event any shell (Electron IPC, `nestbox serve` WebSocket) carries.
 * Adding a request here without a handler (app/service) or without its binding fails the contract test.
 *
 * Long work (pull, push, clone, create, IPSW download, disk resize) returns `{taskId}` at once and reports
 * through `task.updated` events; the final TaskInfo carries the result or the error.
 */
import { z } from 'zod';
import {
  CachedImageSchema,
  DisplayEndpointSchema,
  HostInfoSchema,
  IpswEntrySchema,
  IpswInfoSchema,
  TaskInfoSchema,
  TaskRefSchema,
  VmDetailSchema,
  VmStateSchema,
  VmSummarySchema,
  ApiErrorSchema,
} from './models';

const Name = z.string().min(1).max(255);
const Void = z.null();

function req<P extends z.ZodType, R extends z.ZodType>(params: P, result: R) {
  return { params, result };
}

export const requests = {
  // ---- host ----
  'host.info': req(z.object({}), HostInfoSchema),

  // ---- library ----
  'vm.list': req(z.object({}), z.array(VmSummarySchema)),
  'vm.get': req(z.object({ name: Name }), VmDetailSchema),
  'vm.create': req(
    z.object({
      name: Name,
      os: z.literal('linux'),
      arch: z.enum(['arm64', 'amd64']).optional(),
      cpuCount: z.number().int().positive().optional(),
      memoryMB: z.number().int().positive().optional(),
      diskSizeGB: z.number().int().positive().max(100_000).optional(),
      /** An installer ISO attached on first runs, or a disk image to copy as the VM's disk. */
      installerIso: z.string().optional(),
      diskImage: z.string().optional(),
    }),
    TaskRefSchema,
  ),
  'vm.clone': req(z.object({ source: Name, name: Name, insecure: z.boolean().optional() }), TaskRefSchema),
  'vm.set': req(
    z.object({
      name: Name,
      cpuCount: z.number().int().optional(),
      memoryMB: z.number().int().optional(),
      /** "WxH", optionally with "pt"/"px" */
      display: z.string().regex(/^\d+x\d+(pt|px)?$/).optional(),
      diskSizeGB: z.number().int().positive().optional(),
      randomMac: z.boolean().optional(),
    }),
    z.object({ vm: VmDetailSchema, warnings: z.array(z.string()) }),
  ),
  'vm.rename': req(z.object({ name: Name, newName: Name }), Void),
  'vm.delete': req(z.object({ name: Name }), Void),
  'vm.thumbnail': req(z.object({ name: Name }), z.object({ png: z.string().nullable() /* base64 */ })),
  'vm.revealInFileManager': req(z.object({ name: Name }), z.object({ path: z.string() })),

  // ---- run control ----
  'vm.start': req(
    z.object({
      name: Name,
      graphics: z.boolean().optional(),
      extraDisks: z.array(z.object({ path: z.string(), readOnly: z.boolean() })).optional(),
      sharedDirs: z.array(z.object({ name: z.string().optional(), path: z.string(), readOnly: z.boolean() })).optional(),
      recovery: z.boolean().optional(),
      /** Share the clipboard through the guest's SPICE agent: true / false (Tart's --no-clipboard) / unset: on where the VM stays suspendable. */
      clipboard: z.boolean().optional(),
    }),
    Void,
  ),
  'vm.stop': req(z.object({ name: Name, timeoutSeconds: z.number().positive().optional(), force: z.boolean().optional() }), Void),
  'vm.pause': req(z.object({ name: Name }), Void),
  'vm.resume': req(z.object({ name: Name }), Void),
  'vm.suspend': req(z.object({ name: Name }), Void),
  'vm.screenshot': req(z.object({ name: Name }), z.object({ png: z.string() /* base64 */ })),
  'vm.ip': req(z.object({ name: Name, waitSeconds: z.number().min(0).max(600).optional() }), z.object({ ip: z.string().nullable() })),
  'vm.display': req(z.object({ name: Name }), DisplayEndpointSchema),
  'vm.showScreen': req(z.object({ name: Name }), Void),
  /** Serial console: the log from `offset` on (offset 0 = start); poll or follow `vm.serial` events. */
  'vm.serialRead': req(z.object({ name: Name, offset: z.number().int().min(0).optional() }), z.object({ text: z.string(), offset: z.number().int() })),
  'vm.serialWrite': req(z.object({ name: Name, data: z.string().max(65536) }), Void),

  // ---- images ----
  'image.list': req(z.object({}), z.array(CachedImageSchema)),
  /** Validate a reference as the user types: ok, or the reason. */
  'image.checkReference': req(z.object({ reference: z.string() }), z.object({ ok: z.boolean(), reason: z.string().optional(), normalized: z.string().optional() })),
  'image.pull': req(z.object({ reference: z.string().min(1), insecure: z.boolean().optional(), concurrency: z.number().int().min(1).max(32).optional() }), TaskRefSchema),
  'image.push': req(
    z.object({
      source: Name,
      targets: z.array(z.string().min(1)).min(1),
      insecure: z.boolean().optional(),
      chunkSizeMB: z.number().int().min(0).optional(),
      compression: z.enum(['lz4', 'zstd']).optional(),
      populateCache: z.boolean().optional(),
    }),
    TaskRefSchema,
  ),
  'image.delete': req(z.object({ name: z.string().min(1) }), Void),
  'image.prune': req(z.object({ olderThanDays: z.number().min(0).optional(), spaceBudgetGB: z.number().min(0).optional() }), z.object({ removed: z.array(z.string()) })),
  'registry.login': req(z.object({ host: z.string().min(1), username: z.string().min(1), password: z.string().min(1), insecure: z.boolean().optional() }), Void),
  'registry.logout': req(z.object({ host: z.string().min(1) }), Void),

  // ---- macOS restore images ----
  'ipsw.catalog': req(z.object({ refresh: z.boolean().optional() }), z.object({ entries: z.array(IpswEntrySchema), fetchedAt: z.string().optional() })),
  'ipsw.inspect': req(z.object({ path: z.string().min(1) }), IpswInfoSchema),
  'ipsw.download': req(z.object({ url: z.string().url() }), TaskRefSchema),
  'vm.createMacos': req(z.object({ name: Name, ipsw: z.string().min(1), diskSizeGB: z.number().int().positive().optional() }), TaskRefSchema),

  // ---- tasks ----
  'task.list': req(z.object({}), z.array(TaskInfoSchema)),
  'task.cancel': req(z.object({ id: z.string() }), Void),
} as const;

export const events = {
  /** A VM changed state (also for VMs started/stopped by the CLI or Tart in another process). */
  'vm.state': z.object({ name: z.string(), state: VmStateSchema, error: ApiErrorSchema.optional() }),
  /** Something in the library changed (VM created/deleted/renamed/config edited, image pulled/deleted): refetch. */
  'library.changed': z.object({ scope: z.enum(['vms', 'images']), names: z.array(z.string()).optional() }),
  /** Task progress and completion, coalesced to ≤ 10 per second per task; the final state always arrives. */
  'task.updated': TaskInfoSchema,
  /**
   * Desktop shell → UI: bring something into view, asked for outside the page (tray, app menu, a notification's
   * click, an opened file or nestbox:// link). Only the Electron shell sends it; the web shell never does.
   */
  'shell.intent': z.discriminatedUnion('kind', [
    /** Select the VM in the library; `screen`: open its screen view. */
    z.object({ kind: z.literal('show-vm'), name: z.string(), screen: z.boolean().optional() }),
    /** Show a task's progress (its task was started by the shell, or the user clicked its notification). */
    z.object({ kind: z.literal('show-task'), taskId: z.string() }),
    /** Open the pull dialog. */
    z.object({ kind: z.literal('pull') }),
    /** Open the new-VM dialog. */
    z.object({ kind: z.literal('new-vm') }),
  ]),
} as const;

export type Requests = typeof requests;
export type RequestName = keyof Requests;
export type Params<K extends RequestName> = z.input<Requests[K]['params']>;
export type Result<K extends RequestName> = z.output<Requests[K]['result']>;
export type Events = typeof events;
export type EventName = keyof Events;
export type EventPayload<K extends EventName> = z.output<Events[K]>;

export const REQUEST_NAMES = Object.keys(requests) as RequestName[];
export const EVENT_NAMES = Object.keys(events) as EventName[];

export function isRequestName(s: unknown): s is RequestName {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(requests, s);
}
export function isEventName(s: unknown): s is EventName {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(events, s);
}
