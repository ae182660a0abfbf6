/**
 * The real main.ts, run with the real engine (app/service) on a real TART_HOME, against a recording stand-in
 * for Electron's main-process API (test/helpers/electron-main-standin.ts) — the Electron binary cannot run
 * here. It checks the composition: what is registered before 'ready', the window it opens, the app://
 * protocol, the session guards, the IPC binding with the engine behind it, the tray menu, link handling and
 * the quit flow. What only real Electron can show (pixels, OS integration) is in e2e/electron.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { newLinuxConfig, serializeConfig } from '../core/library/config';
import { waitFor } from '../../test/helpers';
import { fakeElectron, rec, type FakeBrowserWindow } from '../../test/helpers/electron-main-standin';
import { EVENT_CHANNEL, INVOKE_CHANNEL } from './ipc-binding';
import { APP_ENTRY_URL, CONTENT_SECURITY_POLICY, mainWindowOptions } from './window-options';

vi.mock('electron', () => fakeElectron);

const home = mkdtempSync(path.join(os.tmpdir(), 'nestbox-main-home-'));
const userData = mkdtempSync(path.join(os.tmpdir(), 'nestbox-main-profile-'));
const appPath = path.resolve(__dirname, '..', '..');
const saved = { TART_HOME: process.env.TART_HOME, NESTBOX_USER_DATA: process.env.NESTBOX_USER_DATA, HOME: process.env.HOME };
let win: FakeBrowserWindow;

const until = <T>(what: string, fn: () => T | null | undefined | false, ms = 10_000) => waitFor(what, fn, ms, 20);

function invoke(method: string, params: unknown, frameUrl = APP_ENTRY_URL, sender: unknown = win.webContents) {
  const h = rec.ipcHandlers.get(INVOKE_CHANNEL)!;
  return h({ sender, senderFrame: { url: frameUrl, parent: null } }, method, params) as Promise<{ ok: boolean; result?: any; error?: any }>;
}

beforeAll(async () => {
  const dir = path.join(home, 'vms', 'alpine');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'config.json'), serializeConfig(newLinuxConfig({ arch: 'amd64', host: { cpus: 2, memory: 2 * 1024 ** 3 } })));
  writeFileSync(path.join(dir, 'disk.img'), Buffer.alloc(0));
  writeFileSync(path.join(dir, 'nvram.bin'), Buffer.alloc(0));
  process.env.TART_HOME = home;
  process.env.HOME = home;
  process.env.NESTBOX_USER_DATA = userData;
  process.env.NESTBOX_TEST_APP_PATH = appPath;
  await import('./main');
});

afterAll(async () => {
  // Quit through the app's own flow (it disposes the engine and closes the VNC server).
  if (rec.ipcHandlers.size > 0) {
    fakeElectron.app.quit();
    await until('the engine to shut down', () => rec.ipcHandlers.size === 0);
  }
  for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
  else process.env[k] = v;
  rmSync(home, { recursive: true, force: true });
  rmSync(userData, { recursive: true, force: true });
});

describe('main process (composition)', () => {
  it('before ready: privileged app:// scheme, sandbox for every renderer, single instance, nestbox:// client', () => {
    expect(rec.privilegedSchemes).toEqual([{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true, codeCache: true } }]);
    expect(rec.sandboxEnabled).toBe(true);
    expect(rec.singleInstanceRequested).toBe(true);
    expect(rec.protocolClients).toEqual(['nestbox']);
    expect(fakeElectron.app.paths.userData).toBe(userData);
  });

  it('on ready: opens one window with the secure options, on the app origin, with the bundled preload', async () => {
    fakeElectron.app.readyResolve();
    win = await until('the window', () => rec.windows[0]);
    const want = mainWindowOptions({ preload: path.join(appPath, 'app', 'preload', 'preload.js'), devTools: true, platform: process.platform });
    expect(win.options.webPreferences).toEqual({ ...want.webPreferences, preload: expect.stringMatching(/preload[/\\]preload\.js$/) });
    await until('the page to load', () => win.webContents.url === APP_ENTRY_URL);
    await until('the window to show', () => win.visible);
  });

  it('serves the renderer over app:// with the CSP, and nothing outside it', async () => {
    const handle = rec.protocolHandlers.get('app')!;
    const ok = await handle(new Request('app://nestbox/index.html'));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(await ok.text()).toContain('<div id="root">');
    expect((await handle(new Request('app://nestbox/..%2f..%2fpackage.json'))).status).toBe(403);
    expect((await handle(new Request('app://nestbox/missing.js'))).status).toBe(404);
  });

  it('guards the session: permissions denied, remote requests cancelled, links to the browser', async () => {
    const perm = await new Promise<boolean>((r) => rec.permissionRequestHandler!({}, 'media', r, { requestingUrl: APP_ENTRY_URL }));
    expect(perm).toBe(false);
    const cancelled = await new Promise<boolean>((r) => rec.beforeRequest!({ url: 'https://cdn.example.com/x.js' }, (x) => r(x.cancel)));
    expect(cancelled).toBe(true);
    expect(win.webContents.windowOpenHandler!({ url: 'https://github.com/' })).toEqual({ action: 'deny' });
    const ev = { url: 'https://example.com/', isMainFrame: true, prevented: false, preventDefault() {
      this.prevented = true;
    } };
    win.webContents.emit('will-frame-navigate', ev);
    expect(ev.prevented).toBe(true);
    await until('the link to open externally', () => rec.openedExternally.length === 2);
    expect(rec.openedExternally).toEqual(['https://github.com/', 'https://example.com/']);
  });

  it('binds the contract to IPC with the engine behind it, and checks senders', async () => {
    const list = await invoke('vm.list', {});
    expect(list.ok).toBe(true);
    expect(list.result.map((v: { name: string; state: string }) => [v.name, v.state])).toEqual([['alpine', 'stopped']]);
    const host = await invoke('host.info', {});
    expect(host.result.shell).toBe('electron');
    expect(await invoke('vm.list', {}, 'https://evil.example/')).toMatchObject({ ok: false, error: { code: 'NOT_ALLOWED' } });
  });

  it('builds the tray menu from the library and keeps it current', async () => {
    const tray = rec.trays[0]!;
    const labels = () => (tray.menu as { label?: string }[]).map((i) => i.label);
    await until('the tray to list alpine', () => labels().includes('alpine — Stopped'));
    expect(labels()).toEqual(expect.arrayContaining(['Pull Image…', 'Open Nestbox', 'Quit Nestbox']));
    // A VM created by another process (the CLI) appears through the library watcher.
    const dir = path.join(home, 'vms', 'debian');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'config.json'), readFileSync(path.join(home, 'vms', 'alpine', 'config.json')));
    writeFileSync(path.join(dir, 'disk.img'), Buffer.alloc(0));
    writeFileSync(path.join(dir, 'nvram.bin'), Buffer.alloc(0));
    await until('the tray to list debian', () => labels().includes('debian — Stopped'), 15_000);
    // and the window was told the library changed
    await until('a library.changed event', () => win.webContents.sent.some((m) => m[0] === EVENT_CHANNEL && m[1] === 'library.changed'));
    expect(rec.applicationMenu).not.toBeNull();
  });

  it('asks before pulling from a nestbox:// link, and rejects malformed links with the reason', async () => {
    rec.dialogAnswers.push(1); // Cancel
    fakeElectron.app.emit('open-url', { preventDefault() {} }, 'nestbox://pull?ref=ghcr.io/cirruslabs/debian:latest');
    const d = await until('the confirmation', () => rec.dialogs.find((x) => String(x.options.message).includes('ghcr.io/cirruslabs/debian:latest')));
    expect(d.options.buttons).toEqual(['Pull', 'Cancel']);
    fakeElectron.app.emit('open-url', { preventDefault() {} }, 'nestbox://delete?name=alpine');
    const bad = await until('the refusal', () => rec.dialogs.find((x) => x.options.message === 'This Nestbox link cannot be opened.'));
    expect(String(bad.options.detail)).toMatch(/unknown action "delete"/);
    expect((await invoke('task.list', {})).result).toEqual([]);
  });

  it('routes an opened ISO to a create confirmation named after the file', async () => {
    const iso = path.join(home, 'Debian 12 netinst.iso');
    writeFileSync(iso, Buffer.alloc(4096, 1));
    rec.dialogAnswers.push(1); // Cancel
    fakeElectron.app.emit('open-file', { preventDefault() {} }, iso);
    const d = await until('the create confirmation', () => rec.dialogs.find((x) => x.options.message === 'Create "Debian-12-netinst"?'));
    expect(String(d.options.detail)).toContain('boots the installer Debian 12 netinst.iso');
  });

  it('tray actions reach the window: "Show in Nestbox" sends the show-vm intent', async () => {
    const tray = rec.trays[0]!;
    const vm = (tray.menu as { label?: string; submenu?: { label?: string; click?: () => void }[] }[]).find((i) => i.label === 'alpine — Stopped')!;
    vm.submenu!.find((i) => i.label === 'Show in Nestbox')!.click!();
    await until('the intent', () => win.webContents.sent.some((m) => m[1] === 'shell.intent'));
    expect(win.webContents.sent).toContainEqual([EVENT_CHANNEL, 'shell.intent', { kind: 'show-vm', name: 'alpine' }]);
  });

  it('"show screen" of a stopped VM fails with the engine’s error code, not INTERNAL', async () => {
    expect(await invoke('vm.showScreen', { name: 'alpine' })).toMatchObject({ ok: false, error: { code: 'NOT_RUNNING' } });
  });

  it('a failing task notifies with the reason (window not focused); clicking it shows the task', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p)); // a port nothing listens on
      });
    });
    const r = await invoke('image.pull', { reference: `127.0.0.1:${port}/nope/img:v1`, insecure: true });
    expect(r.ok).toBe(true);
    const n = await until('the notification', () => rec.notifications[0], 30_000);
    expect(n.options.title).toMatch(/failed$/);
    expect(n.options.body).toMatch(new RegExp(`127\\.0\\.0\\.1:${port}`));
    expect(win.progress.at(-1) ?? -1).toBe(-1); // whatever was shown while it ran is gone
    n.emit('click'); // opens the task in the window
    await until('the show-task intent', () => win.webContents.sent.some((m) => m[1] === 'shell.intent' && (m[2] as { kind: string }).kind === 'show-task'));
    expect(win.webContents.sent).toContainEqual([EVENT_CHANNEL, 'shell.intent', { kind: 'show-task', taskId: r.result.taskId }]);
  });

  it('closing the window keeps the app (tray) running', () => {
    const quits = rec.quitCalls;
    win.close();
    fakeElectron.app.emit('window-all-closed');
    expect(rec.quitCalls).toBe(quits);
  });
});
