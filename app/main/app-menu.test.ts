import { describe, expect, it } from 'vitest';
import { aboutPanelOptions, buildAppMenu } from './app-menu';
import { findItem, type MenuSpec } from './menu-spec';

const all = (m: MenuSpec[]): MenuSpec[] => m.flatMap((i) => [i, ...(i.submenu ? all(i.submenu) : [])]);

describe('app menu', () => {
  it('macOS: the app menu with About and standard roles; Quit goes through the quit flow', () => {
    const m = buildAppMenu({ platform: 'darwin', appName: 'Nestbox', dev: false, menuBarOnly: false });
    expect(m.map((i) => i.label)).toEqual(['Nestbox', 'File', 'Edit', 'View', 'Window']);
    const appMenu = m[0]!.submenu!;
    expect(appMenu.map((i) => i.role).filter(Boolean)).toEqual(['about', 'services', 'hide', 'hideOthers', 'unhide']);
    expect(findItem(m, (i) => i.role === 'quit')).toBeUndefined();
    expect(findItem(m, (i) => i.label === 'Quit Nestbox')).toMatchObject({ accelerator: 'Cmd+Q', action: { type: 'quit' } });
    expect(m[2]).toEqual({ label: 'Edit', role: 'editMenu' });
    expect(m[4]!.role).toBe('window');
  });

  it('Nestbox actions have keyboard shortcuts', () => {
    const m = buildAppMenu({ platform: 'linux', appName: 'Nestbox', dev: false, menuBarOnly: false });
    const byAction = (type: string) => findItem(m, (i) => i.action?.type === type);
    expect(byAction('new-vm')?.accelerator).toBe('CmdOrCtrl+N');
    expect(byAction('pull')?.accelerator).toBe('CmdOrCtrl+Shift+P');
    expect(byAction('open-file')?.accelerator).toBe('CmdOrCtrl+O');
    expect(byAction('quit')?.accelerator).toBe('Ctrl+Q');
    const accels = all(m).map((i) => i.accelerator).filter(Boolean);
    expect(new Set(accels).size).toBe(accels.length);
  });

  it('DevTools and reload only in development', () => {
    const prod = buildAppMenu({ platform: 'linux', appName: 'Nestbox', dev: false, menuBarOnly: false });
    expect(findItem(prod, (i) => i.role === 'toggleDevTools' || i.role === 'reload')).toBeUndefined();
    const dev = buildAppMenu({ platform: 'linux', appName: 'Nestbox', dev: true, menuBarOnly: false });
    expect(findItem(dev, (i) => i.role === 'toggleDevTools')).toBeDefined();
  });

  it('About shows the app and runtime versions', () => {
    const a = aboutPanelOptions('Nestbox', { app: '0.1.0', electron: '45.5.0', chrome: '142.0.1', node: '22.20.0', v8: '14.2' });
    expect(a.applicationVersion).toBe('0.1.0');
    expect(a.version).toBe('Electron 45.5.0 · Chromium 142.0.1 · Node 22.20.0 · V8 14.2');
  });
});
