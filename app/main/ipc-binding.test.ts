import { describe, expect, it } from 'vitest';
import { REQUEST_NAMES, type RequestName } from '../api/contract';
import { createDispatcher, type Handlers, type InvokeOutcome } from '../api/wire';
import { FakeIpcMain, FakeWebContents, FakeWindows, SAMPLE_PARAMS, frame } from '../../test/helpers/electron-fakes';
import { EVENT_CHANNEL, INVOKE_CHANNEL, bindIpc, checkSender, type InvokeEventLike } from './ipc-binding';
import { APP_ENTRY_URL } from './window-options';

type Ctx = { windowId: number };

/** Handlers for the whole contract that record what reached them. */
function recordingHandlers() {
  const calls: { method: RequestName; params: unknown; ctx: Ctx }[] = [];
  const handlers = Object.fromEntries(
    REQUEST_NAMES.map((m) => [
      m,
      (params: unknown, ctx: Ctx) => {
        calls.push({ method: m, params, ctx });
        return null;
      },
    ]),
  ) as unknown as Handlers<Ctx>;
  return { calls, handlers };
}

function setup() {
  const ipc = new FakeIpcMain();
  const windows = new FakeWindows();
  const win = windows.add(new FakeWebContents(7, frame(APP_ENTRY_URL)));
  const { calls, handlers } = recordingHandlers();
  const rejected: string[] = [];
  const binding = bindIpc<Ctx>({ ipc, dispatch: createDispatcher(handlers), windows, context: (wc) => ({ windowId: wc.id }), onRejected: (r) => rejected.push(r) });
  const fromApp: InvokeEventLike = { sender: win, senderFrame: win.mainFrame };
  return { ipc, windows, win, calls, binding, rejected, fromApp };
}

describe('IPC binding', () => {
  it('dispatches every request of the contract through the one invoke channel', async () => {
    const { ipc, calls, fromApp } = setup();
    for (const method of REQUEST_NAMES) {
      const out = (await ipc.invoke(fromApp, INVOKE_CHANNEL, method, SAMPLE_PARAMS[method])) as InvokeOutcome;
      expect(out, method).toEqual({ ok: true, result: null });
    }
    expect(calls.map((c) => c.method)).toEqual(REQUEST_NAMES);
    for (const c of calls) {
      expect(c.params, c.method).toMatchObject(SAMPLE_PARAMS[c.method] as object);
      expect(c.ctx).toEqual({ windowId: 7 });
    }
  });

  it('validates params before any handler runs and answers with structured errors', async () => {
    const { ipc, calls, fromApp } = setup();
    const bad = (await ipc.invoke(fromApp, INVOKE_CHANNEL, 'vm.set', { name: 'debian', display: 'huge' })) as InvokeOutcome;
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.code).toBe('INVALID_ARGUMENT');
    const unknown = (await ipc.invoke(fromApp, INVOKE_CHANNEL, 'shell.exec', { cmd: 'rm -rf /' })) as InvokeOutcome;
    expect(unknown).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    const extra = (await ipc.invoke(fromApp, INVOKE_CHANNEL, 'vm.list', {}, 'extra')) as InvokeOutcome;
    expect(extra).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    expect(calls).toEqual([]);
  });

  it('refuses sub-frames, DevTools, other webContents, foreign pages and destroyed frames — the handler never runs', async () => {
    const { ipc, windows, win, calls, rejected } = setup();
    const devtools = new FakeWebContents(8, frame('devtools://devtools/bundled/devtools_app.html'), 'remote');
    const stranger = new FakeWebContents(9, frame(APP_ENTRY_URL));
    const webview = windows.add(new FakeWebContents(10, frame(APP_ENTRY_URL), 'webview'));
    const cases: [string, InvokeEventLike][] = [
      ['sub-frame of the app', { sender: win, senderFrame: frame(APP_ENTRY_URL, win.mainFrame) }],
      ['foreign page in our window', { sender: win, senderFrame: frame('https://evil.example/') }],
      ['file page in our window', { sender: win, senderFrame: frame('file:///tmp/x.html') }],
      ['gone frame', { sender: win, senderFrame: null }],
      ['DevTools', { sender: devtools, senderFrame: devtools.mainFrame }],
      ['DevTools with an app-looking frame', { sender: devtools, senderFrame: frame(APP_ENTRY_URL) }],
      ['another webContents', { sender: stranger, senderFrame: stranger.mainFrame }],
      ['a webview in our window list', { sender: webview, senderFrame: webview.mainFrame }],
      ['lookalike origin', { sender: win, senderFrame: frame('app://nestbox.evil/index.html') }],
    ];
    for (const [what, ev] of cases) {
      for (const method of ['vm.list', 'registry.login', 'vm.delete'] as const) {
        const out = (await ipc.invoke(ev, INVOKE_CHANNEL, method, SAMPLE_PARAMS[method])) as InvokeOutcome;
        expect(out, `${what} → ${method}`).toMatchObject({ ok: false, error: { code: 'NOT_ALLOWED' } });
      }
      expect(checkSender(ev, windows).ok, what).toBe(false);
    }
    win.destroyed = true;
    expect((await ipc.invoke({ sender: win, senderFrame: win.mainFrame }, INVOKE_CHANNEL, 'vm.list', {})) as InvokeOutcome).toMatchObject({ ok: false, error: { code: 'NOT_ALLOWED' } });
    expect(calls).toEqual([]);
    expect(rejected.length).toBe(cases.length * 3 + 1);
    // rejection reasons never carry the params (a login's password)
    expect(rejected.join('\n')).not.toContain('s3cret-token');
  });

  it('broadcasts events only to live windows still showing the app', () => {
    const { windows, win, binding } = setup();
    const other = windows.add(new FakeWebContents(11, frame(APP_ENTRY_URL)));
    const navigatedAway = windows.add(new FakeWebContents(12, frame('https://evil.example/')));
    const closed = windows.add(new FakeWebContents(13, frame(APP_ENTRY_URL)));
    closed.destroyed = true;
    const got = new Map<number, unknown[]>();
    for (const wc of [win, other, navigatedAway, closed]) wc.renderer.on(EVENT_CHANNEL, (_e, ...args) => got.set(wc.id, args));
    binding.broadcast('vm.state', { name: 'debian', state: 'running' });
    expect(got.get(7)).toEqual(['vm.state', { name: 'debian', state: 'running' }]);
    expect(got.get(11)).toEqual(['vm.state', { name: 'debian', state: 'running' }]);
    expect(got.has(12)).toBe(false);
    expect(got.has(13)).toBe(false);
  });

  it('dispose removes the handler', async () => {
    const { ipc, binding, fromApp } = setup();
    binding.dispose();
    await expect(ipc.invoke(fromApp, INVOKE_CHANNEL, 'vm.list', {})).rejects.toThrow(/No handler/);
  });
});
