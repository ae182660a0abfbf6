/**
 * Menus as data. The tray and app menu builders return MenuSpec trees whose items name an action instead of
 * holding a click function, so they are compared in tests as plain values; toElectronTemplate turns them into
 * Electron's template, calling one `run(action)` for every click.
 */
import type { MenuItemConstructorOptions } from 'electron';

export type ShellAction =
  | { type: 'vm.start'; name: string }
  | { type: 'vm.stop'; name: string }
  | { type: 'vm.forceStop'; name: string }
  | { type: 'vm.suspend'; name: string }
  | { type: 'vm.resume'; name: string }
  /** Show the VM's screen: a native window (Virtualization.framework) or the in-app VNC viewer. */
  | { type: 'vm.screen'; name: string }
  /** Show the VM in the library. */
  | { type: 'vm.show'; name: string }
  | { type: 'task.show'; id: string }
  | { type: 'task.cancel'; id: string }
  | { type: 'pull' }
  | { type: 'new-vm' }
  | { type: 'open-file' }
  | { type: 'reveal-library' }
  | { type: 'open-window' }
  | { type: 'toggle-menu-bar-only' }
  | { type: 'quit' };

export type MenuRole = NonNullable<MenuItemConstructorOptions['role']>;

export interface MenuSpec {
  label?: string;
  type?: 'normal' | 'separator' | 'submenu' | 'checkbox' | 'radio';
  role?: MenuRole;
  accelerator?: string;
  /** false: the shortcut is shown but left to the page (the renderer handles the same keys itself). */
  registerAccelerator?: boolean;
  enabled?: boolean;
  checked?: boolean;
  toolTip?: string;
  action?: ShellAction;
  submenu?: MenuSpec[];
}

export const separator: MenuSpec = { type: 'separator' };

export function toElectronTemplate(spec: readonly MenuSpec[], run: (action: ShellAction) => void): MenuItemConstructorOptions[] {
  return spec.map((item) => {
    const out: MenuItemConstructorOptions = {};
    if (item.label !== undefined) out.label = item.label;
    if (item.type !== undefined) out.type = item.type;
    if (item.role !== undefined) out.role = item.role;
    if (item.accelerator !== undefined) out.accelerator = item.accelerator;
    if (item.registerAccelerator !== undefined) out.registerAccelerator = item.registerAccelerator;
    if (item.enabled !== undefined) out.enabled = item.enabled;
    if (item.checked !== undefined) out.checked = item.checked;
    if (item.toolTip !== undefined) out.toolTip = item.toolTip;
    if (item.submenu) out.submenu = toElectronTemplate(item.submenu, run);
    const action = item.action;
    if (action) out.click = () => run(action);
    return out;
  });
}

/** Every action reachable in a menu (tests use it to find items). */
export function findItem(spec: readonly MenuSpec[], pred: (item: MenuSpec) => boolean): MenuSpec | undefined {
  for (const item of spec) {
    if (pred(item)) return item;
    if (item.submenu) {
      const hit = findItem(item.submenu, pred);
      if (hit) return hit;
    }
  }
  return undefined;
}
