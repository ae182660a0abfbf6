import { describe, expect, it } from 'vitest';
import type { TaskInfo, VmState } from '../api/models';
import { TaskInfoSchema } from '../api/models';
import { findItem, toElectronTemplate, type MenuSpec, type ShellAction } from './menu-spec';
import { applyEvent, EMPTY_STATE, withVmList, type ShellState } from './shell-state';
import { buildTrayMenu, TRAY_MAX_VMS, trayToolTip } from './tray-menu';

function vm(name: string, state: VmState, extra: Partial<{ os: 'darwin' | 'linux'; stateReason: string }> = {}) {
  return { name, state, disk: { apparent: 0, allocated: 0 }, accessedAt: '2026-11-29T00:00:00.000Z', ...extra };
}
function task(id: string, over: Partial<TaskInfo> = {}): TaskInfo {
  return TaskInfoSchema.parse({ id, kind: 'pull', title: `Pulling ghcr.io/a/${id}:latest`, target: { image: `ghcr.io/a/${id}:latest` }, state: 'running', progress: {}, startedAt: '2026-11-29T15:00:00.000Z', ...over });
}
const labels = (items: MenuSpec[]) => items.map((i) => (i.type === 'separator' ? '---' : i.label));
const sub = (menu: MenuSpec[], prefix: string) => menu.find((i) => i.label?.startsWith(prefix))!.submenu!;
const actionsOf = (items: MenuSpec[]) => items.filter((i) => i.action).map((i) => [i.label, i.action]);

describe('tray menu', () => {
  it('lists VMs with their state, running first, then the app actions', () => {
    const s = withVmList(EMPTY_STATE, [vm('zeta', 'stopped'), vm('alpha', 'stopped'), vm('debian', 'running'), vm('mac', 'suspended', { os: 'darwin' })]);
    expect(labels(buildTrayMenu(s, { platform: 'linux' }))).toEqual([
      'debian — Running',
      'mac — Suspended',
      'alpha — Stopped',
      'zeta — Stopped',
      '---',
      'Pull Image…',
      'Open Nestbox',
      '---',
      'Quit Nestbox',
    ]);
  });

  it('offers what each state allows', () => {
    const s = withVmList(EMPTY_STATE, [
      vm('stopped', 'stopped'),
      vm('running', 'running'),
      vm('starting', 'starting'),
      vm('paused', 'paused'),
      vm('stopping', 'stopping'),
      vm('suspended', 'suspended'),
      vm('broken', 'broken', { stateReason: 'config.json is not valid JSON' }),
      vm('failed', 'error', { stateReason: 'QEMU exited with code 1' }),
    ]);
    const m = buildTrayMenu(s, { platform: 'linux' });
    expect(actionsOf(sub(m, 'stopped '))).toEqual([['Start', { type: 'vm.start', name: 'stopped' }], ['Show in Nestbox', { type: 'vm.show', name: 'stopped' }]]);
    expect(actionsOf(sub(m, 'running '))).toEqual([
      ['Open Screen', { type: 'vm.screen', name: 'running' }],
      ['Stop', { type: 'vm.stop', name: 'running' }],
      ['Show in Nestbox', { type: 'vm.show', name: 'running' }],
    ]);
    // a stuck start can be stopped
    expect(actionsOf(sub(m, 'starting '))).toContainEqual(['Stop', { type: 'vm.stop', name: 'starting' }]);
    expect(actionsOf(sub(m, 'paused '))).toContainEqual(['Resume', { type: 'vm.resume', name: 'paused' }]);
    expect(actionsOf(sub(m, 'stopping '))).toContainEqual(['Force Stop', { type: 'vm.forceStop', name: 'stopping' }]);
    expect(actionsOf(sub(m, 'suspended '))).toContainEqual(['Resume', { type: 'vm.start', name: 'suspended' }]);
    const broken = sub(m, 'broken ');
    expect(actionsOf(broken)).toEqual([['Show in Nestbox', { type: 'vm.show', name: 'broken' }]]);
    expect(broken[0]).toEqual({ label: 'Broken: config.json is not valid JSON', enabled: false });
    const failed = sub(m, 'failed ');
    expect(failed[0]).toEqual({ label: 'QEMU exited with code 1', enabled: false });
    expect(actionsOf(failed)[0]).toEqual(['Start', { type: 'vm.start', name: 'failed' }]);
  });

  it('updates live from contract events', () => {
    let s: ShellState = withVmList(EMPTY_STATE, [vm('debian', 'stopped')]);
    expect(buildTrayMenu(s, { platform: 'linux' })[0]!.label).toBe('debian — Stopped');
    s = applyEvent(s, 'vm.state', { name: 'debian', state: 'starting' }).state;
    expect(buildTrayMenu(s, { platform: 'linux' })[0]!.label).toBe('debian — Starting…');
    s = applyEvent(s, 'vm.state', { name: 'debian', state: 'running' }).state;
    expect(buildTrayMenu(s, { platform: 'linux' })[0]!.label).toBe('debian — Running');
    expect(trayToolTip(s)).toBe('Nestbox — 1 VM running');
    // a VM the shell has not seen → refetch the list
    expect(applyEvent(s, 'vm.state', { name: 'new', state: 'running' }).refetchVms).toBe(true);
    expect(applyEvent(s, 'library.changed', { scope: 'vms' }).refetchVms).toBe(true);
    expect(applyEvent(s, 'library.changed', { scope: 'images' }).refetchVms).toBe(false);
  });

  it('shows running tasks with their progress', () => {
    let s = withVmList(EMPTY_STATE, []);
    s = applyEvent(s, 'task.updated', task('t1', { progress: { done: 42, total: 100, unit: 'bytes' } })).state;
    s = applyEvent(s, 'task.updated', task('t2', { progress: { step: 'Resolving' } })).state;
    s = applyEvent(s, 'task.updated', task('t3', { state: 'done', finishedAt: '2026-11-29T15:01:00.000Z' })).state;
    const m = buildTrayMenu(s, { platform: 'linux' });
    expect(labels(m).slice(0, 5)).toEqual(['No virtual machines', '---', 'Pulling ghcr.io/a/t1:latest — 42%', 'Pulling ghcr.io/a/t2:latest — Resolving', '---']);
    expect(m[2]!.action).toEqual({ type: 'task.show', id: 't1' });
    expect(trayToolTip(s)).toBe('Nestbox — no VMs running, 2 tasks in progress');
  });

  it('caps the VM list and points to the app for the rest', () => {
    const s = withVmList(EMPTY_STATE, Array.from({ length: TRAY_MAX_VMS + 3 }, (_, i) => vm(`vm-${String(i).padStart(2, '0')}`, 'stopped')));
    const m = buildTrayMenu(s, { platform: 'linux' });
    expect(m.filter((i) => i.submenu)).toHaveLength(TRAY_MAX_VMS);
    expect(findItem(m, (i) => i.label === '3 more in Nestbox…')?.action).toEqual({ type: 'open-window' });
  });

  it('offers "Menu Bar Only" on macOS, reflecting the setting', () => {
    const off = buildTrayMenu(EMPTY_STATE, { platform: 'darwin' });
    expect(findItem(off, (i) => i.label === 'Menu Bar Only')).toMatchObject({ type: 'checkbox', checked: false, action: { type: 'toggle-menu-bar-only' } });
    const on = buildTrayMenu({ ...EMPTY_STATE, menuBarOnly: true }, { platform: 'darwin' });
    expect(findItem(on, (i) => i.label === 'Menu Bar Only')?.checked).toBe(true);
    expect(findItem(buildTrayMenu(EMPTY_STATE, { platform: 'linux' }), (i) => i.label === 'Menu Bar Only')).toBeUndefined();
  });

  it('becomes an Electron template whose clicks run the named actions', () => {
    const s = withVmList(EMPTY_STATE, [vm('debian', 'stopped')]);
    const ran: ShellAction[] = [];
    const t = toElectronTemplate(buildTrayMenu(s, { platform: 'linux' }), (a) => ran.push(a));
    const submenu = t[0]!.submenu as { label?: string; click?: () => void }[];
    submenu.find((i) => i.label === 'Start')!.click!();
    (t.find((i) => i.label === 'Quit Nestbox')!.click as () => void)();
    expect(ran).toEqual([{ type: 'vm.start', name: 'debian' }, { type: 'quit' }]);
    expect(t.find((i) => i.type === 'separator')!.click).toBeUndefined();
  });
});
