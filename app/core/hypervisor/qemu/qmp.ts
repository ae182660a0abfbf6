/**
 * A minimal QMP client over a unix socket: greeting → qmp_capabilities → commands, with events delivered to
 * listeners. QEMU serves one client per QMP socket at a time, so callers connect per operation and close soon.
 */
import net from 'node:net';
import { EventEmitter } from 'node:events';
import { NestboxError } from '../../errors';

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export class QmpClient extends EventEmitter {
  private buf = '';
  private readonly pending: Pending[] = [];
  private closed = false;

  private constructor(private readonly sock: net.Socket) {
    super();
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => this.onData(d));
    sock.on('close', () => this.onClose(new Error('QMP connection closed')));
    sock.on('error', (e) => this.onClose(e));
  }

  /** Connects and negotiates capabilities; rejects after timeoutMs (e.g. another client holds the socket). */
  static connect(path: string, timeoutMs = 10_000): Promise<QmpClient> {
    return new Promise((resolve, reject) => {
      const sock = net.connect(path);
      let greeted = false;
      let buf = '';
      const fail = (e: Error) => {
        clearTimeout(timer);
        sock.destroy();
        reject(e);
      };
      const timer = setTimeout(() => fail(new NestboxError('TIMEOUT', `QEMU's control socket did not answer within ${timeoutMs} ms.`, { details: { path } })), timeoutMs);
      const onData = (d: Buffer) => {
        buf += d.toString('utf8');
        const nl = buf.indexOf('\n');
        if (!greeted && nl >= 0) {
          greeted = true;
          sock.off('data', onData);
          sock.off('error', fail);
          clearTimeout(timer);
          const client = new QmpClient(sock);
          client.buf = buf.slice(nl + 1);
          client.execute('qmp_capabilities').then(
            () => resolve(client),
            (e) => {
              client.close();
              reject(e);
            },
          );
        }
      };
      sock.on('data', onData);
      sock.on('error', fail);
    });
  }

  /** Runs one command; rejects with the QMP error's description. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('QMP connection closed'));
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ resolve: resolve as (v: unknown) => void, reject });
      this.sock.write(JSON.stringify(args ? { execute: command, arguments: args } : { execute: command }) + '\n');
    });
  }

  /** Human monitor command (for things QMP lacks). */
  hmp(commandLine: string): Promise<string> {
    return this.execute<string>('human-monitor-command', { 'command-line': commandLine });
  }

  /** Resolves with the first event named `name` (optionally matching pred) or rejects after timeoutMs. */
  waitEvent(name: string, timeoutMs: number, pred: (e: QmpEvent) => boolean = () => true): Promise<QmpEvent> {
    return new Promise((resolve, reject) => {
      const onEvent = (e: QmpEvent) => {
        if (e.event === name && pred(e)) {
          cleanup();
          resolve(e);
        }
      };
      const onClose = () => {
        cleanup();
        reject(new Error('QMP connection closed'));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new NestboxError('TIMEOUT', `QEMU did not report ${name} within ${timeoutMs} ms.`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.off('event', onEvent);
        this.off('closed', onClose);
      };
      this.on('event', onEvent);
      this.on('closed', onClose);
    });
  }

  close(): void {
    this.closed = true;
    this.sock.destroy();
  }

  private onData(d: string): void {
    this.buf += d;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (!line) continue;
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line);
      } catch {
        continue;
      }
      if ('event' in msg) {
        this.emit('event', msg as unknown as QmpEvent);
      } else if ('return' in msg) {
        this.pending.shift()?.resolve(msg.return);
      } else if ('error' in msg) {
        const err = msg.error as { class?: string; desc?: string };
        this.pending.shift()?.reject(new NestboxError('HYPERVISOR', `QEMU refused: ${err.desc ?? 'unknown error'}`, { details: { class: err.class } }));
      }
    }
  }

  private onClose(e: Error): void {
    if (this.closed && this.pending.length === 0) {
      this.emit('closed');
      return;
    }
    this.closed = true;
    for (const p of this.pending.splice(0)) p.reject(e);
    this.emit('closed');
  }
}

/** Connects, runs fn, always closes. */
export async function withQmp<T>(path: string, fn: (q: QmpClient) => Promise<T>, timeoutMs?: number): Promise<T> {
  const q = await QmpClient.connect(path, timeoutMs);
  try {
    return await fn(q);
  } finally {
    q.close();
  }
}
