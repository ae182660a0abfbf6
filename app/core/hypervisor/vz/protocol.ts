/**
 * Control protocol between the VZ backend (any Nestbox process: CLI, app, server) and a VM's runner process:
 * newline-delimited JSON over a Unix socket. Requests `{id, op, args?}`, replies `{id, ok: true, result}` or
 * `{id, ok: false, error: {code, message, fix?}}`. The socket lives outside the VM folder (short path, not copied
 * by clone, invisible to Tart); its path is recorded in <vm>/nestbox-vz-runtime.json together with the pid.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { NestboxError, type ErrorCode } from '../../errors';

export type ControlOp = 'status' | 'stop' | 'requestStop' | 'pause' | 'resume' | 'suspend' | 'showWindow' | 'closeWindow';

export interface ControlRequest {
  id: number;
  op: ControlOp;
  args?: Record<string, unknown>;
}

export type ControlReply = { id: number; ok: true; result?: unknown } | { id: number; ok: false; error: { code: string; message: string; fix?: string } };

export const RUNTIME_FILE = 'nestbox-vz-runtime.json';

export interface RuntimeInfo {
  pid: number;
  socket: string;
  startedAt: string;
  queue: 'main' | 'private';
}

/** A short, per-user socket path for a VM folder (sun_path is limited to 104 bytes on macOS). */
export function controlSocketPath(vmDir: string, tmp = os.tmpdir()): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  const h = createHash('sha256').update(path.resolve(vmDir)).digest('hex').slice(0, 20);
  return path.join(tmp, `nestbox-vz-${uid}`, `${h}.sock`);
}

/** Sends one request and waits for its reply (or the timeout). */
export function controlCall(socket: string, op: ControlOp, args: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const c = net.createConnection(socket);
    let buf = '';
    const timer = setTimeout(() => {
      c.destroy();
      reject(new NestboxError('TIMEOUT', `The VM's runner did not answer "${op}" within ${Math.round(timeoutMs / 1000)} s.`, { fix: 'Try again; if it persists, stop the VM with --force.' }));
    }, timeoutMs);
    c.on('connect', () => c.write(JSON.stringify({ id: 1, op, args } satisfies ControlRequest) + '\n'));
    c.on('data', (d) => {
      buf += d.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      c.end();
      let reply: ControlReply;
      try {
        reply = JSON.parse(buf.slice(0, nl)) as ControlReply;
      } catch {
        reject(new NestboxError('INTERNAL', "The VM's runner sent an unreadable reply."));
        return;
      }
      if (reply.ok) resolve(reply.result);
      else reject(new NestboxError((reply.error.code as ErrorCode) ?? 'HYPERVISOR', reply.error.message, { fix: reply.error.fix }));
    });
    c.on('error', (e) => {
      clearTimeout(timer);
      reject(new NestboxError('NOT_RUNNING', `Cannot reach the VM's runner (${(e as Error).message}).`, { fix: 'Check that the VM is running (nestbox list).', cause: e }));
    });
  });
}

/** Serves requests; `handle` returns the result or throws (NestboxError keeps its code). */
export function serveControl(socket: string, handle: (op: ControlOp, args: Record<string, unknown>) => Promise<unknown>): net.Server {
  const server = net.createServer((c) => {
    let buf = '';
    c.on('data', (d) => {
      buf += d.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let req: ControlRequest;
        try {
          req = JSON.parse(line) as ControlRequest;
        } catch {
          c.end(JSON.stringify({ id: 0, ok: false, error: { code: 'INVALID_ARGUMENT', message: 'unreadable request' } }) + '\n');
          return;
        }
        handle(req.op, req.args ?? {}).then(
          (result) => c.write(JSON.stringify({ id: req.id, ok: true, result } satisfies ControlReply) + '\n'),
          (e: unknown) => {
            const x = e as { code?: string; message?: string; fix?: string };
            const error = { code: e instanceof NestboxError ? e.code : (x.code ?? 'HYPERVISOR'), message: x.message ?? String(e), ...(x.fix ? { fix: x.fix } : {}) };
            c.write(JSON.stringify({ id: req.id, ok: false, error } satisfies ControlReply) + '\n');
          },
        );
      }
    });
    c.on('error', () => {});
  });
  server.listen(socket);
  return server;
}
