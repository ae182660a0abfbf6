/**
 * A stand-in for the part of Electron's main-process API that app/main/main.ts uses, recording what main does
 * (windows it opens and their options, handlers it registers, menus it builds, dialogs it shows). It exists
 * only because the Electron binary cannot run here; it lets app/main/main.test.ts execute the real main.ts
 * with the real engine (app/service) on a real TART_HOME and check the composition. Behaviour of Electron
 * itself is not modelled beyond events and return values main.ts relies on.
 */
import { EventEmitter } from 'node:events';

export interface Recorded {
  privilegedSchemes: unknown[];
  sandboxEnabled: boolean;
  singleInstanceRequested: boolean;
  protocolClients: string[];
  protocolHandlers: Map<string, (req: Request) => Promise<Response> | Response>;
  ipcHandlers: Map<string, (event: unknown, ...args: unknown[]) => unknown>;
  windows: FakeBrowserWindow[];
  applicationMenu: unknown[] | null;
  trays: FakeTray[];
  dialogs: { options: Record<string, unknown>; answer: number }[];
  dialogAnswers: number[];
  openedExternally: string[];
  quitCalls: number;
  permissionRequestHandler: ((wc: unknown, permission: string, cb: (ok: boolean) => void, details: { requestingUrl: string }) => void) | null;
  beforeRequest: ((details: { url: string }, cb: (r: { cancel: boolean }) => void) => void) | null;
  activationPolicies: string[];
  notifications: FakeNotification[];
}

export const rec: Recorded = {
  privilegedSchemes: [],
  sandboxEnabled: false,
  singleInstanceRequested: false,
  protocolClients: [],
  protocolHandlers: new Map(),
  ipcHandlers: new Map(),
  windows: [],
  applicationMenu: null,
  trays: [],
  dialogs: [],
  dialogAnswers: [],
  openedExternally: [],
  quitCalls: 0,
  permissionRequestHandler: null,
  beforeRequest: null,
  activationPolicies: [],
  notifications: [],
};

let nextId = 1;

export class FakeWebContents extends EventEmitter {
  readonly id = nextId++;
  destroyed = false;
  url = '';
  windowOpenHandler: ((d: { url: string }) => { action: string }) | null = null;
  sent: unknown[][] = [];
  scripts: string[] = [];
  get mainFrame() {
    return { url: this.url, parent: null };
  }
  isDestroyed() {
    return this.destroyed;
  }
  getType() {
    return 'window';
  }
  send(channel: string, ...args: unknown[]) {
    this.sent.push([channel, ...args]);
  }
  setWindowOpenHandler(h: (d: { url: string }) => { action: string }) {
    this.windowOpenHandler = h;
  }
  executeJavaScript(code: string) {
    this.scripts.push(code);
    return Promise.resolve(undefined);
  }
}

export class FakeBrowserWindow extends EventEmitter {
  static all: FakeBrowserWindow[] = [];
  readonly webContents = new FakeWebContents();
  destroyed = false;
  visible = false;
  progress: number[] = [];
  constructor(readonly options: Record<string, unknown>) {
    super();
    rec.windows.push(this);
    FakeBrowserWindow.all.push(this);
    fakeElectron.app.emit('web-contents-created', {}, this.webContents);
  }
  static getAllWindows() {
    return FakeBrowserWindow.all.filter((w) => !w.destroyed);
  }
  async loadURL(url: string) {
    this.webContents.url = url;
    setImmediate(() => {
      this.emit('ready-to-show');
      this.webContents.emit('did-finish-load');
    });
  }
  isDestroyed() {
    return this.destroyed;
  }
  isMinimized() {
    return false;
  }
  isVisible() {
    return this.visible;
  }
  isFocused() {
    return false;
  }
  isMaximized() {
    return false;
  }
  isFullScreen() {
    return false;
  }
  show() {
    this.visible = true;
  }
  focus() {}
  restore() {}
  maximize() {}
  setFullScreen() {}
  getNormalBounds() {
    return { x: 10, y: 20, width: 1100, height: 700 };
  }
  setProgressBar(p: number) {
    this.progress.push(p);
  }
  close() {
    this.emit('close');
    this.destroyed = true;
    this.webContents.destroyed = true;
    this.emit('closed');
  }
}

export class FakeTray extends EventEmitter {
  menu: unknown[] = [];
  toolTip = '';
  destroyed = false;
  constructor(readonly image: unknown) {
    super();
    rec.trays.push(this);
  }
  setContextMenu(m: { template: unknown[] }) {
    this.menu = m.template;
  }
  setToolTip(t: string) {
    this.toolTip = t;
  }
  isDestroyed() {
    return this.destroyed;
  }
  destroy() {
    this.destroyed = true;
  }
}

export class FakeNotification extends EventEmitter {
  constructor(readonly options: { title: string; body: string }) {
    super();
    rec.notifications.push(this);
  }
  static isSupported() {
    return true;
  }
  show() {}
}

class FakeApp extends EventEmitter {
  readyResolve!: () => void;
  readonly ready = new Promise<void>((r) => (this.readyResolve = r));
  paths: Record<string, string> = {};
  isPackaged = false;
  dock = { show() {}, hide() {} };
  setName() {}
  getName() {
    return 'Nestbox';
  }
  getVersion() {
    return '0.1.0-test';
  }
  getAppPath() {
    return process.env.NESTBOX_TEST_APP_PATH!;
  }
  setPath(name: string, p: string) {
    this.paths[name] = p;
  }
  getPath(name: string) {
    return this.paths[name] ?? `/nonexistent/${name}`;
  }
  enableSandbox() {
    rec.sandboxEnabled = true;
  }
  requestSingleInstanceLock() {
    rec.singleInstanceRequested = true;
    return true;
  }
  setAsDefaultProtocolClient(scheme: string) {
    rec.protocolClients.push(scheme);
    return true;
  }
  whenReady() {
    return this.ready;
  }
  setAboutPanelOptions() {}
  setActivationPolicy(p: string) {
    rec.activationPolicies.push(p);
  }
  quit() {
    rec.quitCalls++;
    const ev = { defaultPrevented: false, preventDefault() {
      this.defaultPrevented = true;
    } };
    this.emit('before-quit', ev);
  }
  exit(code: number) {
    throw new Error(`app.exit(${code})`);
  }
}

const template = (t: unknown[]) => ({ template: t });

export const fakeElectron = {
  app: new FakeApp(),
  BrowserWindow: FakeBrowserWindow,
  Tray: FakeTray,
  Notification: FakeNotification,
  Menu: {
    buildFromTemplate: template,
    setApplicationMenu(m: { template: unknown[] }) {
      rec.applicationMenu = m.template;
    },
  },
  nativeImage: { createFromPath: (p: string) => ({ path: p, setTemplateImage() {} }) },
  ipcMain: {
    handle(channel: string, fn: (event: unknown, ...args: unknown[]) => unknown) {
      if (rec.ipcHandlers.has(channel)) throw new Error(`second handler for ${channel}`);
      rec.ipcHandlers.set(channel, fn);
    },
    removeHandler(channel: string) {
      rec.ipcHandlers.delete(channel);
    },
  },
  protocol: {
    registerSchemesAsPrivileged(s: unknown[]) {
      rec.privilegedSchemes.push(...s);
    },
    handle(scheme: string, fn: (req: Request) => Promise<Response> | Response) {
      rec.protocolHandlers.set(scheme, fn);
    },
  },
  session: {
    defaultSession: {
      setPermissionRequestHandler(h: Recorded['permissionRequestHandler']) {
        rec.permissionRequestHandler = h;
      },
      setPermissionCheckHandler() {},
      setDevicePermissionHandler() {},
      webRequest: {
        onBeforeRequest(h: Recorded['beforeRequest']) {
          rec.beforeRequest = h;
        },
      },
    },
  },
  dialog: {
    async showMessageBox(a: unknown, b?: unknown) {
      const options = (b ?? a) as Record<string, unknown>;
      const answer = rec.dialogAnswers.shift() ?? (options.cancelId as number | undefined) ?? 0;
      rec.dialogs.push({ options, answer });
      return { response: answer, checkboxChecked: false };
    },
    async showOpenDialog() {
      return { canceled: true, filePaths: [] };
    },
    showErrorBox(title: string, content: string) {
      throw new Error(`${title}: ${content}`);
    },
  },
  screen: { getAllDisplays: () => [{ workArea: { x: 0, y: 0, width: 1440, height: 900 } }] },
  shell: {
    async openExternal(url: string) {
      rec.openedExternally.push(url);
    },
    showItemInFolder() {},
    async openPath() {
      return '';
    },
  },
  safeStorage: {
    isEncryptionAvailable: () => false,
    encryptString: () => Buffer.alloc(0),
    decryptString: () => '',
    getSelectedStorageBackend: () => 'basic_text',
  },
};
