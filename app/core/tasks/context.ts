import { NestboxError } from '../errors';

/**
 * What long engine operations (pull, push, clone, create, IPSW download, disk resize) receive to report
 * progress and observe cancellation. The task manager (app/core/tasks/manager.ts) implements it, adds ids,
 * rate/ETA and ≤10 events/s coalescing; the CLI implements it as a progress bar; tests can pass NOOP_TASK.
 * Engine code calls `progress()` as often as it likes — consumers coalesce.
 */
export type ProgressUnit = 'bytes' | 'items' | 'percent';

export interface ProgressItem {
  /** Stable id within the task, e.g. a layer digest. */
  id: string;
  label: string;
  state: 'pending' | 'active' | 'done' | 'skipped' | 'failed';
  done: number;
  total: number;
}

export interface ProgressUpdate {
  /** Current step, in words a user understands ("Downloading disk layers"). */
  step?: string;
  /** Main counter (e.g. uncompressed disk bytes written). */
  done?: number;
  total?: number;
  unit?: ProgressUnit;
  /** Secondary counter (e.g. compressed bytes transferred). */
  secondary?: { label: string; done: number; total: number; unit: ProgressUnit };
  /** Per-item detail (e.g. per-layer state). Send the full list or only changed items; consumers merge by id. */
  items?: ProgressItem[];
}

export interface TaskContext {
  readonly signal: AbortSignal;
  progress(update: ProgressUpdate): void;
  /** Human-readable notes (warnings, "waiting for lock…"). Never secrets. */
  log(message: string): void;
}

export const NOOP_TASK: TaskContext = {
  signal: new AbortController().signal,
  progress() {},
  log() {},
};

export function cancelledError(what = 'The operation'): NestboxError {
  return new NestboxError('CANCELLED', `${what} was cancelled.`, { fix: 'Run it again to resume where it stopped.' });
}

export function throwIfCancelled(signal: AbortSignal, what?: string): void {
  if (signal.aborted) throw cancelledError(what);
}

/**
 * Rate-limits a progress sender: `request()` sends at most once per `intervalMs`; a request inside the interval is
 * deferred to its end, so the latest state is never dropped. `request(true)` sends now (e.g. the final state);
 * `cancel()` drops a deferred send (call it when the operation ends).
 */
export function coalesce(send: () => void, intervalMs = 100): { request(force?: boolean): void; cancel(): void } {
  let last = 0;
  let trailing: NodeJS.Timeout | null = null;
  const cancel = () => {
    if (trailing) clearTimeout(trailing);
    trailing = null;
  };
  const request = (force = false) => {
    const now = Date.now();
    if (!force && now - last < intervalMs) {
      trailing ??= setTimeout(() => {
        trailing = null;
        request(true);
      }, intervalMs - (now - last));
      return;
    }
    cancel();
    last = now;
    send();
  };
  return { request, cancel };
}
