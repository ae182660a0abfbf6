/**
 * `nestbox serve` as users run it: the built CLI (bin/nestbox.js → dist/) in its own process — the printed URL,
 * the loopback-only default, the explicit flag for remote access, and graceful stops on SIGINT/SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { NESTBOX_BIN, nestbox, tempHome, type TempHome } from '../../test/helpers';

interface Served {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function serve(args: string[], env: NodeJS.ProcessEnv): Promise<Served> {
  const child = spawn(process.execPath, [NESTBOX_BIN, 'serve', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = /^Nestbox is serving at (\S+)$/m.exec(out);
      if (m) resolve({ child, url: m[1]!, stdout: () => out, stderr: () => err, exit });
    };
    child.stdout!.on('data', check);
    void exit.then(({ code }) => reject(new Error(`nestbox serve exited (${code}) before printing its URL: ${err}`)));
  });
}

function status(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on('error', reject);
  });
}

describe('nestbox serve (CLI)', () => {
  let home: TempHome | null = null;
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    children.length = 0;
    home?.cleanup();
    home = null;
  });

  it('prints one stable line with the URL and its token, serves, and stops cleanly on SIGTERM', async () => {
    home = tempHome();
    const s = await serve(['--listen', '127.0.0.1:0'], home.env);
    children.push(s.child);
    expect(s.stdout()).toMatch(/^Nestbox is serving at http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]{43}\n$/);
    const u = new URL(s.url);
    const token = u.hash.slice('#token='.length);
    expect(await status(`${u.origin}/api/health`)).toBe(401);
    expect(await status(`${u.origin}/api/health`, { Authorization: `Bearer ${token}` })).toBe(200);
    s.child.kill('SIGTERM');
    expect(await s.exit).toEqual({ code: 0, signal: null });
    expect(s.stderr()).toMatch(/Stopping/);
    // Request logs never carry the token.
    expect(s.stderr()).toMatch(/GET \/api\/health 200/);
    expect(s.stderr()).not.toContain(token);
  });

  it('stops on SIGINT (Ctrl+C) too', async () => {
    home = tempHome();
    const s = await serve(['--port', '0', '--quiet'], home.env);
    children.push(s.child);
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=/);
    s.child.kill('SIGINT');
    expect(await s.exit).toEqual({ code: 0, signal: null });
  });

  it('refuses a non-loopback address without --allow-remote, naming the flag', async () => {
    home = tempHome();
    const r = await nestbox(['serve', '--listen', '0.0.0.0:0'], home.env);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^Error: Refusing to listen on 0\.0\.0\.0: it is reachable from other machines/);
    expect(r.stderr).toMatch(/Fix: .*--allow-remote/);
  });

  it('with --allow-remote it listens on all interfaces, warns, and still requires the token', async () => {
    home = tempHome();
    const s = await serve(['--listen', '0.0.0.0:0', '--allow-remote'], home.env);
    children.push(s.child);
    expect(s.stderr()).toMatch(/Warning: listening on 0\.0\.0\.0/);
    const port = new URL(s.url).port;
    expect(await status(`http://127.0.0.1:${port}/api/health`)).toBe(401);
    s.child.kill('SIGTERM');
    expect((await s.exit).code).toBe(0);
  });

  it('rejects a malformed --listen', async () => {
    home = tempHome();
    const r = await nestbox(['serve', '--listen', 'localhost:99999'], home.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--listen "localhost:99999" is not HOST:PORT/);
  });
});
