/**
 * A fault-injecting HTTP reverse proxy between the client and a registry, on 127.0.0.1 with a free port.
 * Counts the response bytes it forwards per blob, and applies rules: drop the connection after N bytes of a blob,
 * answer a 5xx instead of forwarding, or stall (send nothing more) after N bytes.
 */
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type net from 'node:net';

export type FaultAction = { kind: 'drop'; afterBytes: number } | { kind: 'status'; code: number } | { kind: 'stall'; afterBytes: number };

export interface FaultRule {
  method?: string;
  /** Matches the request path (e.g. /\/blobs\/sha256:/). */
  path: RegExp;
  action: FaultAction;
  /** How many matching requests the rule applies to (default 1). */
  times?: number;
}

export interface FaultProxy extends EventEmitter {
  host: string;
  port: number;
  rules: FaultRule[];
  /** Response bytes forwarded for GET /v2/…/blobs/<digest>, by digest. */
  blobBytes: Map<string, number>;
  /** Request bytes forwarded for uploads (PATCH/PUT bodies). */
  uploadBytes(): number;
  requests: { method: string; path: string; status: number }[];
  totalBlobBytes(): number;
  stop(): Promise<void>;
}

export async function startFaultProxy(target: { port: number }): Promise<FaultProxy> {
  const ev = new EventEmitter() as FaultProxy;
  ev.rules = [];
  ev.blobBytes = new Map();
  ev.requests = [];
  let uploaded = 0;
  const sockets = new Set<net.Socket>();
  const take = (req: http.IncomingMessage): FaultAction | null => {
    for (const r of ev.rules) {
      if ((r.method && r.method !== req.method) || !r.path.test(req.url ?? '')) continue;
      const left = r.times ?? 1;
      if (left <= 0) continue;
      r.times = left - 1;
      return r.action;
    }
    return null;
  };
  const server = http.createServer((req, res) => {
    const action = take(req);
    const entry = { method: req.method ?? '', path: req.url ?? '', status: 0 };
    ev.requests.push(entry);
    if (action?.kind === 'status') {
      req.resume();
      entry.status = action.code;
      res.writeHead(action.code, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAVAILABLE","message":"injected fault"}]}');
      return;
    }
    const up = http.request({ host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers: req.headers });
    req.on('data', (d: Buffer) => (uploaded += d.length));
    req.pipe(up);
    up.on('error', () => res.destroy());
    up.on('response', (r) => {
      entry.status = r.statusCode ?? 0;
      res.writeHead(r.statusCode ?? 502, r.headers);
      const m = /\/blobs\/(sha256:[a-f0-9]{64})/.exec(req.url ?? '');
      const digest = req.method === 'GET' && m ? m[1]! : null;
      let sent = 0;
      r.on('data', (d: Buffer) => {
        if (action && (action.kind === 'drop' || action.kind === 'stall') && sent + d.length > action.afterBytes) {
          const part = d.subarray(0, Math.max(0, action.afterBytes - sent));
          if (part.length) res.write(part);
          sent += part.length;
          if (digest) ev.blobBytes.set(digest, (ev.blobBytes.get(digest) ?? 0) + part.length);
          r.destroy();
          if (action.kind === 'drop') res.socket?.destroy();
          // stall: keep the client's socket open, send nothing more
          return;
        }
        // Respect backpressure, so counted bytes are bytes handed to the client's connection, not queued here.
        if (!res.write(d)) {
          r.pause();
          res.once('drain', () => r.resume());
        }
        sent += d.length;
        if (digest) {
          const total = (ev.blobBytes.get(digest) ?? 0) + d.length;
          ev.blobBytes.set(digest, total);
          ev.emit('blob-bytes', digest, total);
        }
      });
      r.on('end', () => res.end());
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  ev.port = (server.address() as net.AddressInfo).port;
  ev.host = `127.0.0.1:${ev.port}`;
  ev.uploadBytes = () => uploaded;
  ev.totalBlobBytes = () => [...ev.blobBytes.values()].reduce((a, b) => a + b, 0);
  ev.stop = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return ev;
}
