/**
 * Electron main process entry (package.json "main": dist/main/main.js; `electron <repo root>` in development).
 *
 * A thin composition of tested modules — nothing here decides anything on its own:
 *   window-options (security posture, app:// protocol)   ipc-binding (contract ⇄ IPC, sender checks)
 *   tray-menu / app-menu / menu-spec (menus as data)      shell-state (events → tray, dock, notifications)
 *   url-scheme / file-open (links and files → requests)   quit-flow (close and quit decisions)
 *   window-state (bounds)   secret-store (safeStorage)    vnc-server (VM screens over loopback WebSocket)
 * The engine is app/service (the same implementation `nestbox serve` hosts).
 *
 * This file cannot run where there is no Electron binary; it is type-checked against electron.d.ts and
 * exercised by e2e/electron/*.e2e.ts where Electron exists.
 */
import { promises as fsp, mkdirSync } from 'node:fs';
import path from 'node:path';
import {
  app,
  BrowserWindow,
  dialog,
  ipcMain,
  Menu,
  nativeImage,
  Notification,
  protocol,
  safeStorage,
  screen,
  session,
  shell,
  Tray,
  type MessageBoxOptions,
  type WebContents,
} from 'electron';
import type { Params, RequestName, Result } from '../api/contract';
import { ApiCallError, createDispatcher } from '../api/wire';
import { writeFileAtomic } from '../core/fsutil';
import { openHome, type Home } from '../core/library/home';
import { defaultSecretStore } from '../core/oci/credentials';
import { VZ_RUNNER_FLAG } from '../core/hypervisor/vz/flag';
import { createService, type Service } from '../service/service';
import { aboutPanelOptions, buildAppMenu } from './app-menu';
import { classifyFile, confirmCreate, extractLaunchTargets, OPENABLE_EXTENSIONS, planCreateFromFile } from './file-open';
import { intent, type Intent } from './intents';
import { bindFilePicker, bindIpc, type IpcBinding, type TrustedWindows } from './ipc-binding';
import { toElectronTemplate, type MenuSpec, type ShellAction } from './menu-spec';
import { quitDialog, quitRequests, quitWhenAllWindowsClosed } from './quit-flow';
import { appSecretStore } from './secret-store';
import { applyEvent, dockProgress, EMPTY_STATE, taskNotification, withTasks, withVmList, type ShellState } from './shell-state';
import { buildTrayMenu, trayToolTip } from './tray-menu';
import { confirmPull, parseNestboxUrl, URL_SCHEME } from './url-scheme';
import { startVncServer, type VncServer } from './vnc-server';
import {
  APP_ENTRY_URL,
  APP_ORIGIN,
  APP_SCHEME,
  appResponseHeaders,
  mainWindowOptions,
  navigationDecision,
  permissionDecision,
  requestAllowed,
  resolveAppAsset,
  windowOpenDecision,
} from './window-options';
import { loadWindowState, restoreWindowState, saveWindowState } from './window-state';

const APP_NAME = 'Nestbox';
const isMac = process.platform === 'darwin';
const distDir = path.resolve(__dirname, '..');
const rendererRoot = path.join(distDir, 'renderer');
const preloadPath = path.join(distDir, 'preload', 'preload.js');
const assetsDir = path.join(app.getAppPath(), 'assets');
/** Set once the engine runs: a vetoed file:// navigation in a window (a local file) is routed here. */
let onDroppedFile: ((file: string) => void) | null = null;

// ---------------------------------------------------------------- before ready

app.setName(APP_NAME);
// e2e and side-by-side runs isolate their profile (settings, credentials, single-instance lock).
if (process.env.NESTBOX_USER_DATA) app.setPath('userData', path.resolve(process.env.NESTBOX_USER_DATA));
app.enableSandbox();

// The app:// origin: standard (relative URLs, origin checks), secure (like https), fetch for assets, and CORS-mode
// requests (Vite's `<script type="module" crossorigin>`) allowed, and V8's code cache kept for its scripts (Chromium
// keeps it only for http(s) unless asked; from the second launch on the renderer skips compiling the bundle, the
// largest part of a cold first render). Must precede 'ready'.
protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true, codeCache: true } }]);

// VZ runner mode: on macOS each Virtualization.framework VM runs in its own process, started as this app's binary
// with VZ_RUNNER_FLAG (app/core/hypervisor/vz: runnerCommand), so VMs outlive the app and the VM gets the main
// queue and windows. Such a process is not a second instance of the UI: no lock, no window, no Dock icon.
const runnerArgIndex = process.argv.indexOf(VZ_RUNNER_FLAG);
const gotLock = runnerArgIndex < 0 && app.requestSingleInstanceLock();
if (runnerArgIndex >= 0) {
  app.dock?.hide();
  void app.whenReady().then(async () => {
    const { runVzRunnerProcess } = require('../core/hypervisor/vz/runner-main') as typeof import('../core/hypervisor/vz/runner-main');
    app.exit(await runVzRunnerProcess(process.argv[runnerArgIndex + 1], 'main'));
  });
} else if (!gotLock) {
  // A second launch: the first instance receives our argv ('second-instance') and comes forward.
  app.quit();
} else {
  main();
}

function main(): void {
  /** Files and links that arrived before the engine was ready. */
  const pendingFiles: string[] = [];
  const pendingUrls: string[] = [];
  let engine: Engine | null = null;

  app.on('open-file', (event, file) => {
    event.preventDefault();
    if (engine) void engine.openFile(file);
    else pendingFiles.push(file);
  });
  app.on('open-url', (event, url) => {
    event.preventDefault();
    if (engine) void engine.openUrl(url);
    else pendingUrls.push(url);
  });
  app.on('second-instance', (_event, argv, workingDirectory) => {
    const t = extractLaunchTargets(argv, workingDirectory);
    if (!engine) {
      pendingFiles.push(...t.files);
      pendingUrls.push(...t.urls);
      return;
    }
    engine.showWindow();
    for (const f of t.files) void engine.openFile(f);
    for (const u of t.urls) void engine.openUrl(u);
  });

  registerProtocolClient();

  // Guards for every webContents that will ever exist (ours, DevTools, anything unexpected).
  app.on('web-contents-created', (_e, contents) => guardWebContents(contents));

  app
    .whenReady()
    .then(async () => {
      engine = await startEngine();
      const first = extractLaunchTargets(process.argv, process.cwd());
      for (const f of [...pendingFiles.splice(0), ...first.files]) void engine.openFile(f);
      for (const u of [...pendingUrls.splice(0), ...first.urls]) void engine.openUrl(u);
    })
    .catch((e: unknown) => {
      dialog.showErrorBox('Nestbox cannot start', errorText(e));
      app.exit(1);
    });
}

function registerProtocolClient(): void {
  if (process.defaultApp && process.argv.length >= 2) {
    // Development (`electron <repo root>`): the OS must pass the app's path back to Electron.
    app.setAsDefaultProtocolClient(URL_SCHEME, process.execPath, [path.resolve(process.argv[1]!)]);
  } else {
    app.setAsDefaultProtocolClient(URL_SCHEME);
  }
}

function guardWebContents(contents: WebContents): void {
  contents.setWindowOpenHandler(({ url }) => {
    const d = windowOpenDecision(url);
    if (d.action === 'external') void shell.openExternal(d.url);
    return { action: 'deny' };
  });
  contents.on('will-frame-navigate', (event) => {
    const d = navigationDecision(event.url);
    if (d.action === 'allow') return;
    event.preventDefault();
    if (!event.isMainFrame) return; // sub-frames never navigate anywhere but the app
    if (d.action === 'external') void shell.openExternal(d.url);
    else if (d.action === 'open-file') onDroppedFile?.(d.path);
  });
  contents.on('will-redirect', (event) => {
    if (navigationDecision(event.url).action !== 'allow') event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
}

// ---------------------------------------------------------------- the engine and the shell

interface Engine {
  showWindow(): void;
  openFile(file: string): Promise<void>;
  openUrl(url: string): Promise<void>;
}

interface Settings {
  menuBarOnly: boolean;
}

async function startEngine(): Promise<Engine> {
  const userData = app.getPath('userData');
  mkdirSync(userData, { recursive: true });
  const settingsFile = path.join(userData, 'settings.json');
  const windowStateFile = path.join(userData, 'window-state.json');
  const settings: Settings = { menuBarOnly: false, ...(await readJson<Partial<Settings>>(settingsFile)) };
  applyMenuBarOnly(settings.menuBarOnly);

  const home: Home = openHome(process.env);
  const secretStore = appSecretStore(safeStorage, path.join(userData, 'registry-credentials.json'), defaultSecretStore(home));

  // VM screens: loopback WebSocket → VNC, behind a per-launch token and the app's origin.
  let service: Service | null = null;
  const vnc: VncServer = await startVncServer({
    allowedOrigin: APP_ORIGIN,
    target: async (name) => {
      if (!service) throw new Error('Nestbox is starting.');
      return service.vncTarget(name);
    },
  });
  service = createService({
    home,
    shell: 'electron',
    secretStore,
    version: app.getVersion(),
    vncUrl: (name) => vnc.url(name),
    revealInFileManager: (p) => shell.showItemInFolder(p),
    showScreen: async (name) => {
      // Virtualization.framework: asking for the display makes the VM's own process open (or raise) its native
      // window. QEMU: the screen is the in-app VNC view.
      const d = await call('vm.display', { name });
      if (d.kind !== 'native-window') {
        showWindow();
        sendIntent({ kind: 'show-vm', name, screen: true });
      }
    },
  });
  const svc = service;
  const dispatch = createDispatcher(svc.handlers);

  /** Calls the contract from the shell itself (tray, menu, links): same validation as the window's calls. */
  async function call<K extends RequestName>(method: K, params: Params<K>): Promise<Result<K>> {
    const out = await dispatch(method, params, null);
    if (!out.ok) throw new ApiCallError(out.error); // keeps code/message/fix when re-thrown through a handler
    return out.result as Result<K>;
  }

  // ---- protocol, session ----
  protocol.handle(APP_SCHEME, async (request) => {
    const r = resolveAppAsset(request.url, rendererRoot);
    if (!r.ok) return new Response(null, { status: r.status });
    try {
      const body = await fsp.readFile(r.file);
      return new Response(body, { status: 200, headers: appResponseHeaders(r.mime) });
    } catch {
      return new Response(null, { status: 404 });
    }
  });
  const ses = session.defaultSession;
  ses.setPermissionRequestHandler((_wc, permission, callback, details) => callback(permissionDecision(permission, details.requestingUrl)));
  ses.setPermissionCheckHandler((_wc, permission, requestingOrigin) => permissionDecision(permission, requestingOrigin));
  ses.setDevicePermissionHandler(() => false);
  ses.webRequest.onBeforeRequest((details, callback) => callback({ cancel: !requestAllowed(details.url) }));

  // ---- windows and IPC ----
  const windows = new Map<number, BrowserWindow>();
  let mainWindow: BrowserWindow | null = null;
  const trusted: TrustedWindows = {
    has: (id) => windows.has(id),
    list: () => [...windows.values()].filter((w) => !w.isDestroyed()).map((w) => w.webContents),
  };
  const binding: IpcBinding = bindIpc({
    ipc: ipcMain,
    dispatch,
    windows: trusted,
    context: () => null,
    onRejected: (reason, method) => console.warn(`nestbox: refused IPC "${method}": ${reason}`),
  });

  const unbindPicker = bindFilePicker({
    ipc: ipcMain,
    windows: trusted,
    pick: async (opts, sender) => {
      const parent = [...windows.values()].find((w) => !w.isDestroyed() && w.webContents.id === sender.id);
      const o = {
        title: opts.title ?? 'Choose a file',
        properties: ['openFile' as const],
        ...(opts.extensions ? { filters: [{ name: opts.extensions.map((e) => `.${e}`).join(', '), extensions: opts.extensions }] } : {}),
      };
      const r = parent ? await dialog.showOpenDialog(parent, o) : await dialog.showOpenDialog(o);
      return r.canceled ? null : (r.filePaths[0] ?? null);
    },
  });

  /** Brings a view forward in the page (shell.intent); waits until the window's page has loaded. */
  let pageReady = false;
  const pendingIntents: Intent[] = [];
  function deliverIntent(i: Intent): void {
    binding.broadcast('shell.intent', intent(i));
  }
  function sendIntent(i: Intent): void {
    if (mainWindow && pageReady) deliverIntent(i);
    else pendingIntents.push(i);
  }

  async function createWindow(): Promise<BrowserWindow> {
    const displays = screen.getAllDisplays().map((d) => d.workArea);
    const restored = restoreWindowState(await loadWindowState(windowStateFile), displays);
    const win = new BrowserWindow(mainWindowOptions({ preload: preloadPath, bounds: restored.bounds, devTools: !app.isPackaged, icon: path.join(assetsDir, 'icon.png') }));
    const id = win.webContents.id;
    windows.set(id, win);
    mainWindow = win;
    pageReady = false;
    if (restored.maximized) win.maximize();
    if (restored.fullScreen) win.setFullScreen(true);
    win.once('ready-to-show', () => win.show());
    win.webContents.on('did-finish-load', () => {
      pageReady = true;
      // Give the page's scripts a moment to subscribe after load, then deliver what is waiting.
      setTimeout(() => {
        for (const i of pendingIntents.splice(0)) deliverIntent(i);
      }, 500);
    });
    win.webContents.on('render-process-gone', (_e, details) => {
      console.error(`nestbox: the window's renderer ended (${details.reason}); reloading`);
      if (details.reason !== 'clean-exit' && !win.isDestroyed()) win.loadURL(APP_ENTRY_URL).catch(() => {});
    });
    const saveBounds = debounce(() => {
      if (win.isDestroyed()) return;
      void saveWindowState(windowStateFile, { bounds: win.getNormalBounds(), maximized: win.isMaximized(), fullScreen: win.isFullScreen() }).catch(() => {});
    }, 500);
    win.on('resize', saveBounds);
    win.on('move', saveBounds);
    win.on('close', () => {
      void saveWindowState(windowStateFile, { bounds: win.getNormalBounds(), maximized: win.isMaximized(), fullScreen: win.isFullScreen() }).catch(() => {});
    });
    win.on('closed', () => {
      windows.delete(id);
      if (mainWindow === win) mainWindow = null;
    });
    win.on('focus', () => refreshShell());
    // Files dropped on the page are handled by the page (nestboxFiles.pathForFile); a stray file:// navigation is
    // vetoed and routed to the create flow (guardWebContents).
    await win.loadURL(APP_ENTRY_URL);
    return win;
  }

  function showWindow(): void {
    if (isMac && !settings.menuBarOnly) app.dock?.show();
    if (mainWindow && !mainWindow.isDestroyed()) {
      if (mainWindow.isMinimized()) mainWindow.restore();
      mainWindow.show();
      mainWindow.focus();
      return;
    }
    createWindow().catch((e: unknown) => dialog.showErrorBox('Nestbox cannot open its window', errorText(e)));
  }

  // ---- shell state: tray, dock, notifications ----
  let state: ShellState = { ...EMPTY_STATE, menuBarOnly: settings.menuBarOnly };
  let tray: Tray | null = null;
  let traySpec: MenuSpec[] = [];
  let lastProgress = -1;
  const notifications = new Set<Notification>();

  let trayKey = '';
  function refreshShell(): void {
    traySpec = buildTrayMenu(state, { platform: process.platform });
    const key = JSON.stringify(traySpec);
    if (tray && !tray.isDestroyed() && key !== trayKey) {
      // Only when something shown changed: replacing the menu closes it if it is open.
      trayKey = key;
      tray.setContextMenu(Menu.buildFromTemplate(toElectronTemplate(traySpec, runAction)));
      tray.setToolTip(trayToolTip(state));
    }
    const p = dockProgress(state);
    if (p !== lastProgress) {
      lastProgress = p;
      for (const w of windows.values()) if (!w.isDestroyed()) w.setProgressBar(p, p > 1 ? { mode: 'indeterminate' } : undefined);
    }
  }
  const refreshSoon = throttle(refreshShell, 250);

  async function refetchVms(): Promise<void> {
    try {
      state = withVmList(state, await call('vm.list', {}));
      refreshSoon();
    } catch (e) {
      console.warn(`nestbox: cannot list VMs: ${errorText(e)}`);
    }
  }
  const refetchSoon = throttle(() => void refetchVms(), 300);

  function notify(spec: { title: string; body: string; taskId: string }): void {
    if (!Notification.isSupported()) return;
    const n = new Notification({ title: spec.title, body: spec.body, silent: false });
    notifications.add(n);
    n.on('click', () => {
      showWindow();
      sendIntent({ kind: 'show-task', taskId: spec.taskId });
    });
    n.on('close', () => notifications.delete(n));
    n.show();
  }

  svc.events.subscribe((event, payload) => {
    binding.broadcast(event, payload);
    const r = applyEvent(state, event, payload);
    state = r.state;
    if (r.refetchVms) refetchSoon();
    if (r.finished) {
      const focused = !!mainWindow && !mainWindow.isDestroyed() && mainWindow.isFocused();
      const n = taskNotification(r.finished.before, r.finished.after, focused);
      if (n) notify(n);
      refreshShell(); // a final state is never throttled away
    } else {
      refreshSoon();
    }
  });

  // ---- actions from the tray and the menus ----
  async function runVmRequest<K extends 'vm.start' | 'vm.stop' | 'vm.resume' | 'vm.suspend'>(method: K, params: Params<K>): Promise<void> {
    try {
      await call(method, params);
    } catch (e) {
      await showApiError(`Nestbox could not ${method.slice(3)} “${(params as { name: string }).name}”.`, e);
    }
  }

  function runAction(a: ShellAction): void {
    switch (a.type) {
      case 'vm.start':
        void runVmRequest('vm.start', { name: a.name });
        return;
      case 'vm.stop':
        void runVmRequest('vm.stop', { name: a.name });
        return;
      case 'vm.forceStop':
        void runVmRequest('vm.stop', { name: a.name, force: true });
        return;
      case 'vm.resume':
        void runVmRequest('vm.resume', { name: a.name });
        return;
      case 'vm.suspend':
        void runVmRequest('vm.suspend', { name: a.name });
        return;
      case 'vm.screen':
        void (async () => {
          try {
            // For Virtualization.framework VMs this opens their native window.
            if ((await call('vm.display', { name: a.name })).kind === 'native-window') return;
          } catch {
            // shown in the window's screen view, which explains what is wrong
          }
          showWindow();
          sendIntent({ kind: 'show-vm', name: a.name, screen: true });
        })();
        return;
      case 'vm.show':
        showWindow();
        sendIntent({ kind: 'show-vm', name: a.name });
        return;
      case 'task.show':
        showWindow();
        sendIntent({ kind: 'show-task', taskId: a.id });
        return;
      case 'task.cancel':
        void call('task.cancel', { id: a.id }).catch(() => {});
        return;
      case 'pull':
        showWindow();
        sendIntent({ kind: 'pull' });
        return;
      case 'new-vm':
        showWindow();
        sendIntent({ kind: 'new-vm' });
        return;
      case 'open-file':
        void (async () => {
          const parent = mainWindow && !mainWindow.isDestroyed() ? mainWindow : undefined;
          const opts = {
            title: 'Open a restore image, installer ISO or disk image',
            properties: ['openFile' as const],
            filters: [{ name: 'Restore images, ISOs and disk images', extensions: OPENABLE_EXTENSIONS.map((e) => e.slice(1)) }],
          };
          const r = parent ? await dialog.showOpenDialog(parent, opts) : await dialog.showOpenDialog(opts);
          if (!r.canceled && r.filePaths[0]) await openFile(r.filePaths[0]);
        })();
        return;
      case 'reveal-library':
        mkdirSync(home.vms, { recursive: true });
        void shell.openPath(home.vms);
        return;
      case 'open-window':
        showWindow();
        return;
      case 'toggle-menu-bar-only':
        settings.menuBarOnly = !settings.menuBarOnly;
        state = { ...state, menuBarOnly: settings.menuBarOnly };
        applyMenuBarOnly(settings.menuBarOnly);
        void writeFileAtomic(settingsFile, JSON.stringify(settings) + '\n').catch(() => {});
        setAppMenu();
        refreshShell();
        return;
      case 'quit':
        app.quit();
        return;
    }
  }

  async function ask(o: MessageBoxOptions): Promise<number> {
    const parent = mainWindow && !mainWindow.isDestroyed() && mainWindow.isVisible() ? mainWindow : undefined;
    const r = parent ? await dialog.showMessageBox(parent, o) : await dialog.showMessageBox(o);
    return r.response;
  }

  async function showApiError(message: string, e: unknown): Promise<void> {
    const api = e instanceof ApiCallError ? e.toApiError() : null;
    await ask({ type: 'error', message, detail: api ? `${api.message}${api.fix ? `\n\n${api.fix}` : ''}` : errorText(e), buttons: ['OK'] });
  }

  // ---- files and links ----
  async function openFile(file: string): Promise<void> {
    if (!classifyFile(file)) return;
    const r = planCreateFromFile(file, state.vms.map((v) => v.name));
    if (!r.ok) {
      await ask({ type: 'error', message: r.reason, detail: r.fix, buttons: ['OK'] });
      return;
    }
    const d = confirmCreate(r.plan);
    if ((await ask({ type: 'question', ...d })) !== 0) return;
    try {
      const ref = r.plan.request === 'vm.createMacos' ? await call('vm.createMacos', r.plan.params) : await call('vm.create', r.plan.params);
      showWindow();
      sendIntent({ kind: 'show-task', taskId: ref.taskId });
    } catch (e) {
      await showApiError(`Nestbox could not create “${r.plan.params.name}”.`, e);
    }
  }

  async function openUrl(url: string): Promise<void> {
    const parsed = parseNestboxUrl(url);
    if (!parsed.ok) {
      await ask({ type: 'error', message: 'This Nestbox link cannot be opened.', detail: `${parsed.reason}.`, buttons: ['OK'] });
      return;
    }
    showWindow();
    if ((await ask({ type: 'question', ...confirmPull(parsed.link) })) !== 0) return;
    try {
      const ref = await call('image.pull', { reference: parsed.link.reference });
      sendIntent({ kind: 'show-task', taskId: ref.taskId });
    } catch (e) {
      await showApiError(`Nestbox could not pull ${parsed.link.reference}.`, e);
    }
  }
  onDroppedFile = (file) => void openFile(file);

  // ---- app menu, about, tray ----
  function setAppMenu(): void {
    const spec = buildAppMenu({ platform: process.platform, appName: APP_NAME, dev: !app.isPackaged, menuBarOnly: settings.menuBarOnly });
    Menu.setApplicationMenu(Menu.buildFromTemplate(toElectronTemplate(spec, runAction)));
  }
  setAppMenu();
  app.setAboutPanelOptions(aboutPanelOptions(APP_NAME, { app: app.getVersion(), electron: process.versions.electron, chrome: process.versions.chrome, node: process.versions.node, v8: process.versions.v8 }));

  const trayIcon = nativeImage.createFromPath(path.join(assetsDir, isMac ? 'trayTemplate.png' : 'tray.png'));
  if (isMac) trayIcon.setTemplateImage(true);
  tray = new Tray(trayIcon);
  tray.setToolTip(trayToolTip(state));
  if (!isMac) tray.on('click', () => showWindow()); // Windows/KDE: a click opens the app; the menu is on right-click
  refreshShell();

  // ---- lifetime: closing keeps VMs (and the app, with its tray); quitting asks about running VMs ----
  app.on('activate', () => showWindow()); // macOS: Dock icon clicked
  app.on('window-all-closed', () => {
    if (quitWhenAllWindowsClosed({ platform: process.platform, hasTray: !!tray && !tray.isDestroyed(), vms: state.vms })) app.quit();
    else if (isMac && settings.menuBarOnly) app.dock?.hide();
  });

  let quitting: 'no' | 'asking' | 'yes' = 'no';
  app.on('before-quit', (event) => {
    if (quitting === 'yes') return;
    event.preventDefault();
    if (quitting === 'asking') return;
    quitting = 'asking';
    void (async () => {
      await refetchVms();
      const q = quitDialog(state.vms);
      if (q) {
        showWindow();
        const choice = q.choices[await ask({ type: 'question', message: q.message, detail: q.detail, buttons: q.buttons, defaultId: q.defaultId, cancelId: q.cancelId })] ?? 'cancel';
        if (choice === 'cancel') {
          quitting = 'no';
          return;
        }
        const reqs = quitRequests(choice, state.vms);
        const results = await Promise.allSettled(reqs.map((r) => (r.method === 'vm.suspend' ? call('vm.suspend', r.params) : call('vm.stop', r.params))));
        const failed = results.map((r, i) => (r.status === 'rejected' ? `${reqs[i]!.params.name}: ${errorText(r.reason)}` : null)).filter(Boolean);
        if (failed.length > 0) {
          const again = await ask({ type: 'warning', message: 'Some virtual machines did not stop.', detail: failed.join('\n'), buttons: ['Quit Anyway', 'Cancel'], defaultId: 1, cancelId: 1 });
          if (again !== 0) {
            quitting = 'no';
            return;
          }
        }
      }
      quitting = 'yes';
      binding.dispose();
      unbindPicker();
      tray?.destroy();
      await Promise.allSettled([svc.dispose({ timeoutMs: 5000 }), vnc.close()]);
      app.quit();
    })().catch((e: unknown) => {
      console.error(`nestbox: quit failed: ${errorText(e)}`);
      quitting = 'yes';
      app.quit();
    });
  });

  // ---- first data, first window ----
  await svc.ready.catch(() => {});
  await refetchVms();
  try {
    state = withTasks(state, await call('task.list', {}));
  } catch {}
  refreshShell();
  // Menu-bar-only mode starts in the menu bar; otherwise with the window.
  if (!(isMac && settings.menuBarOnly)) showWindow();

  if (process.env.NESTBOX_E2E === '1') {
    // Read-only hooks for e2e/electron (Playwright's electronApp.evaluate runs in this process).
    (globalThis as Record<string, unknown>).__nestboxE2E = {
      trayMenu: () => JSON.parse(JSON.stringify(traySpec)) as unknown,
      trayExists: () => !!tray && !tray.isDestroyed(),
      dockProgress: () => lastProgress,
      vncPort: () => vnc.port,
    };
  }

  return { showWindow, openFile, openUrl };
}

// ---------------------------------------------------------------- small helpers

function applyMenuBarOnly(on: boolean): void {
  if (!isMac) return;
  // 'accessory': no Dock icon and no app menu bar, but windows and the menu-bar item work.
  app.setActivationPolicy(on ? 'accessory' : 'regular');
}

async function readJson<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await fsp.readFile(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

function errorText(e: unknown): string {
  if (e instanceof ApiCallError) return `${e.message}${e.fix ? ` ${e.fix}` : ''}`;
  return e instanceof Error ? e.message : String(e);
}

function debounce(fn: () => void, ms: number): () => void {
  let t: NodeJS.Timeout | null = null;
  return () => {
    if (t) clearTimeout(t);
    t = setTimeout(() => {
      t = null;
      fn();
    }, ms);
  };
}

/** Runs at most once per `ms`, and always once more after the last call. */
function throttle(fn: () => void, ms: number): () => void {
  let last = 0;
  let t: NodeJS.Timeout | null = null;
  return () => {
    const wait = last + ms - Date.now();
    if (wait <= 0 && !t) {
      last = Date.now();
      fn();
      return;
    }
    if (t) return;
    t = setTimeout(() => {
      t = null;
      last = Date.now();
      fn();
    }, Math.max(0, wait));
  };
}
