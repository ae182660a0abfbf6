/**
 * VM screens through `nestbox serve`: a real QEMU guest (test/guests) started through the contract, its VNC unix
 * socket reached only through the server's authenticated WebSocket (/vnc/<vm>), RFB handshake end to end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { VmState } from '../api/models';
import { createClient, type ApiClient } from '../api/wire';
import { QemuBackend } from '../core/hypervisor/qemu';
import { readRuntime } from '../core/hypervisor/qemu/runtime';
import { openHome } from '../core/library/home';
import { createService, type Service } from '../service';
import { runningPid } from '../core/library/locks';
import { nestbox, tempHome, waitFor, type TempHome } from '../../test/helpers';
import { makeGuestVm } from '../../test/guests/build';
import { connectBridge, type NodeBridge } from './node-client';
import { startServer, type RunningServer } from './server';

const until = <T>(what: string, f: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000) => waitFor(what, f, timeoutMs, 25);

/** Opens a WebSocket and collects binary frames; resolves with the refusal status if the upgrade is refused. */
function openVnc(url: string, headers: Record<string, string>): Promise<{ ws: WebSocket; frames: Buffer[]; closed: Promise<{ code: number; reason: string }> } | { status: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['binary'], { headers });
    const frames: Buffer[] = [];
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
    ws.on('message', (d: Buffer) => frames.push(Buffer.from(d)));
    ws.once('open', () => resolve({ ws, frames, closed }));
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

describe('VNC through nestbox serve', () => {
  let home: TempHome;
  let vmDir: string;
  let server: RunningServer;
  let service: Service;
  let bridge: NodeBridge;
  let client: ApiClient;
  const states: { name: string; state: VmState }[] = [];

  beforeAll(async () => {
    home = tempHome();
    vmDir = await makeGuestVm(home.root, 'guest', 'amd64');
    // The QEMU backend is loaded by path at run time from dist/; under the test runner, hand it over directly.
    service = createService({ home: openHome(home.env), shell: 'web', loadBackend: (id) => (id === 'qemu' ? new QemuBackend() : null) });
    await service.ready;
    server = await startServer({ home: service.home, port: 0, log: () => {}, service });
    bridge = await connectBridge({ url: server.url });
    client = createClient(bridge);
    client.on('vm.state', (s) => states.push(s));
  });

  afterAll(async () => {
    // Leave no QEMU behind, whatever happened.
    try {
      if (client && runningPid(vmDir) !== 0) await client.request('vm.stop', { name: 'guest', force: true });
    } catch {}
    const pid = vmDir && runningPid(vmDir) !== 0 ? readRuntime(vmDir)?.pid : undefined;
    if (pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    await bridge?.close();
    await server?.close();
    await service?.dispose();
    home?.cleanup();
  });

  it('starts a guest through the contract and reports its state', async () => {
    await client.request('vm.start', { name: 'guest', graphics: false });
    await until('a running state event', () => states.find((s) => s.name === 'guest' && s.state === 'running'));
    expect(states.filter((s) => s.name === 'guest').map((s) => s.state)[0]).toBe('starting');
    expect((await client.request('vm.list', {})).find((v) => v.name === 'guest')?.state).toBe('running');
    expect(await client.request('vm.display', { name: 'guest' })).toEqual({ kind: 'vnc', url: 'vnc/guest' });
  });

  it("reaches the guest's RFB handshake through /vnc/<vm> only with the token", async () => {
    const url = `${server.origin.replace('http', 'ws')}/vnc/guest`;
    expect(await openVnc(url, {})).toEqual({ status: 401 });
    expect(await openVnc(url, { Authorization: 'Bearer wrong' })).toEqual({ status: 401 });
    expect(await openVnc(url, { Authorization: `Bearer ${server.token}`, Origin: 'http://evil.example' })).toEqual({ status: 403 });
    const c = await openVnc(url, { Authorization: `Bearer ${server.token}`, Origin: server.origin });
    if ('status' in c) throw new Error(`refused: ${c.status}`);
    expect(c.ws.protocol).toBe('binary');
    // RFB: the server speaks first with its version; the client answers with its own; the server lists security types.
    await until('the RFB version', () => Buffer.concat(c.frames).length >= 12);
    expect(Buffer.concat(c.frames).subarray(0, 12).toString('latin1')).toBe('RFB 003.008\n');
    c.ws.send(Buffer.from('RFB 003.008\n', 'latin1'));
    await until('the security types', () => Buffer.concat(c.frames).length >= 14);
    const all = Buffer.concat(c.frames);
    const nTypes = all[12]!;
    expect(nTypes).toBeGreaterThan(0);
    expect([...all.subarray(13, 13 + nTypes)]).toContain(1); // "None": the socket is private, the proxy is the gate
    c.ws.close();
    await c.closed;
  });

  it('pauses and resumes, reporting each state', async () => {
    const from = states.length;
    await client.request('vm.pause', { name: 'guest' });
    expect(states.slice(from).map((s) => s.state)).toContain('paused');
    expect((await client.request('vm.list', {})).find((v) => v.name === 'guest')?.state).toBe('paused');
    await client.request('vm.resume', { name: 'guest' });
    expect(states.at(-1)).toEqual({ name: 'guest', state: 'running' });
  });

  it('suspends to disk and restores on the next start', async () => {
    const from = states.length;
    await client.request('vm.suspend', { name: 'guest' });
    expect(states.slice(from).map((s) => s.state)).toContain('suspending');
    expect(states.at(-1)).toEqual({ name: 'guest', state: 'suspended' });
    expect((await client.request('vm.list', {})).find((v) => v.name === 'guest')?.state).toBe('suspended');
    const restart = states.length;
    await client.request('vm.start', { name: 'guest', graphics: false });
    await until('a running state event', () => states.slice(restart).find((s) => s.name === 'guest' && s.state === 'running'));
  });

  it('takes a screenshot (which becomes the library thumbnail) and refuses the screen of a VM that is not running', async () => {
    const shot = await client.request('vm.screenshot', { name: 'guest' });
    expect(Buffer.from(shot.png, 'base64').subarray(1, 4).toString()).toBe('PNG');
    expect((await client.request('vm.thumbnail', { name: 'guest' })).png).toBe(shot.png);
    await until('the thumbnail version in the listing', async () => (await client.request('vm.list', {})).find((v) => v.name === 'guest')?.thumbnailVersion);
    await client.request('vm.stop', { name: 'guest', force: true });
    await until('a stopped state event', () => states.find((s) => s.name === 'guest' && s.state === 'stopped'));
    const c = await openVnc(`${server.origin.replace('http', 'ws')}/vnc/guest`, { Authorization: `Bearer ${server.token}` });
    if ('status' in c) throw new Error(`refused: ${c.status}`);
    const closed = await c.closed;
    expect(closed.code).toBe(4409);
    expect(closed.reason).toBe('VM "guest" is not running.');
    const e = await client.request('vm.display', { name: 'guest' }).catch((x) => x);
    expect(e.code).toBe('NOT_RUNNING');
  });

  it('notices a VM process that dies on its own (no folder change) and reports it stopped', async () => {
    await client.request('vm.start', { name: 'guest', graphics: false });
    const from = states.length;
    const pid = await until('the QEMU pid', () => readRuntime(vmDir)?.pid);
    process.kill(pid, 'SIGKILL');
    await until('a stopped state event', () => states.slice(from).find((s) => s.name === 'guest' && s.state === 'stopped'), 10_000);
    expect((await client.request('vm.list', {})).find((v) => v.name === 'guest')?.state).toBe('stopped');
  });

  it('reports a VM started and stopped by the CLI in another process', async () => {
    const from = states.length;
    const run = await nestbox(['run', 'guest', '--no-graphics', '--detach'], { ...home.env, TART_HOME: home.root });
    expect(run.code).toBe(0);
    await until('a running state event', () => states.slice(from).find((s) => s.name === 'guest' && s.state === 'running'), 10_000);
    const stop = await nestbox(['stop', 'guest', '--timeout', '0'], { ...home.env, TART_HOME: home.root });
    expect(stop.code).toBe(0);
    await until('a stopped state event', () => states.slice(from).find((s) => s.name === 'guest' && s.state === 'stopped'), 10_000);
  });

  it('a server shutdown leaves running VMs running (last: it closes the server)', async () => {
    await client.request('vm.start', { name: 'guest', graphics: false });
    const pid = await until('the QEMU pid', () => readRuntime(vmDir)?.pid);
    await server.close();
    await service.dispose();
    expect(runningPid(vmDir)).not.toBe(0);
    expect(() => process.kill(pid, 0)).not.toThrow();
    const stop = await nestbox(['stop', 'guest', '--timeout', '0'], { ...home.env, TART_HOME: home.root });
    expect(stop.code).toBe(0);
    expect(runningPid(vmDir)).toBe(0);
  });
});
