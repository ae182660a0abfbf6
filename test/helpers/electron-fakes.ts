/**
 * Test support for the IPC binding: an in-process stand-in for Electron's ipcMain/ipcRenderer pair and
 * windows/frames, implementing exactly the narrow interfaces ipc-binding.ts is written against.
 * (Electron cannot run here; these are the seams, not mocks of behaviour under test.)
 */
import { EventEmitter } from 'node:events';
import type { Params, RequestName } from '../../app/api/contract';
import type { FrameLike, InvokeEventLike, IpcMainLike, TrustedWindows, WebContentsLike } from '../../app/main/ipc-binding';

export class FakeIpcMain implements IpcMainLike {
  readonly handlers = new Map<string, (event: InvokeEventLike, ...args: unknown[]) => unknown>();
  handle(channel: string, listener: (event: InvokeEventLike, ...args: unknown[]) => unknown): void {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`); // as Electron does
    this.handlers.set(channel, listener);
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }
  /** What Electron does when a renderer calls ipcRenderer.invoke(channel, ...args). */
  async invoke(event: InvokeEventLike, channel: string, ...args: unknown[]): Promise<unknown> {
    const h = this.handlers.get(channel);
    if (!h) throw new Error(`No handler registered for '${channel}'`);
    // Electron structured-clones arguments and results across the process boundary.
    return structuredClone(await h(event, ...structuredClone(args)));
  }
}

export function frame(url: string, parent: FrameLike | null = null): FrameLike {
  return { url, parent };
}

export class FakeWebContents implements WebContentsLike {
  destroyed = false;
  readonly renderer = new EventEmitter();
  constructor(
    readonly id: number,
    public mainFrame: FrameLike,
    private readonly type = 'window',
  ) {}
  isDestroyed(): boolean {
    return this.destroyed;
  }
  getType(): string {
    return this.type;
  }
  send(channel: string, ...args: unknown[]): void {
    this.renderer.emit(channel, { sender: null }, ...structuredClone(args));
  }
}

export class FakeWindows implements TrustedWindows {
  readonly all = new Map<number, FakeWebContents>();
  add(wc: FakeWebContents): FakeWebContents {
    this.all.set(wc.id, wc);
    return wc;
  }
  has(id: number): boolean {
    return this.all.has(id);
  }
  list(): Iterable<WebContentsLike> {
    return this.all.values();
  }
}

/** A valid params object for every request in the contract (the type makes a missing request a compile error). */
export const SAMPLE_PARAMS: { [K in RequestName]: Params<K> } = {
  'host.info': {},
  'vm.list': {},
  'vm.get': { name: 'debian' },
  'vm.create': { name: 'new-vm', os: 'linux', diskSizeGB: 20 },
  'vm.clone': { source: 'debian', name: 'debian-2' },
  'vm.set': { name: 'debian', cpuCount: 2, display: '1024x768' },
  'vm.rename': { name: 'debian', newName: 'debian-old' },
  'vm.delete': { name: 'debian' },
  'vm.thumbnail': { name: 'debian' },
  'vm.revealInFileManager': { name: 'debian' },
  'vm.start': { name: 'debian', graphics: true },
  'vm.stop': { name: 'debian', timeoutSeconds: 30 },
  'vm.pause': { name: 'debian' },
  'vm.resume': { name: 'debian' },
  'vm.suspend': { name: 'debian' },
  'vm.screenshot': { name: 'debian' },
  'vm.ip': { name: 'debian', waitSeconds: 0 },
  'vm.display': { name: 'debian' },
  'vm.showScreen': { name: 'debian' },
  'vm.serialRead': { name: 'debian', offset: 0 },
  'vm.serialWrite': { name: 'debian', data: 'root\n' },
  'image.list': {},
  'image.checkReference': { reference: 'ghcr.io/cirruslabs/debian:latest' },
  'image.pull': { reference: 'ghcr.io/cirruslabs/debian:latest' },
  'image.push': { source: 'debian', targets: ['127.0.0.1:5000/debian:1'] },
  'image.delete': { name: 'ghcr.io/cirruslabs/debian:latest' },
  'image.prune': { olderThanDays: 7 },
  'registry.login': { host: 'ghcr.io', username: 'me', password: 's3cret-token' },
  'registry.logout': { host: 'ghcr.io' },
  'ipsw.catalog': {},
  'ipsw.inspect': { path: '/tmp/restore.ipsw' },
  'ipsw.download': { url: 'https://updates.cdn-apple.com/restore.ipsw' },
  'vm.createMacos': { name: 'sonoma', ipsw: '/tmp/restore.ipsw' },
  'task.list': {},
  'task.cancel': { id: 't1' },
};
