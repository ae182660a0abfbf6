/**
 * `nestbox serve` over real sockets: a real server on 127.0.0.1 (port 0) over a real engine on a temp TART_HOME,
 * real HTTP and WebSocket clients, and the built CLI in another process for cross-process changes.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createClient, type ApiClient } from '../api/wire';
import type { TaskInfo } from '../api/models';
import { homePaths, openHome } from '../core/library/home';
import { nestbox, tempHome, waitFor, type TempHome } from '../../test/helpers';
import { connectBridge, type NodeBridge } from './node-client';
import { startServer, type RunningServer } from './server';

interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** HTTP request; the path is sent exactly as written (no client-side normalisation of dot segments). */
function request(url: string, o: { method?: string; headers?: Record<string, string> } = {}): Promise<HttpResult> {
  const m = /^http:\/\/([^/]+):(\d+)(\/.*)?$/.exec(url)!;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: m[1], port: Number(m[2]), path: m[3] ?? '/', method: o.method ?? 'GET', headers: o.headers ?? {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Tries a WebSocket upgrade, offering `protocols` if given; resolves with 101 and the subprotocol the server chose
 * (as the socket sees it, and as the response header said it), or with the refusal's HTTP status.
 */
function upgrade(url: string, headers: Record<string, string>, protocols: string[] = []): Promise<{ status: number; protocol?: string; header?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers });
    let header: string | undefined;
    ws.once('upgrade', (res) => (header = res.headers['sec-websocket-protocol'] as string | undefined));
    ws.once('open', () => {
      resolve(protocols.length > 0 ? { status: 101, protocol: ws.protocol, header } : { status: 101 });
      ws.close();
    });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0 });
      ws.terminate();
    });
    ws.once('error', (e) => {
      if (!/Unexpected server response/.test(e.message)) reject(e);
    });
  });
}

/** Tries a WebSocket upgrade; resolves with 101 or the refusal's HTTP status. */
const upgradeStatus = async (url: string, headers: Record<string, string>): Promise<number> => (await upgrade(url, headers)).status;

const until = <T>(what: string, f: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000) => waitFor(what, f, timeoutMs, 20);

describe('nestbox serve', () => {
  let home: TempHome;
  let renderer: string;
  let server: RunningServer;
  const logs: string[] = [];
  let bridge: NodeBridge;
  let client: ApiClient;
  const events: { event: string; payload: unknown; at: number }[] = [];

  beforeAll(async () => {
    home = tempHome();
    renderer = mkdtempSync(path.join(os.tmpdir(), 'nestbox-renderer-'));
    writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><title>Nestbox</title><script type="module" src="./assets/app.js"></script>');
    mkdirSync(path.join(renderer, 'assets'));
    writeFileSync(path.join(renderer, 'assets', 'app.js'), 'console.log("app")');
    server = await startServer({ home: openHome(home.env), port: 0, rendererDir: renderer, log: (l) => logs.push(l) });
    await server.service.ready;
    bridge = await connectBridge({ url: server.url });
    bridge.subscribe((event, payload) => events.push({ event, payload, at: Date.now() }));
    client = createClient(bridge);
  });

  afterAll(async () => {
    await bridge?.close();
    await server?.close();
    home?.cleanup();
    if (renderer) rmSync(renderer, { recursive: true, force: true });
  });

  it('prints a URL with a ≥128-bit token in the fragment', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]+$/);
    expect(Buffer.from(server.token, 'base64url').length * 8).toBeGreaterThanOrEqual(128);
  });

  it('GET /api/health answers 401 without the token and 200 with it', async () => {
    const none = await request(`${server.origin}/api/health`);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expect(JSON.parse(none.body)).toMatchObject({ code: 'AUTH', message: expect.stringMatching(/#token=/) });
    expect(none.body).not.toContain(server.token);
    expect((await request(`${server.origin}/api/health`, { headers: { Authorization: 'Bearer wrong' } })).status).toBe(401);
    const ok = await request(`${server.origin}/api/health`, { headers: { Authorization: `Bearer ${server.token}` } });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ ok: true });
    expect(ok.headers['cache-control']).toBe('no-store');
  });

  it('trades the token for an HttpOnly SameSite=Strict session cookie that authenticates API calls and the WebSocket', async () => {
    // Opening a session needs the token itself.
    expect((await request(`${server.origin}/api/session`, { method: 'POST' })).status).toBe(401);
    const s = await request(`${server.origin}/api/session`, { method: 'POST', headers: { Authorization: `Bearer ${server.token}`, Origin: server.origin } });
    expect(s.status).toBe(204);
    const setCookie = s.headers['set-cookie']![0]!;
    expect(setCookie).toMatch(new RegExp(`^nestbox_session_${server.port}=[A-Za-z0-9_-]{40,}; HttpOnly; SameSite=Strict; Path=/$`));
    expect(setCookie).not.toContain(server.token);
    const cookie = setCookie.split(';')[0]!;
    expect((await request(`${server.origin}/api/health`, { headers: { Cookie: cookie } })).status).toBe(200);
    expect((await request(`${server.origin}/api/health`, { headers: { Cookie: `nestbox_session_${server.port}=forged` } })).status).toBe(401);
    const wsUrl = `${server.origin.replace('http', 'ws')}/api/ws`;
    expect(await upgradeStatus(wsUrl, { Cookie: cookie, Origin: server.origin })).toBe(101);
    // Logging out ends the session.
    expect((await request(`${server.origin}/api/session`, { method: 'DELETE', headers: { Cookie: cookie } })).status).toBe(204);
    expect((await request(`${server.origin}/api/health`, { headers: { Cookie: cookie } })).status).toBe(401);
  });

  it('lets a page sign its first socket in with the token offered as a subprotocol, answering "nestbox" alone', async () => {
    const wsUrl = `${server.origin.replace('http', 'ws')}/api/ws`;
    const open = (protocols: string[], headers: Record<string, string> = {}) => upgrade(wsUrl, { Origin: server.origin, ...headers }, protocols);
    const good = await open(['nestbox', `nestbox.token.${server.token}`]);
    expect(good).toEqual({ status: 101, protocol: 'nestbox', header: 'nestbox' });
    expect((await open(['nestbox', 'nestbox.token.nope'])).status).toBe(401);
    expect((await open(['nestbox'])).status).toBe(401);
    // An old link's token next to a good session cookie: the cookie decides.
    const s = await request(`${server.origin}/api/session`, { method: 'POST', headers: { Authorization: `Bearer ${server.token}`, Origin: server.origin } });
    const cookie = s.headers['set-cookie']![0]!.split(';')[0]!;
    expect((await open(['nestbox', 'nestbox.token.stale'], { Cookie: cookie })).status).toBe(101);
    // The subprotocol is a way to carry the token on a socket, not a way to open a session.
    expect((await request(`${server.origin}/api/session`, { method: 'POST', headers: { 'Sec-WebSocket-Protocol': `nestbox.token.${server.token}` } })).status).toBe(401);
    expect(logs.join('\n')).not.toContain(server.token);
  });

  it('refuses WebSocket upgrades without the token, from another origin, or to another host name', async () => {
    const wsUrl = `${server.origin.replace('http', 'ws')}/api/ws`;
    expect(await upgradeStatus(wsUrl, {})).toBe(401);
    expect(await upgradeStatus(wsUrl, { Authorization: 'Bearer nope' })).toBe(401);
    // Cross-site WebSocket hijacking: a page elsewhere cannot use the user's session.
    expect(await upgradeStatus(wsUrl, { Authorization: `Bearer ${server.token}`, Origin: 'http://evil.example' })).toBe(403);
    expect(await upgradeStatus(wsUrl, { Authorization: `Bearer ${server.token}`, Origin: 'null' })).toBe(403);
    // DNS rebinding: the browser would send the attacker's host name.
    expect(await upgradeStatus(wsUrl, { Authorization: `Bearer ${server.token}`, Host: `evil.example:${server.port}` })).toBe(403);
    expect(await upgradeStatus(wsUrl, { Authorization: `Bearer ${server.token}`, Origin: server.origin })).toBe(101);
    expect(await upgradeStatus(wsUrl, { Authorization: `Bearer ${server.token}`, Host: `localhost:${server.port}`, Origin: `http://localhost:${server.port}` })).toBe(101);
    // The VNC proxy sits behind the same gate.
    expect(await upgradeStatus(`${server.origin.replace('http', 'ws')}/vnc/anything`, {})).toBe(401);
    const bad = await request(`${server.origin}/api/health`, { headers: { Authorization: `Bearer ${server.token}`, Host: `rebind.example:${server.port}` } });
    expect(bad.status).toBe(403);
  });

  it('never logs tokens: query strings are stripped from request logs', async () => {
    await request(`${server.origin}/api/health?token=${server.token}&x=1`);
    await request(`${server.origin}/index.html?token=${server.token}`);
    await upgradeStatus(`${server.origin.replace('http', 'ws')}/api/ws?token=${server.token}`, {});
    // The log line is written when the response has finished on the server's side.
    await until('the request log lines', () => logs.some((l) => l.startsWith('GET /index.html 200')) && logs.some((l) => l.startsWith('GET /api/health 401')));
    const text = logs.join('\n');
    expect(text).not.toContain(server.token);
    expect(text).not.toContain('?');
  });

  it('serves the renderer with a strict CSP, never a directory listing or files outside it', async () => {
    const index = await request(`${server.origin}/`);
    expect(index.status).toBe(200);
    expect(index.body).toContain('<title>Nestbox</title>');
    const csp = index.headers['content-security-policy'] as string;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(index.headers['x-content-type-options']).toBe('nosniff');
    const asset = await request(`${server.origin}/assets/app.js`);
    expect(asset.headers['content-type']).toMatch(/^text\/javascript/);
    // A directory gets the app, not a listing.
    const dir = await request(`${server.origin}/assets/`);
    expect(dir.body).toContain('<title>Nestbox</title>');
    expect(dir.body).not.toContain('app.js"'.replace('"', '</a>'));
    expect((await request(`${server.origin}/assets/missing.js`)).status).toBe(404);
    for (const p of ['/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2fetc%2fpasswd', '/../../../etc/passwd', '/assets/%2e%2e/%2e%2e/%2e%2e/etc/passwd']) {
      const r = await request(`${server.origin}${p}`);
      expect(r.status, p).toBe(404);
      expect(r.body).not.toContain('root:');
    }
    expect((await request(`${server.origin}/.git/config`)).status).toBe(404);
    expect((await request(`${server.origin}/`, { method: 'POST' })).status).toBe(405);
  });

  it('answers contract requests over the WebSocket against the real engine', async () => {
    const host = await client.request('host.info', {});
    expect(host).toMatchObject({ shell: 'web', home: home.root, cpus: os.cpus().length });
    expect(host.freeDisk).toBeGreaterThan(0);
    expect(host.limitations.map((l) => l.feature)).toContain('native-window');
    if (process.platform !== 'darwin') expect(host.limitations).toContainEqual(expect.objectContaining({ feature: 'macos-guests', reason: 'macOS guests need a Mac with Apple silicon.' }));
    expect(await client.request('vm.list', {})).toEqual([]);
    // Errors cross as structured values.
    const err = await client.request('vm.get', { name: 'ghost' }).catch((e) => e);
    expect(err.toApiError()).toEqual({ code: 'NOT_FOUND', message: 'VM "ghost" does not exist.', fix: 'Run `nestbox list` to see your VMs.', details: { name: 'ghost' } });
    const invalid = await client.request('vm.set', { name: 'x', display: 'big' }).catch((e) => e);
    expect(invalid.code).toBe('INVALID_ARGUMENT');
    expect(await client.request('image.checkReference', { reference: 'ghcr.io/cirruslabs/debian' })).toEqual({ ok: true, normalized: 'ghcr.io/cirruslabs/debian:latest' });
    expect((await client.request('image.checkReference', { reference: 'debian' })).ok).toBe(false);
  });

  it('runs create and clone as tasks whose updates arrive in order and end in done, then set, rename and delete', async () => {
    const { taskId } = await client.request('vm.create', { name: 'alpha', os: 'linux', diskSizeGB: 1, cpuCount: 1, memoryMB: 512 });
    const final = await until('create to finish', () => events.find((e) => e.event === 'task.updated' && (e.payload as TaskInfo).id === taskId && (e.payload as TaskInfo).state !== 'running'));
    const mine = events.filter((e) => e.event === 'task.updated' && (e.payload as TaskInfo).id === taskId).map((e) => e.payload as TaskInfo);
    expect(mine[0]!.state).toBe('running');
    expect((final.payload as TaskInfo).state).toBe('done');
    expect((final.payload as TaskInfo).result).toEqual({ vm: 'alpha' });
    expect(mine.filter((t) => t.state !== 'running')).toHaveLength(1);

    const list = await client.request('vm.list', {});
    expect(list).toEqual([expect.objectContaining({ name: 'alpha', os: 'linux', state: 'stopped', cpuCount: 1, memorySize: 512 * 1024 * 1024, disk: expect.objectContaining({ apparent: 1e9 }) })]);
    const detail = await client.request('vm.get', { name: 'alpha' });
    expect(detail.limits.maxCpu).toBe(os.cpus().length);

    const clone = await client.request('vm.clone', { source: 'alpha', name: 'beta' });
    await until('clone to finish', () => (client.request('task.list', {}) as Promise<TaskInfo[]>).then((ts) => ts.find((t) => t.id === clone.taskId && t.state === 'done')));
    // Sure failures are refused at once, not as a failed task.
    expect((await client.request('vm.clone', { source: 'alpha', name: 'beta' }).catch((e) => e)).code).toBe('ALREADY_EXISTS');
    expect((await client.request('vm.create', { name: 'alpha', os: 'linux' }).catch((e) => e)).code).toBe('ALREADY_EXISTS');

    const set = await client.request('vm.set', { name: 'beta', cpuCount: 2, display: '800x600' });
    expect(set.vm).toMatchObject({ name: 'beta', cpuCount: 2, display: { width: 800, height: 600 } });
    await client.request('vm.rename', { name: 'beta', newName: 'gamma' });
    await client.request('vm.delete', { name: 'gamma' });
    expect((await client.request('vm.list', {})).map((v) => v.name)).toEqual(['alpha']);
    const tasks = await client.request('task.list', {});
    expect(tasks.map((t) => [t.kind, t.state])).toEqual([
      ['create', 'done'],
      ['clone', 'done'],
    ]);
  });

  it('reports a VM created by the CLI in another process as library.changed within a second', async () => {
    const from = events.length;
    const t0 = Date.now();
    const r = await nestbox(['create', 'from-cli', '--linux', '--disk-size', '1'], { ...home.env, TART_HOME: home.root });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const t1 = Date.now();
    const hit = await until('library.changed for from-cli', () =>
      events.slice(from).find((e) => e.event === 'library.changed' && (e.payload as { scope: string; names?: string[] }).scope === 'vms' && ((e.payload as { names?: string[] }).names ?? ['from-cli']).includes('from-cli')),
    );
    // The CLI finished at t1; the event arrives within a second of that.
    expect(hit.at - t1).toBeLessThan(1000);
    expect(hit.at).toBeGreaterThanOrEqual(t0);
    expect((await client.request('vm.list', {})).map((v) => v.name)).toContain('from-cli');
    // And deleting it from the CLI is seen too.
    const from2 = events.length;
    expect((await nestbox(['delete', 'from-cli'], { ...home.env, TART_HOME: home.root })).code).toBe(0);
    await until('library.changed for the delete', () => events.slice(from2).find((e) => e.event === 'library.changed' && (e.payload as { names?: string[] }).names?.includes('from-cli')));
  });

  it('refuses to delete a VM that a running task uses, with BUSY and a clear message', async () => {
    // A clone of alpha reads alpha; deleting alpha while it runs is refused. The clone is held by the home lock
    // (Tart's flock) taken here, so the task is certainly still running when the delete arrives.
    const { FileLock } = await import('../core/library/locks');
    const lock = new FileLock(homePaths(home.root).root);
    expect(lock.tryLock()).toBe(true);
    let taskId: string;
    try {
      taskId = (await client.request('vm.clone', { source: 'alpha', name: 'delta' })).taskId;
      const err = await client.request('vm.delete', { name: 'alpha' }).catch((e) => e);
      expect(err.code).toBe('BUSY');
      expect(err.message).toBe('Cannot delete VM "alpha": VM "alpha" is in use by the running task "Clone alpha to delta".');
      expect(err.fix).toMatch(/cancel it/);
      expect((await client.request('vm.rename', { name: 'delta', newName: 'x' }).catch((e) => e)).code).toBe('BUSY');
      await client.request('task.cancel', { id: taskId });
    } finally {
      lock.close();
    }
    const t = await until('the cancelled clone', () => (client.request('task.list', {}) as Promise<TaskInfo[]>).then((ts) => ts.find((x) => x.id === taskId && x.state !== 'running')));
    expect(t.state).toBe('cancelled');
    expect(t.error?.code).toBe('CANCELLED');
    expect((await client.request('vm.list', {})).map((v) => v.name)).toEqual(['alpha']);
  });

  it('says plainly what the web shell cannot do', async () => {
    const e = await client.request('vm.showScreen', { name: 'alpha' }).catch((x) => x);
    expect(e.code).toBe('UNSUPPORTED');
    expect(e.message).toMatch(/desktop app/);
    expect(e.fix).toBeDefined();
  });
});

describe('nestbox serve: failed sign-ins are rate limited', () => {
  it('answers 429 after too many failures, even to the right token, until the window passes', async () => {
    const home = tempHome();
    const server = await startServer({ home: openHome(home.env), port: 0, log: () => {}, authLimit: { max: 5, windowMs: 60_000 } });
    try {
      for (let i = 0; i < 5; i++) expect((await request(`${server.origin}/api/health`, { headers: { Authorization: `Bearer guess${i}` } })).status).toBe(401);
      const blocked = await request(`${server.origin}/api/health`, { headers: { Authorization: `Bearer ${server.token}` } });
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
      expect(await upgradeStatus(`${server.origin.replace('http', 'ws')}/api/ws`, { Authorization: `Bearer ${server.token}` })).toBe(429);
      // Static files stay reachable (they hold no secrets).
      expect((await request(`${server.origin}/`)).status).toBe(200);
    } finally {
      await server.close();
      home.cleanup();
    }
  });

  it('refuses a non-loopback address unless remote access is allowed explicitly', async () => {
    const home = tempHome();
    try {
      await expect(startServer({ home: openHome(home.env), host: '0.0.0.0', port: 0, log: () => {} })).rejects.toThrow(/Refusing to listen on 0\.0\.0\.0/);
    } finally {
      home.cleanup();
    }
  });
});
