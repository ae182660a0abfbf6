/**
 * Pipes a WebSocket (binary frames, what noVNC speaks) to a VM's VNC server on a unix socket (the QEMU backend's
 * display) or loopback TCP. Used by `nestbox serve` (/vnc/<vm>, behind its token) and by the Electron main process,
 * so no VNC port is ever reachable without authentication.
 *
 * Flow control both ways: the socket is paused while the WebSocket has more than `highWaterMark` bytes queued,
 * and the WebSocket is paused while the socket's write buffer is full.
 */
import net from 'node:net';
import type { WebSocket } from 'ws';

export type VncTarget = { path: string } | { host: string; port: number };

export interface VncProxyOptions {
  /** Bytes queued towards the browser before reading from VNC pauses (default 4 MiB). */
  highWaterMark?: number;
  /** Called once when both sides are closed. */
  onClose?(reason: string): void;
}

export interface VncProxy {
  close(reason?: string): void;
  /** Resolves when both sides are closed. */
  closed: Promise<void>;
}

/** WebSocket close codes the proxy uses (4000–4999 are for applications). */
export const VNC_CLOSE = { normal: 1000, unreachable: 4502, serverGone: 4503 } as const;

export function proxyVnc(ws: WebSocket, target: VncTarget, o: VncProxyOptions = {}): VncProxy {
  const hwm = o.highWaterMark ?? 4 * 1024 * 1024;
  const sock = 'path' in target ? net.connect(target.path) : net.connect(target.port, target.host);
  sock.setNoDelay(true);
  let done = false;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let pausedSock = false;

  const finish = (code: number, reason: string) => {
    if (done) return;
    done = true;
    sock.destroy();
    if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) {
      try {
        ws.close(code, reason.slice(0, 120));
      } catch {
        ws.terminate();
      }
    }
    o.onClose?.(reason);
    resolveClosed();
  };

  let connected = false;
  sock.on('connect', () => {
    connected = true;
  });
  sock.on('data', (chunk: Buffer) => {
    if (ws.readyState !== ws.OPEN) return;
    ws.send(chunk, { binary: true }, () => {
      if (pausedSock && ws.bufferedAmount < hwm / 2) {
        pausedSock = false;
        sock.resume();
      }
    });
    if (!pausedSock && ws.bufferedAmount >= hwm) {
      pausedSock = true;
      sock.pause();
    }
  });
  sock.on('drain', () => {
    if (ws.isPaused) ws.resume();
  });
  sock.on('error', (e: NodeJS.ErrnoException) => {
    finish(connected ? VNC_CLOSE.serverGone : VNC_CLOSE.unreachable, connected ? `The VM's display went away (${e.code ?? e.message}).` : `Cannot reach the VM's display (${e.code ?? e.message}).`);
  });
  sock.on('close', () => finish(VNC_CLOSE.serverGone, "The VM's display closed."));

  ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (!sock.write(buf) && !ws.isPaused) ws.pause();
  });
  ws.on('close', () => finish(VNC_CLOSE.normal, 'The viewer disconnected.'));
  ws.on('error', () => finish(VNC_CLOSE.normal, 'The viewer connection failed.'));
  // Callers may pause the WebSocket while they look up the target, so nothing the viewer sends is lost.
  if (ws.isPaused) ws.resume();

  return {
    closed,
    close: (reason = 'Closed.') => finish(VNC_CLOSE.normal, reason),
  };
}
