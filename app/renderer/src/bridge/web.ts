/**
 * The browser side of `nestbox serve`: a NestboxBridge over the authenticated WebSocket (`api/ws`), speaking the
 * wire messages of app/api/wire.ts. Browser code only.
 *
 * Sign-in (see app/server/auth.ts): the printed URL carries the access token in the fragment (`#token=…`), which
 * browsers never send to the server. On load this bridge takes it out of the address bar, trades it for an HttpOnly
 * SameSite=Strict session cookie (`POST api/session` with `Authorization: Bearer`), then opens the WebSocket, which
 * the cookie authenticates. A reload without the fragment reuses the cookie.
 *
 * Requests get ids; replies are matched by id. Events fan out to every subscriber. When the connection drops,
 * pending requests resolve with a structured DISCONNECTED error and the bridge reconnects with backoff; after a
 * reconnect subscribers get `library.changed` for VMs and images so views refetch what they may have missed.
 * A refused sign-in turns into an AUTH error telling the user to open the printed URL.
 */
import type { ApiError } from '../../../api/models';
import { readWireFrame } from '../../../api/jsonClient';
import { WS_PROTOCOL, WS_TOKEN_PREFIX } from '../../../api/socket';
import type { InvokeOutcome, NestboxBridge } from '../../../api/wire';

const DISCONNECTED: ApiError = {
  code: 'DISCONNECTED',
  message: 'Lost the connection to nestbox serve.',
  fix: 'Check that `nestbox serve` is still running; this page reconnects by itself.',
};

const NOT_SIGNED_IN: ApiError = {
  code: 'AUTH',
  message: 'This page is not signed in to nestbox serve.',
  fix: 'Open the URL that `nestbox serve` printed (it ends in #token=…). A restarted server prints a new one.',
};

/** Reconnect delays: quick first, then at most 10 s apart (30 s while sign-in is refused). */
function backoff(attempt: number, authFailed: boolean): number {
  if (authFailed) return 30_000;
  const base = Math.min(10_000, 250 * 2 ** Math.min(attempt, 6));
  return base / 2 + Math.random() * (base / 2);
}

/** Takes `token` out of the fragment (and the fragment out of the address bar and history). */
function takeTokenFromLocation(): string | null {
  if (typeof location === 'undefined' || !location.hash || location.hash.length < 2) return null;
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get('token');
  if (token === null) return null;
  params.delete('token');
  const rest = params.toString();
  try {
    history.replaceState(history.state, '', `${location.pathname}${location.search}${rest ? `#${rest}` : ''}`);
  } catch {
    // not fatal: the token only stays visible in the address bar
  }
  return token;
}

export function createWebBridge(opts: { url?: string } = {}): NestboxBridge {
  const base = new URL('.', location.href);
  const wsUrl = (() => {
    const u = new URL(opts.url ?? 'api/ws', base);
    if (u.protocol === 'http:') u.protocol = 'ws:';
    else if (u.protocol === 'https:') u.protocol = 'wss:';
    return u.toString();
  })();
  // api/session and api/health sit next to api/ws.
  const apiBase = new URL('./', wsUrl.replace(/^ws/, 'http'));
  const httpUrl = (p: string) => new URL(p, apiBase).toString();

  const listeners = new Set<(event: string, payload: unknown) => void>();
  const pending = new Map<number, (o: InvokeOutcome) => void>();
  /** Requests made while not connected: sent on connect, failed if the connection cannot be made. */
  let queue: { id: number; frame: string }[] = [];
  let nextId = 1;
  let ws: WebSocket | null = null;
  let connecting = false;
  let attempt = 0;
  let everConnected = false;
  let authFailed = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let token = takeTokenFromLocation();

  const deliver = (event: string, payload: unknown) => {
    for (const l of [...listeners]) {
      try {
        l(event, payload);
      } catch (e) {
        console.error('nestbox: event listener failed', e);
      }
    }
  };

  const failAll = (error: ApiError) => {
    for (const [, resolve] of pending) resolve({ ok: false, error });
    pending.clear();
    queue = [];
  };

  /** Trades the fragment's token for the session cookie (once). */
  const signIn = async (): Promise<void> => {
    if (token === null) return;
    const res = await fetch(httpUrl('session'), { method: 'POST', headers: { Authorization: `Bearer ${token}` }, credentials: 'same-origin', cache: 'no-store' });
    if (res.status === 204 || res.ok) {
      token = null;
      return;
    }
    if (res.status === 401) {
      token = null; // a stale link: fall back to the cookie, if any
      return;
    }
    throw new Error(`sign-in answered ${res.status}`);
  };

  /** After a failed connect: is it the network, or are we not signed in? */
  const probeAuth = async (): Promise<boolean> => {
    try {
      const res = await fetch(httpUrl('health'), { credentials: 'same-origin', cache: 'no-store' });
      return res.status === 401;
    } catch {
      return false;
    }
  };

  const schedule = () => {
    if (timer !== null) return;
    timer = setTimeout(() => {
      timer = null;
      connect();
    }, backoff(attempt++, authFailed));
  };

  /** Set while the token is being traded for the cookie; the first socket's queue waits for it (see connect). */
  let signingIn: Promise<void> | null = null;

  const connect = () => {
    if (ws || connecting) return;
    connecting = true;
    // With the printed URL's token in hand, the socket does not wait for the cookie: it offers the token itself as a
    // subprotocol (browsers cannot set headers on a WebSocket), and the cookie — for reloads, thumbnails and the VNC
    // sockets — is fetched alongside. One round trip fewer before the library arrives.
    const offered = token;
    if (offered !== null) {
      signingIn = signIn()
        .catch(() => {})
        .finally(() => {
          signingIn = null;
        });
    }
    let opened = false;
    const s = offered !== null ? new WebSocket(wsUrl, [WS_PROTOCOL, `${WS_TOKEN_PREFIX}${offered}`]) : new WebSocket(wsUrl);
    s.onopen = () => {
      opened = true;
      connecting = false;
      ws = s;
      attempt = 0;
      authFailed = false;
      const reconnected = everConnected;
      everConnected = true;
      const flush = () => {
        if (ws !== s) return;
        const toSend = queue;
        queue = [];
        for (const q of toSend) s.send(q.frame);
      };
      // Replies may name thumbnails that need the cookie: let a sign-in still under way finish first (it
      // normally has; then this is a microtask, not a wait).
      if (signingIn) void signingIn.then(flush);
      else flush();
      if (reconnected) {
        // Events may have been missed while away: have views refetch.
        deliver('library.changed', { scope: 'vms' });
        deliver('library.changed', { scope: 'images' });
      }
    };
    s.onmessage = (m) => {
      if (typeof m.data !== 'string') return;
      let data: unknown;
      try {
        data = JSON.parse(m.data);
      } catch {
        return;
      }
      const frame = readWireFrame(data);
      if (frame?.kind === 'res') {
        const res = frame.res;
        const resolve = pending.get(res.id);
        if (!resolve) return;
        pending.delete(res.id);
        resolve(res.ok ? { ok: true, result: res.result } : { ok: false, error: res.error });
        return;
      }
      if (frame?.kind === 'evt') deliver(frame.evt.event, frame.evt.payload);
    };
    s.onerror = () => {
      // onclose follows
    };
    s.onclose = () => {
      connecting = false;
      ws = null;
      if (opened) {
        failAll(DISCONNECTED);
        schedule();
        return;
      }
      void probeAuth().then((notSignedIn) => {
        authFailed = notSignedIn;
        failAll(notSignedIn ? NOT_SIGNED_IN : DISCONNECTED);
        schedule();
      });
    };
  };

  return {
    invoke(method: string, params: unknown): Promise<InvokeOutcome> {
      const id = nextId++;
      let frame: string;
      try {
        frame = JSON.stringify({ t: 'req', id, method, params: params ?? {} });
      } catch (e) {
        return Promise.resolve({ ok: false, error: { code: 'INVALID_ARGUMENT', message: `The parameters of "${method}" cannot be sent: ${(e as Error).message}.` } });
      }
      return new Promise<InvokeOutcome>((resolve) => {
        pending.set(id, resolve);
        if (ws && ws.readyState === WebSocket.OPEN) {
          ws.send(frame);
          return;
        }
        if (authFailed && !connecting) {
          pending.delete(id);
          resolve({ ok: false, error: NOT_SIGNED_IN });
          // Try again now: the user may have signed in from another tab meanwhile.
          if (timer !== null) {
            clearTimeout(timer);
            timer = null;
          }
          connect();
          return;
        }
        queue.push({ id, frame });
        if (timer !== null) {
          // Someone is waiting: do not sit out the backoff.
          clearTimeout(timer);
          timer = null;
        }
        connect();
      });
    },
    subscribe(listener) {
      listeners.add(listener);
      connect();
      return () => {
        listeners.delete(listener);
      };
    },
  };
}
