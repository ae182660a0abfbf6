/**
 * The desktop app's VNC WebSocket server against a real loopback TCP server speaking the start of RFB, with a
 * real WebSocket client: only the app's origin with the launch token reaches the VM's display.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { checkUpgrade, startVncServer, type VncServer } from './vnc-server';

const ORIGIN = 'app://nestbox';
let vnc: net.Server;
let vncPort: number;
let server: VncServer;

beforeAll(async () => {
  // A VNC server: greets with the RFB version, then echoes what it receives.
  vnc = net.createServer((s) => {
    s.write('RFB 003.008\n');
    s.on('data', (d) => s.write(d));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => vnc.listen(0, '127.0.0.1', r));
  vncPort = (vnc.address() as net.AddressInfo).port;
  server = await startVncServer({
    allowedOrigin: ORIGIN,
    target: async (name) => {
      if (name === 'debian 12') return { host: '127.0.0.1', port: vncPort };
      throw new Error(`VM "${name}" is not running.`);
    },
  });
});
afterAll(async () => {
  await server?.close();
  await new Promise<void>((r) => vnc.close(() => r()));
});

function connect(url: string, origin = ORIGIN): Promise<{ ws: WebSocket; first: Promise<Buffer>; closed: Promise<{ code: number; reason: string }> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { origin });
    const first = new Promise<Buffer>((r) => ws.once('message', (d) => r(d as Buffer)));
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.once('close', (code, reason) => r({ code, reason: reason.toString() })));
    ws.once('open', () => resolve({ ws, first, closed }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

describe('VNC WebSocket server', () => {
  it('listens on loopback only and hands out per-launch URLs', () => {
    const url = new URL(server.url('debian 12'));
    expect(url.protocol).toBe('ws:');
    expect(url.hostname).toBe('127.0.0.1');
    expect(url.pathname).toBe('/vnc/debian%2012');
    expect(url.searchParams.get('token')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('pipes the app to the VM display both ways', async () => {
    const { ws, first, closed } = await connect(server.url('debian 12'));
    expect((await first).toString()).toBe('RFB 003.008\n');
    const echo = new Promise<Buffer>((r) => ws.once('message', (d) => r(d as Buffer)));
    ws.send(Buffer.from('RFB 003.008\n'));
    expect((await echo).toString()).toBe('RFB 003.008\n');
    ws.close();
    expect((await closed).code).toBe(1005);
  });

  it('refuses a wrong token, another origin, or a missing token (HTTP 403 before any VNC byte)', async () => {
    const good = server.url('debian 12');
    await expect(connect(good.replace(/token=[0-9a-f]+/, 'token=' + '0'.repeat(64)))).rejects.toThrow('HTTP 403');
    await expect(connect(good.replace(/\?token=.*/, ''))).rejects.toThrow('HTTP 403');
    await expect(connect(good, 'https://evil.example')).rejects.toThrow('HTTP 403');
    await expect(connect(good, 'null')).rejects.toThrow('HTTP 403');
  });

  it('closes with the reason when the VM has no display', async () => {
    const { closed } = await connect(server.url('stopped-vm'));
    expect(await closed).toEqual({ code: 4404, reason: 'VM "stopped-vm" is not running.' });
  });

  it('checks Host against DNS rebinding and paths strictly', () => {
    const o = { token: 't'.repeat(8), port: 1234, allowedOrigin: ORIGIN };
    const h = (extra: Record<string, string>) => ({ host: '127.0.0.1:1234', origin: ORIGIN, ...extra });
    expect(checkUpgrade({ url: '/vnc/a?token=tttttttt', headers: h({}) }, o)).toEqual({ ok: true, name: 'a' });
    expect(checkUpgrade({ url: '/vnc/a?token=tttttttt', headers: h({ host: 'evil.example:1234' }) }, o)).toMatchObject({ ok: false, status: 403 });
    expect(checkUpgrade({ url: '/vnc/a/b?token=tttttttt', headers: h({}) }, o)).toMatchObject({ ok: false, status: 404 });
    expect(checkUpgrade({ url: '/other?token=tttttttt', headers: h({}) }, o)).toMatchObject({ ok: false, status: 404 });
    expect(checkUpgrade({ url: '/vnc/%E0%A4%A?token=tttttttt', headers: h({}) }, o)).toMatchObject({ ok: false, status: 400 });
  });
});
