/**
 * The real preload (app/preload/preload.ts) run against a stand-in for Electron's renderer-side modules,
 * wired to the real IPC binding and the real contract client: what the page gets is exactly the bridge, and
 * requests and events travel end to end on the channels main listens on.
 */
import { EventEmitter } from 'node:events';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { REQUEST_NAMES } from '../api/contract';
import { createClient, createDispatcher, type Handlers, type NestboxBridge } from '../api/wire';
import { FakeIpcMain, FakeWebContents, FakeWindows, frame } from '../../test/helpers/electron-fakes';
import { EVENT_CHANNEL, INVOKE_CHANNEL, PICK_FILE_CHANNEL, bindFilePicker, bindIpc, type PickFileOptions } from './ipc-binding';
import { APP_ENTRY_URL } from './window-options';

const world: Record<string, unknown> = {};
const ipcMain = new FakeIpcMain();
const windows = new FakeWindows();
const win = windows.add(new FakeWebContents(1, frame(APP_ENTRY_URL)));
const rendererIpc = win.renderer as EventEmitter;
const invokeChannels: string[] = [];
/** Which webContents/frame the fake renderer's ipcRenderer speaks for (tests switch it to an untrusted one). */
let speaker: { sender: FakeWebContents; frameUrl: string } = { sender: win, frameUrl: APP_ENTRY_URL };

vi.mock('electron', () => ({
  contextBridge: {
    exposeInMainWorld(key: string, api: unknown) {
      world[key] = api;
    },
  },
  ipcRenderer: {
    invoke(channel: string, ...args: unknown[]) {
      invokeChannels.push(channel);
      return ipcMain.invoke({ sender: speaker.sender, senderFrame: frame(speaker.frameUrl) }, channel, ...args);
    },
    on: (channel: string, l: (...a: unknown[]) => void) => rendererIpc.on(channel, l),
    removeListener: (channel: string, l: (...a: unknown[]) => void) => rendererIpc.removeListener(channel, l),
  },
  webUtils: {
    // Electron returns the host path of a File that came from the OS (a drop or an <input type=file>).
    getPathForFile: (file: { hostPath?: string }) => file.hostPath ?? '',
  },
}));

const handlers = Object.fromEntries(REQUEST_NAMES.map((m) => [m, () => null])) as unknown as Handlers<null>;
handlers['vm.list'] = () => [{ name: 'debian', state: 'stopped', disk: { apparent: 20e9, allocated: 1e9 }, accessedAt: '2026-11-29T15:00:00.000Z' }];
handlers['image.checkReference'] = ({ reference }) => ({ ok: reference.includes('/'), ...(reference.includes('/') ? {} : { reason: 'needs a host' }) });
handlers['vm.delete'] = ({ name }) => {
  throw Object.assign(new Error(`VM "${name}" does not exist.`), { name: 'NestboxError', code: 'NOT_FOUND', fix: 'Check the name with `nestbox list`.' });
};
const binding = bindIpc({ ipc: ipcMain, dispatch: createDispatcher(handlers), windows, context: () => null });
const picks: PickFileOptions[] = [];
bindFilePicker({ ipc: ipcMain, windows, pick: async (opts) => (picks.push(opts), '/home/me/Downloads/debian.iso') });

beforeAll(async () => {
  await import('../preload/preload');
});

describe('preload', () => {
  it('exposes exactly `nestbox` (invoke, subscribe) and `nestboxFiles` (pathForFile, pickFile) — no ipcRenderer', () => {
    expect(Object.keys(world).sort()).toEqual(['nestbox', 'nestboxFiles']);
    const bridge = world.nestbox as Record<string, unknown>;
    expect(Object.keys(bridge).sort()).toEqual(['invoke', 'subscribe']);
    expect(Object.keys(world.nestboxFiles as object).sort()).toEqual(['pathForFile', 'pickFile']);
    for (const api of [bridge, world.nestboxFiles as Record<string, unknown>]) for (const v of Object.values(api)) expect(typeof v).toBe('function');
  });

  it('gives the page the host path of a dropped file, and a native picker with sanitised options', async () => {
    const files = world.nestboxFiles as { pathForFile(f: unknown): string; pickFile(o?: unknown): Promise<string | null> };
    expect(files.pathForFile({ name: 'debian.iso', hostPath: '/home/me/Downloads/debian.iso' })).toBe('/home/me/Downloads/debian.iso');
    await expect(files.pickFile({ title: 'Choose an ISO', extensions: ['.ISO', 'img', '../../etc', 'x'.repeat(40)] })).resolves.toBe('/home/me/Downloads/debian.iso');
    expect(picks).toEqual([{ title: 'Choose an ISO', extensions: ['iso', 'img'] }]);
    speaker = { sender: win, frameUrl: 'https://evil.example/' };
    try {
      await expect(files.pickFile({})).resolves.toBeNull();
      expect(picks).toHaveLength(1);
    } finally {
      speaker = { sender: win, frameUrl: APP_ENTRY_URL };
    }
    expect(invokeChannels).toContain(PICK_FILE_CHANNEL);
  });

  it('carries requests on the channel main handles, with results and errors intact', async () => {
    const client = createClient(world.nestbox as NestboxBridge);
    await expect(client.request('vm.list', {})).resolves.toEqual([expect.objectContaining({ name: 'debian', state: 'stopped' })]);
    await expect(client.request('image.checkReference', { reference: 'debian' })).resolves.toEqual({ ok: false, reason: 'needs a host' });
    await expect(client.request('vm.delete', { name: 'gone' })).rejects.toMatchObject({ name: 'ApiCallError', code: 'NOT_FOUND', message: 'VM "gone" does not exist.', fix: 'Check the name with `nestbox list`.' });
    expect(invokeChannels.filter((c) => c !== PICK_FILE_CHANNEL).every((c) => c === INVOKE_CHANNEL)).toBe(true);
    expect(invokeChannels).toContain(INVOKE_CHANNEL);
  });

  it('delivers events from main to subscribers (validated by the client) and stops after unsubscribe', () => {
    const bridge = world.nestbox as NestboxBridge;
    const client = createClient(bridge);
    const seen: unknown[] = [];
    const raw: unknown[][] = [];
    const off = client.on('library.changed', (p) => seen.push(p));
    const offRaw = bridge.subscribe((...args) => raw.push(args));
    binding.broadcast('library.changed', { scope: 'vms', names: ['debian'] });
    binding.broadcast('library.changed', { scope: 'nonsense' }); // malformed: the client drops it
    expect(seen).toEqual([{ scope: 'vms', names: ['debian'] }]);
    // The listener gets (event, payload) — never Electron's event object (which exposes ipcRenderer).
    expect(raw[0]).toEqual(['library.changed', { scope: 'vms', names: ['debian'] }]);
    off();
    offRaw();
    expect(rendererIpc.listenerCount(EVENT_CHANNEL)).toBe(1); // the client's own subscription remains
    binding.broadcast('library.changed', { scope: 'images' });
    expect(seen).toHaveLength(1);
    expect(raw).toHaveLength(2);
  });
});
