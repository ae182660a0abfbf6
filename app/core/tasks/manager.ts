/**
 * The task manager: runs long engine operations (pull, push, clone, create, IPSW download, disk resize) as tasks
 * with an id, a title, a target, progress with a smoothed rate and an ETA, cancellation, a final state and a
 * session history.
 *
 *  - Each task gets a TaskContext (./context.ts); engine code reports progress as often as it likes.
 *  - Listeners get a snapshot per task at most every `minIntervalMs` (default 100 ms → ≤ 10/s per task);
 *    the final state (done / failed / cancelled) is always delivered, at once.
 *  - Tasks declare the resources they use ({vm|image, mode}). Starting a task whose resources conflict with a
 *    running task's, or calling `assertFree()` for a non-task operation (delete, rename, set) on a busy resource,
 *    throws BUSY naming the task in the way and the fix.
 *
 * Plain Node: no contract, no shell. The service maps snapshots to the contract's TaskInfo.
 */
import { randomUUID } from 'node:crypto';
import { NestboxError } from '../errors';
import { cancelledError, type ProgressItem, type ProgressUpdate, type TaskContext } from './context';

export type TaskKind = 'pull' | 'push' | 'clone' | 'create' | 'ipsw-download' | 'disk-resize';
export type TaskState = 'running' | 'done' | 'failed' | 'cancelled';

/** A resource a task uses. Two uses of the same resource conflict unless both are reads. */
export interface TaskResource {
  vm?: string;
  image?: string;
  mode: 'read' | 'write';
}

export interface TaskProgressSnapshot extends ProgressUpdate {
  /** Units of the main counter per second, smoothed (absent until measurable). */
  rate?: number;
  etaSeconds?: number;
}

/** A secret-free, serialisable error (the shape NestboxError.toJSON() gives). */
export interface TaskError {
  code: string;
  message: string;
  fix?: string;
  details?: Record<string, unknown>;
}

export interface TaskSnapshot {
  id: string;
  kind: TaskKind;
  title: string;
  target: { vm?: string; image?: string };
  state: TaskState;
  progress: TaskProgressSnapshot;
  error?: TaskError;
  result?: Record<string, unknown>;
  resumable?: boolean;
  startedAt: string;
  finishedAt?: string;
  /** Human-readable notes from ctx.log() (the last 50). */
  log: string[];
}

export interface TaskSpec<T = unknown> {
  kind: TaskKind;
  title: string;
  target?: { vm?: string; image?: string };
  resources?: TaskResource[];
  run(ctx: TaskContext): Promise<T>;
  /** Maps the operation's return value to the task's `result` (default: a plain object result as is). */
  result?(value: T): Record<string, unknown> | undefined;
  /** Whether a failed or cancelled run can be picked up where it stopped by running it again (e.g. a pull). */
  resumable?: boolean | ((error: TaskError) => boolean);
}

export interface TaskManagerOptions {
  /** Minimum time between two progress snapshots of one task (default 100 ms). */
  minIntervalMs?: number;
  /** Finished tasks kept in the session history (default 500). */
  historyLimit?: number;
  /** Clock (for tests); default Date.now. */
  now?: () => number;
}

export type TaskListener = (snapshot: TaskSnapshot) => void;

/** Time constant of the rate's exponential smoothing. */
const RATE_TAU_MS = 3000;
/** Samples closer than this are accumulated before measuring a rate (avoids noise from bursts). */
const RATE_MIN_SAMPLE_MS = 250;
const LOG_LIMIT = 50;

interface Entry {
  snap: TaskSnapshot;
  spec: TaskSpec<unknown>;
  resources: TaskResource[];
  controller: AbortController;
  settled: Promise<TaskSnapshot>;
  /** Rate measurement. */
  sampleAt: number;
  sampleDone: number;
  rate?: number;
  lastEmitAt: number;
  timer: NodeJS.Timeout | null;
  dirty: boolean;
}

export class TaskManager {
  private readonly tasks = new Map<string, Entry>();
  private readonly listeners = new Set<TaskListener>();
  private readonly minInterval: number;
  private readonly historyLimit: number;
  private readonly now: () => number;
  private closed = false;

  constructor(o: TaskManagerOptions = {}) {
    this.minInterval = o.minIntervalMs ?? 100;
    this.historyLimit = o.historyLimit ?? 500;
    this.now = o.now ?? Date.now;
  }

  /** Subscribes to task snapshots (coalesced; final states always). Returns the unsubscribe function. */
  onUpdate(listener: TaskListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Starts a task. Throws BUSY when one of its resources is used by a running task in a conflicting mode,
   * and CANCELLED-like UNSUPPORTED when the manager is shutting down. The task runs in the background.
   */
  start<T>(spec: TaskSpec<T>): TaskSnapshot {
    if (this.closed) {
      throw new NestboxError('BUSY', `Cannot start "${spec.title}": Nestbox is shutting down.`, { fix: 'Start it again after Nestbox restarts.' });
    }
    const resources = spec.resources ?? [];
    this.assertFree(resources, lowerFirst(spec.title));
    const id = randomUUID();
    const controller = new AbortController();
    const now = this.now();
    const snap: TaskSnapshot = {
      id,
      kind: spec.kind,
      title: spec.title,
      target: { ...(spec.target ?? {}) },
      state: 'running',
      progress: {},
      startedAt: new Date(now).toISOString(),
      log: [],
    };
    const entry: Entry = {
      snap,
      spec: spec as TaskSpec<unknown>,
      resources,
      controller,
      settled: null as unknown as Promise<TaskSnapshot>,
      sampleAt: now,
      sampleDone: 0,
      lastEmitAt: 0,
      timer: null,
      dirty: false,
    };
    this.tasks.set(id, entry);
    const ctx: TaskContext = {
      signal: controller.signal,
      progress: (u) => this.onProgress(entry, u),
      log: (m) => {
        if (snap.state !== 'running') return;
        snap.log.push(String(m));
        if (snap.log.length > LOG_LIMIT) snap.log.splice(0, snap.log.length - LOG_LIMIT);
      },
    };
    this.emitNow(entry);
    entry.settled = Promise.resolve()
      .then(() => {
        // Cancelled before it began: do not start the operation at all.
        if (controller.signal.aborted) throw cancelledError(spec.title);
        return spec.run(ctx);
      })
      .then(
        (value) => {
          // An operation that completes despite a cancel request is done: its result stands.
          const result = spec.result ? spec.result(value) : isPlainObject(value) ? (value as Record<string, unknown>) : undefined;
          this.finish(entry, 'done', undefined, result);
          return { ...snap };
        },
        (e: unknown) => {
          const error = toTaskError(e, controller.signal.aborted);
          const state: TaskState = controller.signal.aborted || error.code === 'CANCELLED' ? 'cancelled' : 'failed';
          this.finish(entry, state, error);
          return { ...snap };
        },
      );
    return clone(snap);
  }

  /** Starts a task and waits for its final state. */
  async run<T>(spec: TaskSpec<T>): Promise<TaskSnapshot> {
    const s = this.start(spec);
    return this.wait(s.id);
  }

  /** Waits for a task's final state. */
  async wait(id: string): Promise<TaskSnapshot> {
    const e = this.entry(id);
    await e.settled;
    return clone(e.snap);
  }

  get(id: string): TaskSnapshot | undefined {
    const e = this.tasks.get(id);
    return e ? clone(e.snap) : undefined;
  }

  /** Running tasks and the session's history, oldest first. */
  list(): TaskSnapshot[] {
    return [...this.tasks.values()].map((e) => clone(e.snap));
  }

  /** Requests cancellation; the task ends as `cancelled` when the operation stops. No-op for finished tasks. */
  cancel(id: string): void {
    const e = this.entry(id);
    if (e.snap.state !== 'running') return;
    e.controller.abort(new NestboxError('CANCELLED', `${e.snap.title} was cancelled.`));
  }

  /**
   * Throws BUSY when a running task uses one of `resources` in a conflicting mode. `what` names the operation
   * being refused, e.g. 'delete VM "x"'.
   */
  assertFree(resources: TaskResource | TaskResource[], what: string): void {
    const wanted = Array.isArray(resources) ? resources : [resources];
    for (const e of this.tasks.values()) {
      if (e.snap.state !== 'running') continue;
      for (const r of wanted) {
        const hit = e.resources.find((x) => conflicts(x, r));
        if (hit) {
          const thing = hit.vm !== undefined ? `VM "${hit.vm}"` : `image "${hit.image}"`;
          throw new NestboxError('BUSY', `Cannot ${what}: ${thing} is in use by the running task "${e.snap.title}".`, {
            fix: 'Wait for that task to finish, or cancel it, and try again.',
            details: { taskId: e.snap.id, task: e.snap.title, kind: e.snap.kind, ...(hit.vm !== undefined ? { vm: hit.vm } : { image: hit.image }) },
          });
        }
      }
    }
  }

  /** Running tasks. */
  running(): TaskSnapshot[] {
    return this.list().filter((t) => t.state === 'running');
  }

  /**
   * Shutdown: refuses new tasks, cancels the running ones and waits (up to timeoutMs) for them to stop.
   * Resolves with the tasks' final snapshots.
   */
  async shutdown(timeoutMs = 10_000): Promise<TaskSnapshot[]> {
    this.closed = true;
    const running = [...this.tasks.values()].filter((e) => e.snap.state === 'running');
    for (const e of running) this.cancel(e.snap.id);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((r) => {
      timer = setTimeout(r, timeoutMs);
      timer.unref?.();
    });
    await Promise.race([Promise.all(running.map((e) => e.settled)), timeout]);
    clearTimeout(timer);
    return running.map((e) => clone(e.snap));
  }

  // ---------------------------------------------------------------------------------------------------------

  private entry(id: string): Entry {
    const e = this.tasks.get(id);
    if (!e) throw new NestboxError('NOT_FOUND', `There is no task "${id}".`, { fix: 'List the tasks to see their ids.', details: { id } });
    return e;
  }

  private onProgress(e: Entry, u: ProgressUpdate): void {
    if (e.snap.state !== 'running' || !u || typeof u !== 'object') return;
    const p = e.snap.progress;
    const now = this.now();
    // A new counter (another unit, or a counter that went backwards: a new step) restarts the rate measurement.
    const phaseChanged = (u.unit !== undefined && p.unit !== undefined && u.unit !== p.unit) || (u.done !== undefined && p.done !== undefined && u.done < p.done);
    if (u.step !== undefined) p.step = u.step;
    if (u.unit !== undefined) p.unit = u.unit;
    if (u.total !== undefined) p.total = u.total;
    if (u.secondary !== undefined) p.secondary = { ...u.secondary };
    if (u.items !== undefined) p.items = mergeItems(p.items, u.items);
    if (u.done !== undefined) {
      if (phaseChanged) {
        e.rate = undefined;
        e.sampleAt = now;
        e.sampleDone = u.done;
        delete p.rate;
        delete p.etaSeconds;
      }
      p.done = u.done;
      this.measure(e, now);
    }
    e.dirty = true;
    this.schedule(e, now);
  }

  private measure(e: Entry, now: number): void {
    const p = e.snap.progress;
    const done = p.done ?? 0;
    const dt = now - e.sampleAt;
    if (dt >= RATE_MIN_SAMPLE_MS) {
      const inst = ((done - e.sampleDone) * 1000) / dt;
      const alpha = 1 - Math.exp(-dt / RATE_TAU_MS);
      e.rate = e.rate === undefined ? inst : alpha * inst + (1 - alpha) * e.rate;
      e.sampleAt = now;
      e.sampleDone = done;
    }
    if (e.rate !== undefined && Number.isFinite(e.rate) && e.rate >= 0) {
      p.rate = e.rate;
      if (p.total !== undefined && e.rate > 0 && p.total >= done) p.etaSeconds = Math.round(((p.total - done) / e.rate) * 10) / 10;
      else delete p.etaSeconds;
    }
  }

  private schedule(e: Entry, now: number): void {
    if (e.timer) return;
    const wait = e.lastEmitAt + this.minInterval - now;
    if (wait <= 0) {
      this.emitNow(e);
      return;
    }
    e.timer = setTimeout(() => {
      e.timer = null;
      if (e.dirty && e.snap.state === 'running') this.emitNow(e);
    }, wait);
    e.timer.unref?.();
  }

  private emitNow(e: Entry): void {
    if (e.timer) {
      clearTimeout(e.timer);
      e.timer = null;
    }
    e.dirty = false;
    e.lastEmitAt = this.now();
    if (this.listeners.size === 0) return;
    const s = clone(e.snap);
    for (const l of this.listeners) {
      try {
        l(s);
      } catch {
        // A listener's failure must not break the task or other listeners.
      }
    }
  }

  private finish(e: Entry, state: TaskState, error?: TaskError, result?: Record<string, unknown>): void {
    const s = e.snap;
    s.state = state;
    s.finishedAt = new Date(this.now()).toISOString();
    delete s.progress.etaSeconds;
    if (state === 'done') {
      if (s.progress.total !== undefined) s.progress.done = s.progress.total;
      if (result) s.result = result;
    } else if (error) {
      s.error = error;
      const r = e.spec.resumable;
      s.resumable = typeof r === 'function' ? safeBool(() => r(error)) : Boolean(r);
    }
    this.emitNow(e);
    this.trimHistory();
  }

  private trimHistory(): void {
    let finished = 0;
    for (const e of this.tasks.values()) if (e.snap.state !== 'running') finished++;
    if (finished <= this.historyLimit) return;
    for (const [id, e] of this.tasks) {
      if (finished <= this.historyLimit) break;
      if (e.snap.state !== 'running') {
        this.tasks.delete(id);
        finished--;
      }
    }
  }
}

export function conflicts(a: TaskResource, b: TaskResource): boolean {
  if (a.mode === 'read' && b.mode === 'read') return false;
  if (a.vm !== undefined && a.vm === b.vm) return true;
  if (a.image !== undefined && a.image === b.image) return true;
  return false;
}

/** Maps anything thrown by an operation to a serialisable, stack-free error. */
export function toTaskError(e: unknown, aborted = false): TaskError {
  const x = e as { name?: unknown; code?: unknown; message?: unknown; fix?: unknown; details?: unknown } | null;
  if (x && typeof x === 'object' && x.name === 'NestboxError' && typeof x.code === 'string' && typeof x.message === 'string') {
    return {
      code: x.code,
      message: x.message,
      ...(typeof x.fix === 'string' ? { fix: x.fix } : {}),
      ...(x.details && typeof x.details === 'object' ? { details: jsonSafe(x.details as Record<string, unknown>) } : {}),
    };
  }
  if (aborted || (x && typeof x === 'object' && x.name === 'AbortError')) {
    return { code: 'CANCELLED', message: 'The operation was cancelled.', fix: 'Run it again to resume where it stopped.' };
  }
  const msg = e instanceof Error ? e.message : String(e);
  return { code: 'INTERNAL', message: `Internal error: ${msg}`, fix: 'Try again; if it keeps happening, report it with "copy details".' };
}

function mergeItems(prev: ProgressItem[] | undefined, next: ProgressItem[]): ProgressItem[] {
  if (!prev || prev.length === 0) return next.map((i) => ({ ...i }));
  const byId = new Map(prev.map((i) => [i.id, i]));
  const out = prev.slice();
  for (const i of next) {
    const old = byId.get(i.id);
    if (old) out[out.indexOf(old)] = { ...i };
    else out.push({ ...i });
  }
  return out;
}

function clone(s: TaskSnapshot): TaskSnapshot {
  return {
    ...s,
    target: { ...s.target },
    progress: { ...s.progress, ...(s.progress.items ? { items: s.progress.items.map((i) => ({ ...i })) } : {}), ...(s.progress.secondary ? { secondary: { ...s.progress.secondary } } : {}) },
    log: s.log.slice(),
    ...(s.result ? { result: { ...s.result } } : {}),
  };
}

function isPlainObject(v: unknown): boolean {
  return v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype;
}

function jsonSafe(d: Record<string, unknown>): Record<string, unknown> {
  try {
    return JSON.parse(JSON.stringify(d)) as Record<string, unknown>;
  } catch {
    return {};
  }
}

function safeBool(f: () => boolean): boolean {
  try {
    return Boolean(f());
  } catch {
    return false;
  }
}

function lowerFirst(s: string): string {
  return s.length > 0 ? s[0]!.toLowerCase() + s.slice(1) : s;
}
