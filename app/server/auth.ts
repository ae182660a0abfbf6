/**
 * `nestbox serve` access control.
 *
 * The flow (the web bridge, app/renderer/src/bridge/web.ts, follows it):
 *  1. Each start makes a random 256-bit access token and prints `http://HOST:PORT/#token=<token>`. The token sits in
 *     the URL fragment, which browsers never send to servers, so it does not appear in request lines or logs.
 *  2. The page (static files need no token) reads the fragment, removes it from the address bar, and calls
 *     `POST api/session` with `Authorization: Bearer <token>`. The server answers 204 with a session cookie
 *     `nestbox_session_<port>=<random session id>; HttpOnly; SameSite=Strict; Path=/`.
 *  3. Every API request and WebSocket upgrade (`api/ws`, `vnc/<vm>`) must carry either that cookie or
 *     `Authorization: Bearer <token>` (scripts: `curl -H "Authorization: Bearer $T" …/api/health`). A browser cannot
 *     set headers on a WebSocket, so the page's first `api/ws` socket, opened alongside step 2 rather than after it,
 *     offers the token as a subprotocol instead: `Sec-WebSocket-Protocol: nestbox, nestbox.token.<token>`; the
 *     server answers with `nestbox` only, never echoing the token.
 *  4. Host must name this server (loopback names when bound to loopback — defeats DNS rebinding), and any Origin
 *     must be this server's own (defeats cross-site requests and cross-site WebSocket hijacking).
 *  5. Failed authentications are counted per client address: after `max` failures within `windowMs`, requests that
 *     need authentication are answered 429 without looking at credentials until the window passes.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { WS_TOKEN_PREFIX } from '../api/socket';

export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Constant-time comparison (the hashes have equal length whatever the inputs). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    const k = part.slice(0, i).trim();
    const v = part.slice(i + 1).trim();
    if (!out.has(k)) out.set(k, v);
  }
  return out;
}

export function bearerOf(req: IncomingMessage): string | null {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m ? m[1]! : null;
}

/** The token a WebSocket upgrade offers as the subprotocol `nestbox.token.<token>`, if any. */
export function protocolTokenOf(req: IncomingMessage): string | null {
  const h = req.headers['sec-websocket-protocol'];
  if (typeof h !== 'string') return null;
  for (const p of h.split(',')) {
    const v = p.trim();
    if (v.startsWith(WS_TOKEN_PREFIX)) return v.slice(WS_TOKEN_PREFIX.length);
  }
  return null;
}

export type AuthResult = 'ok' | 'missing' | 'invalid';

export class Auth {
  readonly token: string;
  readonly cookieName: string;
  private readonly sessions = new Set<string>();

  constructor(port: number, token = newSecret()) {
    this.token = token;
    // Cookies are not port-scoped: name it by port so two servers on one host do not overwrite each other's.
    this.cookieName = `nestbox_session_${port}`;
  }

  /** Bearer token, the token offered as a WebSocket subprotocol, or session cookie. */
  check(req: IncomingMessage): AuthResult {
    const bearer = bearerOf(req);
    if (bearer !== null) return safeEqual(bearer, this.token) ? 'ok' : 'invalid';
    // A stale token from an old link may come with a good cookie: the cookie decides then.
    const offered = protocolTokenOf(req);
    if (offered !== null && safeEqual(offered, this.token)) return 'ok';
    const cookie = parseCookies(req.headers.cookie).get(this.cookieName);
    if (cookie === undefined) return offered !== null ? 'invalid' : 'missing';
    for (const s of this.sessions) if (safeEqual(cookie, s)) return 'ok';
    return 'invalid';
  }

  /** Whether the request carries the access token itself (required to open a session). */
  hasToken(req: IncomingMessage): boolean {
    const bearer = bearerOf(req);
    return bearer !== null && safeEqual(bearer, this.token);
  }

  newSessionCookie(): string {
    const id = newSecret();
    this.sessions.add(id);
    if (this.sessions.size > 1000) this.sessions.delete(this.sessions.values().next().value!);
    return `${this.cookieName}=${id}; HttpOnly; SameSite=Strict; Path=/`;
  }

  clearSession(req: IncomingMessage): string {
    const cookie = parseCookies(req.headers.cookie).get(this.cookieName);
    if (cookie !== undefined) for (const s of this.sessions) if (safeEqual(cookie, s)) this.sessions.delete(s);
    return `${this.cookieName}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`;
  }
}

/** Counts failed authentications per client address. */
export class FailureLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    readonly max = 30,
    readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds until this address may try again; 0 when it is not blocked. */
  blockedFor(addr: string): number {
    const list = this.prune(addr);
    if (list.length < this.max) return 0;
    return Math.max(1, Math.ceil((list[0]! + this.windowMs - this.now()) / 1000));
  }

  fail(addr: string): void {
    const list = this.prune(addr);
    list.push(this.now());
    this.failures.set(addr, list);
    if (this.failures.size > 10_000) this.failures.delete(this.failures.keys().next().value!);
  }

  private prune(addr: string): number[] {
    const list = this.failures.get(addr) ?? [];
    const cutoff = this.now() - this.windowMs;
    while (list.length > 0 && list[0]! <= cutoff) list.shift();
    if (list.length === 0) this.failures.delete(addr);
    return list;
  }
}

// ---------- Host / Origin ----------

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(?:\.\d{1,3}){3}$/.test(h);
}

export class OriginPolicy {
  private readonly allowedHosts: Set<string> | null;

  constructor(listenHost: string, port: number, allowRemote: boolean) {
    if (allowRemote && !isLoopbackHost(listenHost)) {
      // Reached by whatever name the network gives it: the token is the guard (Host cannot be enumerated).
      this.allowedHosts = null;
    } else {
      const names = new Set([...LOOPBACK_NAMES, listenHost.includes(':') && !listenHost.startsWith('[') ? `[${listenHost}]` : listenHost]);
      this.allowedHosts = new Set([...names].map((n) => `${n}:${port}`.toLowerCase()));
    }
  }

  hostOk(req: IncomingMessage): boolean {
    const host = req.headers.host;
    if (typeof host !== 'string' || host.length === 0) return false;
    return this.allowedHosts === null || this.allowedHosts.has(host.toLowerCase());
  }

  /** No Origin (non-browser clients) is fine; a present Origin must be this server as the client addressed it. */
  originOk(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    if (typeof origin !== 'string' || origin === 'null') return false;
    return origin.toLowerCase() === `http://${String(req.headers.host).toLowerCase()}`;
  }
}
