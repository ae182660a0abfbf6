/**
 * The menu-bar (tray) quick launch, built by a pure function from the shell's state:
 *
 *   debian-12 — Running            ▸ Open Screen · Stop · Show in Nestbox
 *   sonoma — Stopped               ▸ Start · Show in Nestbox
 *   Pulling ghcr.io/…:latest — 42%
 *   ─────
 *   Pull Image…
 *   Open Nestbox
 *   ─────
 *   Menu Bar Only (macOS)
 *   Quit Nestbox
 *
 * Running VMs come first. Actions that the state forbids are absent or disabled, never "click to get an
 * error": a VM that is starting can be stopped (a stuck start must be stoppable), a VM that is stopping can
 * be forced off, a broken VM only says why.
 */
import type { VmState } from '../api/models';
import type { MenuSpec } from './menu-spec';
import { separator } from './menu-spec';
import type { ShellState, ShellVm } from './shell-state';
import { taskFraction } from './shell-state';

export const TRAY_MAX_VMS = 15;
const TRAY_MAX_TASKS = 5;

export const STATE_LABEL: Record<VmState, string> = {
  stopped: 'Stopped',
  starting: 'Starting…',
  running: 'Running',
  paused: 'Paused',
  suspending: 'Suspending…',
  suspended: 'Suspended',
  stopping: 'Stopping…',
  error: 'Error',
  broken: 'Broken',
};

/** Running and moving VMs first, then the rest; by name within each group. */
const STATE_ORDER: Record<VmState, number> = { running: 0, starting: 0, stopping: 0, paused: 1, suspending: 1, suspended: 2, error: 2, stopped: 3, broken: 4 };

export interface TrayMenuOptions {
  platform: NodeJS.Platform;
}

export function buildTrayMenu(state: ShellState, opts: TrayMenuOptions): MenuSpec[] {
  const items: MenuSpec[] = [];
  const vms = [...state.vms].sort((a, b) => STATE_ORDER[a.state] - STATE_ORDER[b.state] || a.name.localeCompare(b.name));
  if (vms.length === 0) {
    items.push({ label: 'No virtual machines', enabled: false });
  } else {
    for (const vm of vms.slice(0, TRAY_MAX_VMS)) items.push(vmItem(vm));
    if (vms.length > TRAY_MAX_VMS) items.push({ label: `${vms.length - TRAY_MAX_VMS} more in Nestbox…`, action: { type: 'open-window' } });
  }

  const running = state.tasks.filter((t) => t.state === 'running');
  if (running.length > 0) {
    items.push(separator);
    for (const t of running.slice(0, TRAY_MAX_TASKS)) {
      const f = taskFraction(t);
      const pct = f === null ? (t.progress.step ? ` — ${t.progress.step}` : '') : ` — ${Math.floor(f * 100)}%`;
      items.push({ label: `${t.title}${pct}`, action: { type: 'task.show', id: t.id } });
    }
    if (running.length > TRAY_MAX_TASKS) items.push({ label: `${running.length - TRAY_MAX_TASKS} more tasks…`, action: { type: 'open-window' } });
  }

  items.push(separator);
  items.push({ label: 'Pull Image…', action: { type: 'pull' } });
  items.push({ label: 'Open Nestbox', action: { type: 'open-window' } });
  items.push(separator);
  if (opts.platform === 'darwin') {
    items.push({ label: 'Menu Bar Only', type: 'checkbox', checked: state.menuBarOnly, toolTip: 'Hide Nestbox from the Dock; it stays here in the menu bar.', action: { type: 'toggle-menu-bar-only' } });
  }
  items.push({ label: 'Quit Nestbox', action: { type: 'quit' } });
  return items;
}

function vmItem(vm: ShellVm): MenuSpec {
  const label = `${vm.name} — ${STATE_LABEL[vm.state]}`;
  const show: MenuSpec = { label: 'Show in Nestbox', action: { type: 'vm.show', name: vm.name } };
  const name = vm.name;
  let actions: MenuSpec[];
  switch (vm.state) {
    case 'stopped':
      actions = [{ label: 'Start', action: { type: 'vm.start', name } }];
      break;
    case 'suspended':
      actions = [{ label: 'Resume', action: { type: 'vm.start', name } }];
      break;
    case 'error':
      actions = [{ label: 'Start', action: { type: 'vm.start', name } }];
      break;
    case 'starting':
      actions = [
        { label: 'Open Screen', action: { type: 'vm.screen', name } },
        { label: 'Stop', action: { type: 'vm.stop', name } },
      ];
      break;
    case 'running':
      actions = [
        { label: 'Open Screen', action: { type: 'vm.screen', name } },
        { label: 'Stop', action: { type: 'vm.stop', name } },
      ];
      break;
    case 'paused':
      actions = [
        { label: 'Resume', action: { type: 'vm.resume', name } },
        { label: 'Stop', action: { type: 'vm.stop', name } },
      ];
      break;
    case 'suspending':
      actions = [{ label: 'Suspending…', enabled: false }];
      break;
    case 'stopping':
      actions = [{ label: 'Force Stop', action: { type: 'vm.forceStop', name } }];
      break;
    case 'broken':
      actions = [{ label: vm.stateReason ? `Broken: ${truncate(vm.stateReason, 80)}` : 'Broken: its configuration cannot be read', enabled: false }];
      break;
  }
  if (vm.state === 'error' && vm.stateReason) actions.unshift({ label: truncate(vm.stateReason, 80), enabled: false });
  return { label, submenu: [...actions, separator, show] };
}

/** The tray's tooltip (and, on macOS, nothing is drawn beside the icon — the icon alone stays compact). */
export function trayToolTip(state: ShellState): string {
  const running = state.vms.filter((v) => v.state === 'running' || v.state === 'starting').length;
  const tasks = state.tasks.filter((t) => t.state === 'running').length;
  const parts = [running === 0 ? 'no VMs running' : `${running} VM${running === 1 ? '' : 's'} running`];
  if (tasks > 0) parts.push(`${tasks} task${tasks === 1 ? '' : 's'} in progress`);
  return `Nestbox — ${parts.join(', ')}`;
}

function truncate(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}
