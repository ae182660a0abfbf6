/**
 * A NestboxBridge for Node over `nestbox serve`'s WebSocket, authenticated with the bearer token — for scripts,
 * tests and benchmarks: `createClient(await connectBridge({ origin, token }))` gives the typed contract client.
 */
import WebSocket from 'ws';
import { WireEventSchema, WireResponseSchema, type InvokeOutcome, type NestboxBridge } from '../api/wire';

export interface NodeBridge extends NestboxBridge {
  close(): Promise<void>;
  readonly socket: WebSocket;
}

/** `origin` is http://HOST:PORT (or a full `url` printed by `nestbox serve`, whose #token= is used when `token` is absent). */
export async function connectBridge(o: { origin?: string; url?: string; token?: string; headers?: Record<string, string> }): Promise<NodeBridge> {
  const printed = o.url ? new URL(o.url) : null;
  const origin = o.origin ?? (printed ? printed.origin : undefined);
  if (!origin) throw new Error('connectBridge needs an origin or url');
  const token = o.token ?? (printed ? new URLSearchParams(printed.hash.slice(1)).get('token') ?? undefined : undefined);
  const ws = new WebSocket(`${origin.replace(/^http/, 'ws')}/api/ws`, {
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(o.headers ?? {}) },
    perMessageDeflate: false,
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`WebSocket refused: HTTP ${res.statusCode}`), { statusCode: res.statusCode })));
    ws.once('error', reject);
  });
  const pending = new Map<number, (o: InvokeOutcome) => void>();
  const listeners = new Set<(e: string, p: unknown) => void>();
  let nextId = 1;
  ws.on('message', (data) => {
    let msg: unknown;
    try {
      msg = JSON.parse(data.toString());
    } catch {
      return;
    }
    const r = WireResponseSchema.safeParse(msg);
    if (r.success) {
      const resolve = pending.get(r.data.id);
      pending.delete(r.data.id);
      resolve?.(r.data.ok ? { ok: true, result: r.data.result } : { ok: false, error: r.data.error });
      return;
    }
    const e = WireEventSchema.safeParse(msg);
    if (e.success) for (const l of listeners) l(e.data.event, e.data.payload);
  });
  ws.on('close', () => {
    for (const [, resolve] of pending) resolve({ ok: false, error: { code: 'DISCONNECTED', message: 'Lost the connection to nestbox serve.' } });
    pending.clear();
  });
  return {
    socket: ws,
    invoke(method, params) {
      return new Promise((resolve) => {
        if (ws.readyState !== WebSocket.OPEN) {
          resolve({ ok: false, error: { code: 'DISCONNECTED', message: 'Not connected to nestbox serve.' } });
          return;
        }
        const id = nextId++;
        pending.set(id, resolve);
        ws.send(JSON.stringify({ t: 'req', id, method, params: params ?? {} }));
      });
    },
    subscribe(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    close() {
      return new Promise<void>((resolve) => {
        if (ws.readyState === WebSocket.CLOSED) return resolve();
        ws.once('close', () => resolve());
        ws.close();
      });
    },
  };
}
