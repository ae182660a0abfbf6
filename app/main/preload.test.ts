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
import { EVENT_CHANNEL, INVOKE_CHANNEL, bindIpc } from './ipc-binding';
import { APP_ENTRY_URL } from './window-options';

const world: Record<string, unknown> = {};
const ipcMain = new FakeIpcMain();
const windows = new FakeWindows();
const win = windows.add(new FakeWebContents(1, frame(APP_ENTRY_URL)));
const rendererIpc = win.renderer as EventEmitter;
const invokeChannels: string[] = [];

vi.mock('electron', () => ({
  contextBridge: {
    exposeInMainWorld(key: string, api: unknown) {
      world[key] = api;
    },
  },
  ipcRenderer: {
    invoke(channel: string, ...args: unknown[]) {
      invokeChannels.push(channel);
      return ipcMain.invoke({ sender: win, senderFrame: win.mainFrame }, channel, ...args);
    },
    on: (channel: string, l: (...a: unknown[]) => void) => rendererIpc.on(channel, l),
    removeListener: (channel: string, l: (...a: unknown[]) => void) => rendererIpc.removeListener(channel, l),
  },
}));

const handlers = Object.fromEntries(REQUEST_NAMES.map((m) => [m, () => null])) as unknown as Handlers<null>;
handlers['vm.list'] = () => [{ name: 'debian', state: 'stopped', disk: { apparent: 20e9, allocated: 1e9 }, accessedAt: '2026-11-29T15:00:00.000Z' }];
handlers['image.checkReference'] = ({ reference }) => ({ ok: reference.includes('/'), ...(reference.includes('/') ? {} : { reason: 'needs a host' }) });
handlers['vm.delete'] = ({ name }) => {
  throw Object.assign(new Error(`VM "${name}" does not exist.`), { name: 'NestboxError', code: 'NOT_FOUND', fix: 'Check the name with `nestbox list`.' });
};
const binding = bindIpc({ ipc: ipcMain, dispatch: createDispatcher(handlers), windows, context: () => null });

beforeAll(async () => {
  await import('../preload/preload');
});

describe('preload', () => {
  it('exposes exactly one global, `nestbox`, with exactly invoke and subscribe', () => {
    expect(Object.keys(world)).toEqual(['nestbox']);
    const bridge = world.nestbox as Record<string, unknown>;
    expect(Object.keys(bridge).sort()).toEqual(['invoke', 'subscribe']);
    expect(typeof bridge.invoke).toBe('function');
    expect(typeof bridge.subscribe).toBe('function');
  });

  it('carries requests on the channel main handles, with results and errors intact', async () => {
    const client = createClient(world.nestbox as NestboxBridge);
    await expect(client.request('vm.list', {})).resolves.toEqual([expect.objectContaining({ name: 'debian', state: 'stopped' })]);
    await expect(client.request('image.checkReference', { reference: 'debian' })).resolves.toEqual({ ok: false, reason: 'needs a host' });
    await expect(client.request('vm.delete', { name: 'gone' })).rejects.toMatchObject({ name: 'ApiCallError', code: 'NOT_FOUND', message: 'VM "gone" does not exist.', fix: 'Check the name with `nestbox list`.' });
    expect(new Set(invokeChannels)).toEqual(new Set([INVOKE_CHANNEL]));
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
