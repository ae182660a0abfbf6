/**
 * Closing and quitting. VMs are not tied to the window: closing it leaves them running (the tray stays);
 * quitting the app with VMs running asks whether to stop them, suspend them, or leave them running
 * (they keep running without the app; the CLI and the next launch see them).
 */
import type { Params } from '../api/contract';
import type { ShellVm } from './shell-state';

/** VMs the quit question is about: anything a hypervisor process is running or moving. */
export function activeVms(vms: readonly ShellVm[]): ShellVm[] {
  return vms.filter((v) => v.state === 'running' || v.state === 'starting' || v.state === 'paused' || v.state === 'suspending' || v.state === 'stopping');
}

export type QuitChoice = 'stop' | 'suspend' | 'leave' | 'cancel';

export interface QuitDialog {
  message: string;
  detail: string;
  buttons: string[];
  choices: QuitChoice[];
  defaultId: number;
  cancelId: number;
}

/** null: nothing runs, quit at once. Otherwise the question to ask (button i means choices[i]). */
export function quitDialog(vms: readonly ShellVm[]): QuitDialog | null {
  const active = activeVms(vms);
  if (active.length === 0) return null;
  const names = active.map((v) => `“${v.name}”`);
  const list = names.length <= 3 ? names.join(', ') : `${names.slice(0, 3).join(', ')} and ${names.length - 3} more`;
  // Suspend keeps the guest's memory (Virtualization.framework, macOS guests); others stop instead.
  const canSuspend = active.some((v) => v.os === 'darwin');
  const choices: QuitChoice[] = ['leave', 'stop', ...(canSuspend ? (['suspend'] as const) : []), 'cancel'];
  const label: Record<QuitChoice, string> = { leave: 'Leave Running', stop: 'Stop and Quit', suspend: 'Suspend and Quit', cancel: 'Cancel' };
  return {
    message: active.length === 1 ? `${list} is running.` : `${active.length} virtual machines are running.`,
    detail:
      (active.length === 1 ? '' : `${list}.\n`) +
      'Leave them running and they keep working without Nestbox (quit them later from the CLI or the next launch). Stop shuts them down' +
      (canSuspend ? '; Suspend saves their state where the VM supports it and stops the others.' : '.'),
    buttons: choices.map((c) => label[c]),
    choices,
    defaultId: 0,
    cancelId: choices.indexOf('cancel'),
  };
}

export type QuitRequest = { method: 'vm.stop'; params: Params<'vm.stop'> } | { method: 'vm.suspend'; params: Params<'vm.suspend'> };

/** The requests to send before quitting, for the user's choice. */
export function quitRequests(choice: QuitChoice, vms: readonly ShellVm[]): QuitRequest[] {
  if (choice === 'leave' || choice === 'cancel') return [];
  return activeVms(vms)
    .filter((v) => v.state !== 'stopping')
    .map((v): QuitRequest => (choice === 'suspend' && v.os === 'darwin' && v.state === 'running' ? { method: 'vm.suspend', params: { name: v.name } } : { method: 'vm.stop', params: { name: v.name, timeoutSeconds: 30 } }));
}

/**
 * window-all-closed: quit only where there is no tray to come back from and nothing runs.
 * macOS apps stay alive without windows (the Dock or the menu-bar icon reopens one).
 */
export function quitWhenAllWindowsClosed(o: { platform: NodeJS.Platform; hasTray: boolean; vms: readonly ShellVm[] }): boolean {
  if (o.platform === 'darwin') return false;
  if (o.hasTray) return false;
  return activeVms(o.vms).length === 0;
}
