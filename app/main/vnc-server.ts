/**
 * VM screens in the desktop app: a WebSocket server on loopback only, on a free port, that pipes
 * ws://127.0.0.1:<port>/vnc/<vm>?token=<t> to the VM's VNC display (app/service's proxyVnc). The token is
 * random per launch and reaches only the app's own window (in vm.display's URL, over the checked IPC);
 * connections without it, from another origin than the app, or to another host name are refused before
 * anything reaches the VM.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { proxyVnc, type VncProxy, type VncTarget } from '../service/vnc-proxy';

export interface VncServerOptions {
  /** Where a VM's display is (service.vncTarget); throws when it is not running. */
  target(name: string): Promise<VncTarget>;
  /** The only Origin allowed to connect (the app's, app://nestbox). */
  allowedOrigin: string;
  /** Fixed token (tests); default 32 random bytes. */
  token?: string;
}

export interface VncServer {
  readonly port: number;
  /** The URL the renderer opens for a VM (vm.display's `url`). */
  url(name: string): string;
  close(): Promise<void>;
}

export type UpgradeVerdict = { ok: true; name: string } | { ok: false; status: 400 | 403 | 404; reason: string };

/** Pure check of an upgrade request: path, token, Origin and Host. */
export function checkUpgrade(req: { url?: string; headers: Record<string, string | string[] | undefined> }, o: { token: string; port: number; allowedOrigin: string }): UpgradeVerdict {
  let u: URL;
  try {
    u = new URL(req.url ?? '', `http://127.0.0.1:${o.port}`);
  } catch {
    return { ok: false, status: 400, reason: 'bad URL' };
  }
  const host = String(req.headers.host ?? '');
  if (host !== `127.0.0.1:${o.port}`) return { ok: false, status: 403, reason: 'wrong Host' };
  if (req.headers.origin !== o.allowedOrigin) return { ok: false, status: 403, reason: 'wrong Origin' };
  const given = Buffer.from(u.searchParams.get('token') ?? '');
  const want = Buffer.from(o.token);
  if (given.length !== want.length || !timingSafeEqual(given, want)) return { ok: false, status: 403, reason: 'bad token' };
  const m = /^\/vnc\/([^/]+)$/.exec(u.pathname);
  if (!m) return { ok: false, status: 404, reason: 'unknown path' };
  let name: string;
  try {
    name = decodeURIComponent(m[1]!);
  } catch {
    return { ok: false, status: 400, reason: 'bad VM name' };
  }
  return { ok: true, name };
}

export async function startVncServer(o: VncServerOptions): Promise<VncServer> {
  const token = o.token ?? randomBytes(32).toString('hex');
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 16 * 1024 * 1024, verifyClient: (info, cb) => {
    const v = checkUpgrade(info.req, { token, port: port(), allowedOrigin: o.allowedOrigin });
    if (v.ok) cb(true);
    else cb(false, v.status, v.reason);
  } });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  function port(): number {
    return (wss.address() as AddressInfo).port;
  }
  const proxies = new Set<VncProxy>();

  wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    const v = checkUpgrade(req, { token, port: port(), allowedOrigin: o.allowedOrigin });
    if (!v.ok) return ws.close(1008, v.reason);
    ws.pause?.();
    o.target(v.name).then(
      (target) => {
        ws.resume?.();
        if (ws.readyState !== ws.OPEN) return;
        const p = proxyVnc(ws, target, { onClose: () => proxies.delete(p) });
        proxies.add(p);
      },
      (e: unknown) => {
        ws.resume?.(); // a paused socket never reads the client's close frame
        // 4404: the VM is not running / has no VNC display; the message is the engine's (no secrets).
        ws.close(4404, String((e as Error)?.message ?? e).slice(0, 120));
      },
    );
  });

  return {
    port: port(),
    url: (name) => `ws://127.0.0.1:${port()}/vnc/${encodeURIComponent(name)}?token=${token}`,
    close: async () => {
      for (const p of proxies) p.close('Nestbox is quitting.');
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
}
