/**
 * What the shell (tray, dock, notifications) knows of the library, kept current from the contract's events.
 * Pure: applyEvent returns the next state and whether the VM list must be fetched again; progress and
 * notification decisions are functions of the state.
 */
import type { TaskInfo, VmState, VmSummary } from '../api/models';

export interface ShellVm {
  name: string;
  state: VmState;
  os?: 'darwin' | 'linux';
  stateReason?: string;
}

export interface ShellState {
  vms: ShellVm[];
  /** Tasks by id: running ones and the last finished ones (the tray lists running tasks only). */
  tasks: TaskInfo[];
  /** macOS: run as a menu-bar-only app (no Dock icon). */
  menuBarOnly: boolean;
}

export const EMPTY_STATE: ShellState = { vms: [], tasks: [], menuBarOnly: false };

/** Finished tasks kept for notification bookkeeping. */
const KEEP_FINISHED = 20;

export function withVmList(state: ShellState, list: readonly VmSummary[]): ShellState {
  return { ...state, vms: list.map((v) => ({ name: v.name, state: v.state, ...(v.os ? { os: v.os } : {}), ...(v.stateReason ? { stateReason: v.stateReason } : {}) })) };
}

export function withTasks(state: ShellState, tasks: readonly TaskInfo[]): ShellState {
  return { ...state, tasks: trimTasks([...tasks]) };
}

export interface EventResult {
  state: ShellState;
  /** The VM list changed in a way an event does not describe: call vm.list again. */
  refetchVms: boolean;
  /** A task moved from running to a final state (for notifications). */
  finished?: { before: TaskInfo; after: TaskInfo };
}

/** Applies one contract event (already validated by the dispatcher's side: these come from app/service). */
export function applyEvent(state: ShellState, event: string, payload: unknown): EventResult {
  if (event === 'vm.state') {
    const p = payload as { name: string; state: VmState; error?: { message: string } };
    const i = state.vms.findIndex((v) => v.name === p.name);
    if (i < 0) return { state, refetchVms: true };
    const vms = state.vms.slice();
    const next: ShellVm = { ...vms[i]!, state: p.state };
    if (p.error?.message) next.stateReason = p.error.message;
    else delete next.stateReason;
    vms[i] = next;
    return { state: { ...state, vms }, refetchVms: false };
  }
  if (event === 'library.changed') {
    const p = payload as { scope: 'vms' | 'images' };
    return { state, refetchVms: p.scope === 'vms' };
  }
  if (event === 'task.updated') {
    const t = payload as TaskInfo;
    const i = state.tasks.findIndex((x) => x.id === t.id);
    const before = i >= 0 ? state.tasks[i] : undefined;
    const tasks = state.tasks.slice();
    if (i >= 0) tasks[i] = t;
    else tasks.push(t);
    const finished = before && before.state === 'running' && t.state !== 'running' ? { before, after: t } : undefined;
    // A finished create/clone/pull changes the library; the service also says so, but be robust.
    return { state: { ...state, tasks: trimTasks(tasks) }, refetchVms: !!finished && t.state === 'done' && (t.kind === 'create' || t.kind === 'clone'), ...(finished ? { finished } : {}) };
  }
  return { state, refetchVms: false };
}

function trimTasks(tasks: TaskInfo[]): TaskInfo[] {
  const running = tasks.filter((t) => t.state === 'running');
  const finished = tasks.filter((t) => t.state !== 'running').slice(-KEEP_FINISHED);
  return [...running, ...finished];
}

/** 0..1 when it is known, null when unknown. */
export function taskFraction(t: TaskInfo): number | null {
  const p = t.progress;
  if (p.unit === 'percent' && typeof p.done === 'number') return clamp01(p.done / 100);
  if (typeof p.done === 'number' && typeof p.total === 'number' && p.total > 0) return clamp01(p.done / p.total);
  return null;
}

/**
 * The dock/taskbar progress (BrowserWindow.setProgressBar): -1 removes it (no running task); 0..1 is the mean
 * of the running tasks' fractions; 2 is "indeterminate" (a running task does not know its total yet).
 */
export function dockProgress(state: ShellState): number {
  const running = state.tasks.filter((t) => t.state === 'running');
  if (running.length === 0) return -1;
  const fractions = running.map(taskFraction);
  if (fractions.some((f) => f === null)) return 2;
  return (fractions as number[]).reduce((a, b) => a + b, 0) / fractions.length;
}

/** Tasks shorter than this finish without a notification (the user saw them in the window). */
export const LONG_TASK_MS = 10_000;

export interface NotificationSpec {
  title: string;
  body: string;
  taskId: string;
}

/**
 * A native notification for a task that just finished: failures always; successes when the task ran long.
 * Nothing when the window is focused (the window shows it) or when the user cancelled it.
 */
export function taskNotification(before: TaskInfo, after: TaskInfo, windowFocused: boolean): NotificationSpec | null {
  if (windowFocused) return null;
  if (before.state !== 'running' || after.state === 'running' || after.state === 'cancelled') return null;
  if (after.state === 'failed') {
    const why = after.error ? `${after.error.message}${after.error.fix ? ` ${after.error.fix}` : ''}` : 'It stopped with an error.';
    return { title: `${after.title} failed`, body: why, taskId: after.id };
  }
  const ms = Date.parse(after.finishedAt ?? '') - Date.parse(after.startedAt);
  if (!(ms >= LONG_TASK_MS)) return null;
  return { title: `${after.title} finished`, body: doneBody(after), taskId: after.id };
}

function doneBody(t: TaskInfo): string {
  const vm = typeof t.result?.vm === 'string' ? t.result.vm : t.target.vm;
  const image = typeof t.result?.image === 'string' ? t.result.image : t.target.image;
  if (t.kind === 'pull' && image) return `${image} is ready.`;
  if (t.kind === 'push' && image) return `${image} is in the registry.`;
  if (vm) return `"${vm}" is ready.`;
  return 'Done.';
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
