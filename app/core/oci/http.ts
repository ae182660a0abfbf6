import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';

/**
 * Minimal HTTP client over node:http/https with keep-alive agents (one set per thread), an idle timeout (a stalled
 * connection is a transport error, which callers retry) and redirects for GET/HEAD (Authorization is dropped when
 * the redirect leaves the registry's host, e.g. to a CDN).
 */
const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 32 });
const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 32 });

export const USER_AGENT = `Nestbox/${process.env.npm_package_version ?? '0.1'} (${process.platform}; ${process.arch})`;

export class TransportError extends Error {
  constructor(
    message: string,
    readonly errno?: string,
  ) {
    super(message);
  }
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string | number>;
  /** A buffer or a stream (give Content-Length in headers for streams, or chunked encoding is used). */
  body?: Buffer | Readable;
  /** Idle time without any byte before the request fails (default 60 s, like Foundation). */
  timeoutMs?: number;
  signal?: AbortSignal;
  maxRedirects?: number;
}

export function request(url: string, o: RequestOptions = {}): Promise<http.IncomingMessage> {
  return requestOnce(new URL(url), o, o.maxRedirects ?? 5);
}

function requestOnce(u: URL, o: RequestOptions, redirectsLeft: number): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const lib = u.protocol === 'https:' ? https : http;
    const headers: Record<string, string | number> = { 'User-Agent': USER_AGENT, ...(o.headers ?? {}) };
    if (Buffer.isBuffer(o.body)) headers['Content-Length'] = o.body.length;
    const req = lib.request(u, { method: o.method ?? 'GET', headers, agent: u.protocol === 'https:' ? httpsAgent : httpAgent });
    let settled = false;
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      req.destroy();
      reject(e);
    };
    const onAbort = () => fail(Object.assign(new Error('aborted'), { name: 'AbortError' }));
    // Before any destroy(): a request destroyed before it connects emits 'error' (ECONNRESET), which must not go unhandled.
    req.on('error', (e) => fail(new TransportError(`${u.host}: ${e.message}`, (e as NodeJS.ErrnoException).code)));
    if (o.signal) {
      if (o.signal.aborted) return onAbort();
      o.signal.addEventListener('abort', onAbort, { once: true });
    }
    req.setTimeout(o.timeoutMs ?? 60_000, () => fail(new TransportError(`no response from ${u.host} for ${Math.round((o.timeoutMs ?? 60_000) / 1000)} s`, 'ETIMEDOUT')));
    req.on('response', (res) => {
      if (settled) {
        res.destroy();
        return;
      }
      const method = o.method ?? 'GET';
      const status = res.statusCode ?? 0;
      if ((method === 'GET' || method === 'HEAD') && [301, 302, 303, 307, 308].includes(status) && res.headers.location && redirectsLeft > 0) {
        res.resume();
        settled = true;
        o.signal?.removeEventListener('abort', onAbort);
        const next = new URL(res.headers.location, u);
        const h = { ...(o.headers ?? {}) };
        if (next.host !== u.host) for (const k of Object.keys(h)) if (k.toLowerCase() === 'authorization') delete h[k];
        requestOnce(next, { ...o, headers: h }, redirectsLeft - 1).then(resolve, reject);
        return;
      }
      settled = true;
      // Keep the idle timeout active while the body streams: a stall mid-body destroys the response with an error.
      const sock = res.socket;
      const onIdle = () => res.destroy(new TransportError(`${u.host} stalled for ${Math.round((o.timeoutMs ?? 60_000) / 1000)} s`, 'ETIMEDOUT'));
      sock?.setTimeout(o.timeoutMs ?? 60_000);
      sock?.on('timeout', onIdle);
      res.once('close', () => {
        o.signal?.removeEventListener('abort', onAbort);
        sock?.off('timeout', onIdle);
        sock?.setTimeout(0);
      });
      resolve(res);
    });
    if (o.body === undefined) req.end();
    else if (Buffer.isBuffer(o.body)) req.end(o.body);
    else {
      o.body.on('error', (e) => fail(e));
      o.body.pipe(req);
    }
  });
}

export async function readBody(res: http.IncomingMessage, limit = 64 * 1024 * 1024): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of res) {
    n += (c as Buffer).length;
    if (n > limit) {
      res.destroy();
      throw new TransportError(`response larger than ${limit} bytes`);
    }
    parts.push(c as Buffer);
  }
  return Buffer.concat(parts);
}

/** Drains a response we do not need (keeps the socket reusable). */
export function discard(res: http.IncomingMessage): Promise<void> {
  return new Promise((resolve) => {
    res.on('end', resolve);
    res.on('error', () => resolve());
    res.on('close', () => resolve());
    res.resume();
  });
}

/** Registry error text from an OCI error body ({"errors":[{code,message}]}), secret-free. */
export function registryErrorText(body: Buffer): string {
  try {
    const j = JSON.parse(body.toString('utf8')) as { errors?: { code?: string; message?: string }[] };
    if (j.errors?.length) return j.errors.map((e) => [e.code, e.message].filter(Boolean).join(': ')).join('; ');
  } catch {}
  return body.toString('utf8').slice(0, 200).trim();
}
