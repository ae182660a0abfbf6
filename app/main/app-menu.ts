/**
 * The application menu: the platform's standard roles (edit, window, view), Nestbox's own actions with
 * keyboard shortcuts, and the About panel's contents. Pure (a MenuSpec tree); main turns it into a Menu.
 */
import type { MenuSpec } from './menu-spec';
import { separator } from './menu-spec';

export interface AppMenuOptions {
  platform: NodeJS.Platform;
  appName: string;
  /** Development builds get Reload and DevTools; packaged builds do not. */
  dev: boolean;
  menuBarOnly: boolean;
}

export function buildAppMenu(o: AppMenuOptions): MenuSpec[] {
  const mac = o.platform === 'darwin';
  const fileMenu: MenuSpec[] = [
    // The page handles Mod+N and Mod+Shift+P itself (app/renderer/src/lib/shortcuts.ts): shown, not registered.
    { label: 'New Virtual Machine…', accelerator: 'CmdOrCtrl+N', registerAccelerator: false, action: { type: 'new-vm' } },
    { label: 'Pull Image…', accelerator: 'CmdOrCtrl+Shift+P', registerAccelerator: false, action: { type: 'pull' } },
    { label: 'Open Image File…', accelerator: 'CmdOrCtrl+O', action: { type: 'open-file' } },
    separator,
    { label: mac ? 'Show Library in Finder' : 'Show Library in File Manager', action: { type: 'reveal-library' } },
    separator,
    mac ? { role: 'close' } : { label: 'Close Window', role: 'close', accelerator: 'Ctrl+W' },
    ...(mac ? [] : [{ label: 'Quit Nestbox', accelerator: 'Ctrl+Q', action: { type: 'quit' } } as MenuSpec]),
  ];
  const viewMenu: MenuSpec[] = [
    ...(o.dev ? [{ role: 'reload' } as MenuSpec, { role: 'forceReload' } as MenuSpec, { role: 'toggleDevTools' } as MenuSpec, separator] : []),
    { role: 'resetZoom' },
    { role: 'zoomIn' },
    { role: 'zoomOut' },
    separator,
    { role: 'togglefullscreen' },
  ];
  const windowMenu: MenuSpec[] = mac
    ? [
        { role: 'minimize' },
        { role: 'zoom' },
        separator,
        { label: 'Nestbox', action: { type: 'open-window' } }, // no Cmd+0: that is Actual Size (resetZoom)
        { label: 'Menu Bar Only', type: 'checkbox', checked: o.menuBarOnly, action: { type: 'toggle-menu-bar-only' } },
        separator,
        { role: 'front' },
      ]
    : [{ role: 'minimize' }, { label: 'Nestbox', action: { type: 'open-window' } }];

  const menu: MenuSpec[] = [];
  if (mac) {
    menu.push({
      label: o.appName,
      submenu: [
        { role: 'about' },
        separator,
        { role: 'services' },
        separator,
        { role: 'hide' },
        { role: 'hideOthers' },
        { role: 'unhide' },
        separator,
        // Not role 'quit': quitting goes through the quit flow (running VMs: stop, suspend or leave).
        { label: `Quit ${o.appName}`, accelerator: 'Cmd+Q', action: { type: 'quit' } },
      ],
    });
  }
  menu.push({ label: 'File', submenu: fileMenu });
  menu.push({ label: 'Edit', role: 'editMenu' });
  menu.push({ label: 'View', submenu: viewMenu });
  menu.push({ label: 'Window', role: mac ? 'window' : undefined, submenu: windowMenu });
  if (!mac) menu.push({ label: 'Help', submenu: [{ role: 'about', label: `About ${o.appName}` }] });
  return menu.map((m) => (m.role === undefined ? stripUndefinedRole(m) : m));
}

function stripUndefinedRole(m: MenuSpec): MenuSpec {
  const { role: _r, ...rest } = m;
  return rest;
}

export interface Versions {
  app: string;
  electron?: string;
  chrome?: string;
  node?: string;
  v8?: string;
}

/** The About panel (app.setAboutPanelOptions): the app's version and the runtime's. */
export function aboutPanelOptions(appName: string, v: Versions): { applicationName: string; applicationVersion: string; version: string; copyright: string; credits: string } {
  const runtime = [v.electron && `Electron ${v.electron}`, v.chrome && `Chromium ${v.chrome}`, v.node && `Node ${v.node}`, v.v8 && `V8 ${v.v8}`].filter(Boolean).join(' · ');
  return {
    applicationName: appName,
    applicationVersion: v.app,
    version: runtime,
    copyright: 'MIT License',
    credits: 'Virtual machines in Tart’s format, run with Virtualization.framework or QEMU.',
  };
}
