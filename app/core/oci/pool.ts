import { existsSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Job, WorkerMessage } from './worker';

/** Where the compiled worker lives (next to this file in dist/, or dist/ when running from TS sources in tests). */
function workerScript(): string {
  const here = path.join(__dirname, 'worker.js');
  if (existsSync(here)) return here;
  return path.resolve(__dirname, '..', '..', '..', 'dist', 'core', 'oci', 'worker.js');
}

export class PoolJobError extends Error {
  constructor(
    readonly kind: string,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

interface Slot {
  worker: Worker;
  busy: boolean;
}

/** A small pool of worker threads running jobs from worker.ts. `destroy()` terminates them (cancel). */
export class WorkerPool {
  private slots: Slot[] = [];
  private queue: (() => void)[] = [];
  private nextId = 1;
  private destroyed = false;
  private pending = new Map<number, { reject: (e: Error) => void }>();

  constructor(readonly size: number) {}

  run<T>(job: Job, onMessage: (m: WorkerMessage, reply: (msg: { ack: true }) => void) => void = () => {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        if (this.destroyed) return reject(new PoolJobError('cancelled', 'cancelled'));
        const slot = this.acquire();
        const id = this.nextId++;
        this.pending.set(id, { reject });
        const onMsg = (m: WorkerMessage) => {
          if (m.id !== id) return;
          if (m.type === 'done' || m.type === 'error') {
            slot.worker.off('message', onMsg);
            slot.worker.off('error', onErr);
            this.pending.delete(id);
            this.release(slot);
            if (m.type === 'done') resolve(m.result as T);
            else reject(new PoolJobError(m.error.kind, m.error.message, m.error.status));
          } else onMessage(m, (r) => slot.worker.postMessage({ id, ...r }));
        };
        const onErr = (e: Error) => {
          this.pending.delete(id);
          this.slots = this.slots.filter((s) => s !== slot);
          reject(new PoolJobError('io', `worker failed: ${e.message}`));
          this.pump();
        };
        slot.worker.on('message', onMsg);
        slot.worker.once('error', onErr);
        slot.worker.postMessage({ id, job });
      };
      if (this.slots.some((s) => !s.busy) || this.slots.length < this.size) start();
      else this.queue.push(start);
    });
  }

  private acquire(): Slot {
    let slot = this.slots.find((s) => !s.busy);
    if (!slot) {
      slot = { worker: new Worker(workerScript()), busy: false };
      slot.worker.unref();
      this.slots.push(slot);
    }
    slot.busy = true;
    return slot;
  }

  private release(slot: Slot): void {
    slot.busy = false;
    this.pump();
  }

  private pump(): void {
    const next = this.queue.shift();
    if (next) next();
  }

  async destroy(): Promise<void> {
    this.destroyed = true;
    for (const p of this.pending.values()) p.reject(new PoolJobError('cancelled', 'cancelled'));
    this.pending.clear();
    const q = this.queue;
    this.queue = [];
    for (const start of q) start();
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots = [];
  }
}
