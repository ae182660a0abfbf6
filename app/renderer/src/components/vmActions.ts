import type { VmState } from '../../../api';
import { toError, type Stores } from '../stores';
import { loadClipboardPref, loadSharedDirs } from '../lib/sharedDirs';
import { copyText } from '../lib/clipboard';

export type VmAction = 'open' | 'start' | 'stop' | 'forceStop' | 'pause' | 'resume' | 'suspend' | 'settings' | 'clone' | 'rename' | 'push' | 'reveal' | 'delete';

export interface ActionItem {
  action: VmAction;
  label: string;
  shortcut?: string;
  danger?: boolean;
  separatorBefore?: boolean;
}

const isMac = typeof navigator !== 'undefined' && /Mac/.test(navigator.platform);
export const MOD = isMac ? '⌘' : 'Ctrl+';

/** The actions that make sense for a VM in `state`, in menu order. */
export function actionsFor(state: VmState): ActionItem[] {
  const items: ActionItem[] = [{ action: 'open', label: 'Open', shortcut: 'Enter' }];
  if (state === 'stopped' || state === 'suspended' || state === 'error') items.push({ action: 'start', label: state === 'suspended' ? 'Resume from suspend' : 'Start' });
  if (state === 'running') items.push({ action: 'stop', label: 'Stop' }, { action: 'pause', label: 'Pause' }, { action: 'suspend', label: 'Suspend' });
  if (state === 'paused') items.push({ action: 'resume', label: 'Resume' }, { action: 'stop', label: 'Stop' });
  if (state === 'starting' || state === 'stopping' || state === 'suspending') items.push({ action: 'forceStop', label: 'Force stop' });
  items.push(
    { action: 'settings', label: 'Settings…', separatorBefore: true },
    { action: 'clone', label: 'Clone…' },
    { action: 'rename', label: 'Rename…' },
    { action: 'push', label: 'Push to registry…' },
    { action: 'reveal', label: 'Show in file manager' },
    { action: 'delete', label: 'Delete…', shortcut: 'Del', danger: true, separatorBefore: true },
  );
  return items;
}

/** Runs a VM action, reporting failures as toasts with the engine's message and fix. */
export async function runVmAction(stores: Stores, name: string, action: VmAction): Promise<void> {
  const ui = stores.ui.getState();
  const api = stores.client;
  try {
    switch (action) {
      case 'open':
        return ui.navigate({ view: 'vm', name, tab: 'screen' });
      case 'settings':
        return ui.navigate({ view: 'vm', name, tab: 'settings' });
      case 'start': {
        const dirs = loadSharedDirs(name);
        const clip = loadClipboardPref(name);
        await api.request('vm.start', { name, ...(dirs.length ? { sharedDirs: dirs } : {}), ...(clip !== 'auto' ? { clipboard: clip === 'on' } : {}) });
        return;
      }
      case 'stop':
        await api.request('vm.stop', { name });
        return;
      case 'forceStop':
        await api.request('vm.stop', { name, force: true });
        return;
      case 'pause':
        await api.request('vm.pause', { name });
        return;
      case 'resume':
        await api.request('vm.resume', { name });
        return;
      case 'suspend':
        await api.request('vm.suspend', { name });
        return;
      case 'clone':
        return ui.open({ kind: 'clone', source: name });
      case 'rename':
        return ui.open({ kind: 'rename', name });
      case 'push':
        return ui.open({ kind: 'push', name });
      case 'delete':
        return ui.open({ kind: 'delete', name });
      case 'reveal': {
        const { path } = await api.request('vm.revealInFileManager', { name });
        const host = stores.host.getState().info;
        if (host?.shell === 'electron') ui.toast({ tone: 'info', title: `Showing ${name} in the file manager`, description: path });
        else {
          const copied = await copyText(path);
          ui.toast({ tone: 'info', title: `${name} is stored on the server at`, description: `${path}${copied ? ' (path copied)' : ''}` });
        }
        return;
      }
    }
  } catch (e) {
    const err = toError(e);
    ui.toast({ tone: 'error', title: err.message, description: err.fix });
  }
}
