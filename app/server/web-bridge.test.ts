/**
 * The browser side of `nestbox serve` in a real browser: headless Chromium (playwright-core) opens the printed URL,
 * and app/renderer/src/bridge/web.ts (bundled with esbuild, served by the real server under its CSP) signs in with
 * the fragment's token, talks the contract over the WebSocket, receives events, survives a reload on its cookie,
 * and turns a missing sign-in or a lost server into structured errors.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { openHome } from '../core/library/home';
import { tempHome, type TempHome } from '../../test/helpers';
import { CHROMIUM, launchChromium } from '../../test/helpers/chromium.mjs';
import { startServer, type RunningServer } from './server';

const hasChromium = existsSync(CHROMIUM);

const ENTRY = `
// Record the bridge's sockets so a test can drop the connection the way a network would.
const sockets = [];
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(...args) {
    super(...args);
    sockets.push(this);
  }
};
import { createWebBridge } from ${JSON.stringify(path.resolve(__dirname, '../renderer/src/bridge/web.ts'))};
import { createClient } from ${JSON.stringify(path.resolve(__dirname, '../api/wire.ts'))};
const bridge = createWebBridge();
const client = createClient(bridge);
const events = [];
client.on('library.changed', (p) => events.push({ event: 'library.changed', payload: p }));
client.on('task.updated', (p) => events.push({ event: 'task.updated', payload: p }));
window.nestboxTest = {
  bridge, events, sockets,
  call: (m, p) => client.request(m, p).then((r) => ({ ok: true, r }), (e) => ({ ok: false, e: { code: e.code, message: e.message, fix: e.fix } })),
};
`;

describe.skipIf(!hasChromium)('the web bridge in Chromium', () => {
  let home: TempHome;
  let site: string;
  let server: RunningServer;
  let browser: Browser;
  const cspViolations: string[] = [];

  beforeAll(async () => {
    home = tempHome();
    site = mkdtempSync(path.join(os.tmpdir(), 'nestbox-site-'));
    const entry = path.join(site, 'entry.ts');
    writeFileSync(entry, ENTRY);
    const esbuild = await import('esbuild');
    await esbuild.build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', outfile: path.join(site, 'assets', 'app.js'), logLevel: 'silent' });
    rmSync(entry);
    writeFileSync(path.join(site, 'index.html'), '<!doctype html><html><head><meta charset="utf-8"><title>Nestbox</title><script type="module" src="./assets/app.js"></script></head><body></body></html>');
    server = await startServer({ home: openHome(home.env), port: 0, rendererDir: site, log: () => {} });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    home?.cleanup();
    if (site) rmSync(site, { recursive: true, force: true });
  });

  const open = async (url: string, page?: Page): Promise<Page> => {
    const p = page ?? (await browser.newPage());
    p.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
    await p.goto(url);
    await p.waitForFunction(() => 'nestboxTest' in window);
    return p;
  };

  it('signs in with the fragment token, hides it, and calls the contract', async () => {
    const page = await open(server.url);
    const info = await page.evaluate(() => (window as any).nestboxTest.call('host.info', {}));
    expect(info.e).toBeUndefined();
    expect(info).toMatchObject({ ok: true, r: { shell: 'web', home: home.root } });
    // The token left the address bar; the session cookie is invisible to scripts (HttpOnly).
    expect(page.url()).toBe(`${server.origin}/`);
    expect(await page.evaluate(() => document.cookie)).toBe('');
    const cookies = await page.context().cookies();
    expect(cookies).toEqual([expect.objectContaining({ name: `nestbox_session_${server.port}`, httpOnly: true, sameSite: 'Strict' })]);
    expect(cookies[0]!.value).not.toBe(server.token);
    // Structured errors reach the page.
    const err = await page.evaluate(() => (window as any).nestboxTest.call('vm.get', { name: 'nope' }));
    expect(err).toEqual({ ok: false, e: { code: 'NOT_FOUND', message: 'VM "nope" does not exist.', fix: 'Run `nestbox list` to see your VMs.' } });
    await page.close();
  });

  it('delivers events, and keeps working after a reload without the fragment (cookie)', async () => {
    const page = await open(server.url);
    await page.evaluate(() => (window as any).nestboxTest.call('vm.list', {}));
    const r = await page.evaluate(() => (window as any).nestboxTest.call('vm.create', { name: 'web-vm', os: 'linux', diskSizeGB: 1 }));
    expect(r.ok).toBe(true);
    await page.waitForFunction((id) => (window as any).nestboxTest.events.some((e: any) => e.event === 'task.updated' && e.payload.id === id && e.payload.state === 'done'), r.r.taskId);
    await page.waitForFunction(() => (window as any).nestboxTest.events.some((e: any) => e.event === 'library.changed' && e.payload.scope === 'vms'));
    await page.goto(`${server.origin}/`);
    await page.waitForFunction(() => 'nestboxTest' in window);
    const list = await page.evaluate(() => (window as any).nestboxTest.call('vm.list', {}));
    expect(list.ok).toBe(true);
    expect(list.r.map((v: { name: string }) => v.name)).toEqual(['web-vm']);
    await page.close();
  });

  it('does not wait for the cookie: the first socket signs in with the token itself, and an old link falls back to the cookie', async () => {
    // The cookie request fails: the socket, offering the token as a subprotocol, still serves the page.
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.route('**/api/session', (r) => r.abort('connectionfailed'));
    await open(server.url, page);
    const r = await page.evaluate(() => (window as any).nestboxTest.call('host.info', {}));
    expect(r).toMatchObject({ ok: true, r: { shell: 'web' } });
    expect(await page.evaluate(() => (window as any).nestboxTest.sockets.map((s: WebSocket) => s.protocol))).toEqual(['nestbox']);
    expect(await context.cookies()).toEqual([]);
    // Signed in (cookie), then an old link whose token the server no longer knows: the cookie carries on.
    await page.unroute('**/api/session');
    // (Via about:blank: from the same page, a change of fragment alone would not load it again.)
    await page.goto('about:blank');
    await open(server.url, page);
    // Calls wait for a sign-in under way, so once one is answered the cookie is there.
    expect((await page.evaluate(() => (window as any).nestboxTest.call('host.info', {}))).ok).toBe(true);
    expect((await context.cookies()).map((c) => c.name)).toEqual([`nestbox_session_${server.port}`]);
    await page.goto('about:blank');
    await open(`${server.origin}/#token=from-an-old-run`, page);
    const again = await page.evaluate(() => (window as any).nestboxTest.call('vm.list', {}));
    expect(again.ok).toBe(true);
    await context.close();
  });

  it('without a token or cookie, calls fail with an AUTH error that says what to open', async () => {
    const context = await browser.newContext();
    const page = await open(`${server.origin}/`, await context.newPage());
    const r = await page.evaluate(() => (window as any).nestboxTest.call('vm.list', {}));
    expect(r).toEqual({ ok: false, e: expect.objectContaining({ code: 'AUTH', message: 'This page is not signed in to nestbox serve.' }) });
    expect(r.e.fix).toMatch(/#token=/);
    await context.close();
  });

  it('reconnects by itself after the connection drops, and has views refetch', async () => {
    const page = await open(server.url);
    expect((await page.evaluate(() => (window as any).nestboxTest.call('vm.list', {}))).ok).toBe(true);
    const before = await page.evaluate(() => (window as any).nestboxTest.events.length);
    await page.evaluate(() => (window as any).nestboxTest.sockets.at(-1).close());
    await page.waitForFunction(() => (window as any).nestboxTest.sockets.length === 2 && (window as any).nestboxTest.sockets[1].readyState === 1);
    const after = await page.evaluate((n) => (window as any).nestboxTest.events.slice(n), before);
    expect(after).toEqual([
      { event: 'library.changed', payload: { scope: 'vms' } },
      { event: 'library.changed', payload: { scope: 'images' } },
    ]);
    expect((await page.evaluate(() => (window as any).nestboxTest.call('vm.list', {}))).ok).toBe(true);
    await page.close();
  });

  it('when the server goes away, calls resolve with a DISCONNECTED error instead of hanging', async () => {
    const h2 = tempHome();
    const s2 = await startServer({ home: openHome(h2.env), port: 0, rendererDir: site, log: () => {} });
    try {
      const page = await open(s2.url);
      expect((await page.evaluate(() => (window as any).nestboxTest.call('vm.list', {}))).ok).toBe(true);
      await s2.close();
      const r = await page.evaluate(() => (window as any).nestboxTest.call('vm.list', {}));
      expect(r).toEqual({ ok: false, e: expect.objectContaining({ code: 'DISCONNECTED', message: 'Lost the connection to nestbox serve.' }) });
      await page.close();
    } finally {
      await s2.close();
      h2.cleanup();
    }
  });

  it('ran under the strict CSP without violations', () => {
    expect(cspViolations).toEqual([]);
  });
});
