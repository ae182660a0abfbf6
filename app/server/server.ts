/**
 * `nestbox serve`: the renderer over HTTP, the contract over an authenticated WebSocket (`/api/ws`), and VM screens
 * (`/vnc/<vm>`) proxied to the QEMU backend's VNC unix socket — so no VNC port is reachable without the token.
 * Access control: ./auth.ts. Fixed points scripts rely on: `GET /api/health` (401 without the token, 200 with it)
 * and the WebSocket at `/api/ws`.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { API_VERSION } from '../api';
import { WireRequestSchema, createDispatcher, toApiError, type WireResponse } from '../api/wire';
import { WS_PROTOCOL } from '../api/socket';
import { NestboxError } from '../core/errors';
import type { Home } from '../core/library/home';
import { createService, proxyVnc, type Service } from '../service';
import { Auth, FailureLimiter, OriginPolicy, isLoopbackHost } from './auth';
import { send, serveStatic } from './static';

export interface ServeOptions {
  home: Home;
  /** Address to bind (default 127.0.0.1). */
  host?: string;
  /** Port (default 7780; 0 picks a free one). */
  port?: number;
  /** Required to bind anything but loopback. */
  allowRemote?: boolean;
  /** The built renderer (default dist/renderer next to this module's dist/server). */
  rendererDir?: string;
  /** Request log and warnings (default: stderr). Never receives tokens or query strings. */
  log?: (line: string) => void;
  /** Failed-auth limit per client address (default 30 per minute). */
  authLimit?: { max: number; windowMs: number };
  /** Use this service instead of creating one (it is then not disposed on close). */
  service?: Service;
}

export interface RunningServer {
  /** http://HOST:PORT/#token=… — what the user opens. */
  url: string;
  /** http://HOST:PORT */
  origin: string;
  host: string;
  port: number;
  token: string;
  service: Service;
  /** Graceful stop: no new connections, clients told, running tasks cancelled into resumable states. VMs keep running. */
  close(): Promise<void>;
}

const MAX_MESSAGE = 4 * 1024 * 1024;
/** A client that cannot keep up with this much queued output is disconnected. */
const MAX_BUFFERED = 32 * 1024 * 1024;
const PING_INTERVAL_MS = 30_000;

function securityHeaders(host: string | undefined): Record<string, string> {
  const self = host ? ` ws://${host}` : '';
  return {
    'Content-Security-Policy': [
      "default-src 'self'",
      "script-src 'self'",
      // React/Radix set inline style attributes; no inline <style> elements or scripts are needed.
      "style-src 'self' 'unsafe-inline'",
      "img-src 'self' data: blob:",
      "font-src 'self' data:",
      `connect-src 'self'${self}`,
      "worker-src 'self' blob:",
      "object-src 'none'",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join('; '),
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Permissions-Policy': 'camera=(), microphone=(), geolocation=()',
  };
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): number {
  const buf = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(buf.length), 'Cache-Control': 'no-store' });
  res.end(buf);
  return status;
}

/** Path without the query string — the only part of a URL that is ever logged. */
function pathOf(url: string | undefined): string {
  const u = url ?? '/';
  const q = u.search(/[?#]/);
  return q >= 0 ? u.slice(0, q) : u;
}

function rejectUpgrade(socket: Socket, status: number, message: string, extra: Record<string, string> = {}): void {
  const body = JSON.stringify({ code: status === 401 ? 'AUTH' : status === 429 ? 'BUSY' : 'NOT_ALLOWED', message });
  const head = [`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}`, 'Connection: close', 'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`, ...Object.entries(extra).map(([k, v]) => `${k}: ${v}`)];
  socket.end(head.join('\r\n') + '\r\n\r\n' + body);
}

function externalAddress(): string {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

export async function startServer(o: ServeOptions): Promise<RunningServer> {
  const host = o.host ?? '127.0.0.1';
  const wantPort = o.port ?? 7780;
  const log = o.log ?? ((l: string) => process.stderr.write(l + '\n'));
  if (!isLoopbackHost(host) && !o.allowRemote) {
    throw new NestboxError('INVALID_ARGUMENT', `Refusing to listen on ${host}: it is reachable from other machines, and anyone who learns the URL controls your VMs.`, {
      fix: 'Listen on 127.0.0.1 (the default), or pass --allow-remote if you really mean to expose it (use a firewall or an SSH tunnel).',
      details: { host },
    });
  }
  const rendererDir = path.resolve(o.rendererDir ?? path.join(__dirname, '..', 'renderer'));
  const ownService = !o.service;
  const service = o.service ?? createService({ home: o.home, shell: 'web' });
  const dispatch = createDispatcher(service.handlers);
  const limiter = new FailureLimiter(o.authLimit?.max, o.authLimit?.windowMs);

  const server = http.createServer();
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      reject(
        e.code === 'EADDRINUSE'
          ? new NestboxError('BUSY', `Cannot listen on ${host}:${wantPort}: the port is in use.`, { fix: 'Stop the other server, or pass another port: nestbox serve --listen 127.0.0.1:7781', details: { host, port: wantPort } })
          : e,
      );
    });
    server.listen(wantPort, host, () => resolve());
  });
  const port = (server.address() as import('node:net').AddressInfo).port;
  const auth = new Auth(port);
  const policy = new OriginPolicy(host, port, o.allowRemote ?? false);
  // A wildcard address is not a place to browse to: name the machine's first external IPv4 address instead.
  const shown = host === '0.0.0.0' || host === '::' ? externalAddress() : host;
  const urlHost = shown.includes(':') ? `[${shown}]` : shown;
  const origin = `http://${urlHost}:${port}`;

  const apiWss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_MESSAGE,
    perMessageDeflate: false,
    // The page offers "nestbox" and, on its first socket, "nestbox.token.<token>" to sign in with (see auth.ts):
    // the answer names "nestbox" only, so the token never comes back in a response header.
    handleProtocols: (protocols) => (protocols.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
  });
  const vncWss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_MESSAGE,
    perMessageDeflate: false,
    // noVNC may offer the "binary" subprotocol; accept it (frames are binary either way).
    handleProtocols: (protocols) => (protocols.has('binary') ? 'binary' : false),
  });

  const remote = (req: IncomingMessage) => req.socket.remoteAddress ?? 'unknown';

  /** Host, then Origin, then rate limit, then credentials. Returns null when allowed, else [status, message]. */
  const gate = (req: IncomingMessage, needAuth: boolean): [number, string, Record<string, string>?] | null => {
    if (!policy.hostOk(req)) return [403, 'This server does not answer to that host name.'];
    if (!policy.originOk(req)) return [403, 'Cross-origin requests are not allowed.'];
    if (!needAuth) return null;
    const wait = limiter.blockedFor(remote(req));
    if (wait > 0) return [429, 'Too many failed sign-in attempts; try again later.', { 'Retry-After': String(wait) }];
    const r = auth.check(req);
    if (r === 'ok') return null;
    limiter.fail(remote(req));
    return [401, r === 'missing' ? 'Sign-in required: open the URL printed by `nestbox serve` (it ends in #token=…), or send Authorization: Bearer <token>.' : 'The access token or session is not valid (the server may have restarted with a new token).'];
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const t0 = Date.now();
    const p = pathOf(req.url);
    const headers = securityHeaders(policy.hostOk(req) ? req.headers.host : undefined);
    const done = (status: number) => log(`${req.method} ${p} ${status} ${Date.now() - t0}ms`);
    void handle(req, res, p, headers).then(done, (e) => {
      log(`${req.method} ${p} 500 ${(e as Error).message}`);
      if (!res.headersSent) json(res, 500, { code: 'INTERNAL', message: 'Internal server error.' }, headers);
      else res.destroy();
    });
  });

  const handle = async (req: IncomingMessage, res: ServerResponse, p: string, headers: Record<string, string>): Promise<number> => {
    const isApi = p === '/api' || p.startsWith('/api/') || p.startsWith('/vnc/');
    const denied = gate(req, isApi);
    if (denied) {
      const [status, message, extra] = denied;
      return json(res, status, { code: status === 401 ? 'AUTH' : status === 429 ? 'BUSY' : 'NOT_ALLOWED', message }, { ...headers, ...(status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {}), ...(extra ?? {}) });
    }
    if (isApi) {
      if (p === '/api/health' && (req.method === 'GET' || req.method === 'HEAD')) {
        return json(res, 200, { ok: true, api: API_VERSION }, headers);
      }
      if (p === '/api/session') {
        if (req.method === 'POST') {
          // Opening a session needs the token itself, not just an existing cookie.
          if (!auth.hasToken(req)) return json(res, 401, { code: 'AUTH', message: 'Opening a session needs the access token (Authorization: Bearer <token>).' }, headers);
          res.writeHead(204, { ...headers, 'Set-Cookie': auth.newSessionCookie(), 'Cache-Control': 'no-store' });
          res.end();
          return 204;
        }
        if (req.method === 'DELETE') {
          res.writeHead(204, { ...headers, 'Set-Cookie': auth.clearSession(req), 'Cache-Control': 'no-store' });
          res.end();
          return 204;
        }
        return json(res, 405, { code: 'INVALID_ARGUMENT', message: 'Use POST or DELETE.' }, { ...headers, Allow: 'POST, DELETE' });
      }
      return json(res, 404, { code: 'NOT_FOUND', message: `No API endpoint ${p}.` }, headers);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { ...headers, Allow: 'GET, HEAD' }, 'Method not allowed.');
    return serveStatic(rendererDir, p, req, res, headers);
  };

  // ---- WebSocket upgrades ----
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const p = pathOf(req.url);
    socket.on('error', () => socket.destroy());
    const denied = gate(req, true);
    if (denied) {
      log(`UPGRADE ${p} ${denied[0]}`);
      rejectUpgrade(socket, denied[0], denied[1], denied[2]);
      return;
    }
    if (p === '/api/ws') {
      apiWss.handleUpgrade(req, socket, head, (ws) => onApiClient(ws));
      log(`UPGRADE ${p} 101`);
      return;
    }
    const m = /^\/vnc\/([^/]+)$/.exec(p);
    if (m) {
      let name: string;
      try {
        name = decodeURIComponent(m[1]!);
      } catch {
        rejectUpgrade(socket, 400, 'Bad VM name.');
        return;
      }
      log(`UPGRADE /vnc/… 101`);
      vncWss.handleUpgrade(req, socket, head, (ws) => void onVncClient(ws, name));
      return;
    }
    log(`UPGRADE ${p} 404`);
    rejectUpgrade(socket, 404, 'No such WebSocket endpoint.');
  });

  // ---- the contract over the WebSocket ----
  const clients = new Set<WebSocket>();
  const alive = new WeakMap<WebSocket, boolean>();
  let nextClient = 1;

  const unsubscribe = service.events.subscribe((event, payload) => {
    if (clients.size === 0) return;
    const frame = JSON.stringify({ t: 'evt', event, payload });
    for (const ws of clients) sendFrame(ws, frame);
  });

  const sendFrame = (ws: WebSocket, frame: string) => {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > MAX_BUFFERED) {
      ws.close(1013, 'Client too slow.');
      return;
    }
    ws.send(frame);
  };

  const onApiClient = (ws: WebSocket) => {
    const ctx = { client: `ws-${nextClient++}` };
    clients.add(ws);
    alive.set(ws, true);
    ws.on('pong', () => alive.set(ws, true));
    ws.on('close', () => clients.delete(ws));
    ws.on('error', () => ws.terminate());
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        ws.close(1003, 'Text frames only.');
        return;
      }
      let msg: unknown;
      try {
        msg = JSON.parse(data.toString());
      } catch {
        ws.close(1007, 'Malformed JSON.');
        return;
      }
      const parsed = WireRequestSchema.safeParse(msg);
      if (!parsed.success) {
        const id = (msg as { id?: unknown })?.id;
        if (typeof id === 'number' && Number.isInteger(id)) {
          sendFrame(ws, JSON.stringify({ t: 'res', id, ok: false, error: toApiError(parsed.error) } satisfies WireResponse));
        }
        return;
      }
      const { id, method, params } = parsed.data;
      void dispatch(method, params, ctx).then((outcome) => {
        const res: WireResponse = outcome.ok ? { t: 'res', id, ok: true, result: outcome.result } : { t: 'res', id, ok: false, error: outcome.error };
        sendFrame(ws, JSON.stringify(res));
      });
    });
  };

  const pinger = setInterval(() => {
    for (const ws of clients) {
      if (!alive.get(ws)) {
        ws.terminate();
        continue;
      }
      alive.set(ws, false);
      ws.ping();
    }
  }, PING_INTERVAL_MS);
  pinger.unref();

  // ---- VM screens ----
  const vncClients = new Set<WebSocket>();
  const onVncClient = async (ws: WebSocket, name: string) => {
    // Hold what the viewer sends until the proxy is attached (proxyVnc resumes).
    ws.pause();
    vncClients.add(ws);
    ws.on('close', () => vncClients.delete(ws));
    let target;
    try {
      target = await service.vncTarget(name);
    } catch (e) {
      const err = toApiError(e);
      ws.resume();
      // 4000 + a code the viewer can show: the reason text carries the message (≤ 123 bytes).
      ws.close(err.code === 'NOT_RUNNING' ? 4409 : err.code === 'NOT_FOUND' ? 4404 : 4500, Buffer.from(err.message).subarray(0, 120).toString());
      return;
    }
    if (ws.readyState !== ws.OPEN) {
      ws.resume();
      return;
    }
    proxyVnc(ws, target);
  };

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      clearInterval(pinger);
      const stopped = new Promise<void>((r) => server.close(() => r()));
      // Cancel running tasks while clients are still connected, so they see the final (resumable) states.
      if (ownService) await service.dispose();
      unsubscribe();
      await new Promise<void>((r) => {
        void stopped.then(r);
        for (const ws of [...clients, ...vncClients]) ws.close(1001, 'Nestbox is shutting down.');
        server.closeIdleConnections();
        setTimeout(() => {
          for (const ws of [...clients, ...vncClients]) ws.terminate();
          server.closeAllConnections();
        }, 1000).unref();
      });
      apiWss.close();
      vncWss.close();
    })());

  return { url: `${origin}/#token=${auth.token}`, origin, host, port, token: auth.token, service, close };
}
