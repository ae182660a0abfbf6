/**
 * The contract completeness test: fails when a request exists on one side and not the other —
 * contract (app/api/contract.ts) ↔ handlers (app/service) ↔ the Electron IPC binding ↔ the `nestbox serve` WebSocket
 * ↔ the typed client. Every request is sent through each transport and must reach the service's handler.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REQUEST_NAMES, requests, type RequestName } from '../../app/api/contract';
import { createClient, createDispatcher, type Handlers, type InvokeOutcome } from '../../app/api/wire';
import { openHome } from '../../app/core/library/home';
import { INVOKE_CHANNEL, bindIpc } from '../../app/main/ipc-binding';
import { APP_ENTRY_URL } from '../../app/main/window-options';
import { connectBridge, type NodeBridge } from '../../app/server/node-client';
import { startServer, type RunningServer } from '../../app/server/server';
import { createService, type Service } from '../../app/service';
import { FakeIpcMain, FakeWebContents, FakeWindows, SAMPLE_PARAMS, frame } from '../helpers/electron-fakes';
import { tempHome, type TempHome } from '../helpers';

/** The real service's handlers, each wrapped to record that it was reached and answer a marker error. */
function probing(service: Service) {
  const reached: RequestName[] = [];
  const handlers = Object.fromEntries(
    Object.keys(service.handlers).map((m) => [
      m,
      () => {
        reached.push(m as RequestName);
        throw Object.assign(new Error(`reached ${m}`), { name: 'NestboxError', code: 'PROBE' });
      },
    ]),
  ) as unknown as Handlers<unknown>;
  return { reached, handlers };
}

describe('contract completeness', () => {
  let home: TempHome;
  let service: Service;
  let server: RunningServer;
  let bridge: NodeBridge;
  let probe: ReturnType<typeof probing>;

  beforeAll(async () => {
    home = tempHome();
    service = createService({ home: openHome(home.env), shell: 'web', watch: false });
    probe = probing(service);
    server = await startServer({ home: service.home, port: 0, log: () => {}, service: { ...service, handlers: probe.handlers } });
    bridge = await connectBridge({ url: server.url });
  });

  afterAll(async () => {
    await bridge?.close();
    await server?.close();
    await service?.dispose();
    home?.cleanup();
  });

  it('the service has a handler for every request of the contract, and nothing else', () => {
    expect(Object.keys(service.handlers).sort()).toEqual([...REQUEST_NAMES].sort());
    for (const n of REQUEST_NAMES) expect(typeof service.handlers[n], n).toBe('function');
  });

  it('the sample params cover every request and are valid', () => {
    expect(Object.keys(SAMPLE_PARAMS).sort()).toEqual([...REQUEST_NAMES].sort());
    for (const n of REQUEST_NAMES) expect(requests[n].params.safeParse(SAMPLE_PARAMS[n]).success, n).toBe(true);
  });

  it('every request reaches its handler over the `nestbox serve` WebSocket, through the typed client', async () => {
    probe.reached.length = 0;
    const client = createClient(bridge);
    for (const n of REQUEST_NAMES) {
      const err = await client.request(n, SAMPLE_PARAMS[n] as never).then(
        () => null,
        (e) => e,
      );
      expect(err?.code, n).toBe('PROBE');
      expect(err?.message, n).toBe(`reached ${n}`);
    }
    expect(probe.reached).toEqual(REQUEST_NAMES);
  });

  it('every request reaches its handler through the Electron IPC binding', async () => {
    probe.reached.length = 0;
    const ipc = new FakeIpcMain();
    const windows = new FakeWindows();
    const win = windows.add(new FakeWebContents(1, frame(APP_ENTRY_URL)));
    const binding = bindIpc({ ipc, dispatch: createDispatcher(probe.handlers), windows, context: () => null });
    try {
      for (const n of REQUEST_NAMES) {
        const out = (await ipc.invoke({ sender: win, senderFrame: win.mainFrame }, INVOKE_CHANNEL, n, SAMPLE_PARAMS[n])) as InvokeOutcome;
        expect(out, n).toMatchObject({ ok: false, error: { code: 'PROBE', message: `reached ${n}` } });
      }
    } finally {
      binding.dispose();
    }
    expect(probe.reached).toEqual(REQUEST_NAMES);
  });
});
