/**
 * `Machines`: the high-level VM runtime facade used by the CLI (and available to the server and Electron main).
 * It resolves a VM name to its folder and config, picks the backend, and turns backend calls into state events.
 *
 * Events work across processes: operations done through this object emit at once; changes made elsewhere (another
 * CLI, the guest powering off, a crash) are picked up by a cheap poll of each VM's lock and runtime file while
 * someone listens (default every 1 s; nothing runs when nobody listens).
 */
import { EventEmitter } from 'node:events';
import { promises as fsp, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { NestboxError } from '../errors';
import { parseConfig } from '../library/config';
import { homePaths, VM_FILES, type Home } from '../library/home';
import {
  loadBackend,
  selectBackend,
  toVmError,
  type BackendId,
  type ConnectionInfo,
  type DisplayEndpoint,
  type HypervisorBackend,
  type StartOptions,
  type StopOptions,
  type VmError,
  type VmHandle,
  type VmState,
  type VmStatus,
} from './backend';

export interface MachineStateEvent {
  name: string;
  state: VmState;
  error?: VmError;
  pid?: number;
}

export interface MachinesOptions {
  /** Poll interval for changes made by other processes while watched (ms). */
  pollMs?: number;
  /** Backend loader (tests); default: the build's backend modules. */
  load?: (id: BackendId) => HypervisorBackend | null;
  /**
   * While watched, refresh the library thumbnail (VM_FILES.thumbnail, written by screenshot()) of running VMs this
   * often (ms); 0 = never. Stopped VMs keep their last one.
   */
  thumbnailEveryMs?: number;
}

export class Machines extends EventEmitter {
  readonly home: Home;
  private readonly last = new Map<string, string>();
  private readonly errors = new Map<string, VmError>();
  private readonly backends = new Map<BackendId, HypervisorBackend | null>();
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  private readonly thumbAt = new Map<string, number>();

  constructor(
    home: Home | string,
    private readonly o: MachinesOptions = {},
  ) {
    super();
    this.home = typeof home === 'string' ? homePaths(home) : home;
    this.on('newListener', (ev) => {
      if (ev === 'state') queueMicrotask(() => this.ensurePolling());
    });
    this.on('removeListener', (ev) => {
      if (ev === 'state' && this.listenerCount('state') === 0) this.stopPolling();
    });
  }

  /** The VM's folder and parsed config; NOT_FOUND (exit 2) when there is no such VM. */
  handle(name: string): VmHandle {
    const dir = path.join(this.home.vms, name);
    let text: string;
    try {
      text = readFileSync(path.join(dir, VM_FILES.config), 'utf8');
    } catch {
      throw new NestboxError('NOT_FOUND', `VM "${name}" does not exist.`, { fix: 'Run `nestbox list` to see your VMs.', details: { name } });
    }
    return { name, dir, config: parseConfig(text, path.join(dir, VM_FILES.config)) };
  }

  private load(id: BackendId): HypervisorBackend | null {
    if (!this.backends.has(id)) this.backends.set(id, (this.o.load ?? loadBackend)(id));
    return this.backends.get(id)!;
  }

  /** The backend that runs this VM: the one whose runtime file is present, else the host's choice. */
  async backendOf(vm: VmHandle): Promise<HypervisorBackend> {
    try {
      const rt = JSON.parse(readFileSync(path.join(vm.dir, 'nestbox-runtime.json'), 'utf8')) as { backend?: BackendId };
      if (rt.backend === 'qemu' || rt.backend === 'vz') {
        const b = this.load(rt.backend);
        if (b) return b;
      }
    } catch {}
    return selectBackend(vm.config, { load: (id) => this.load(id) });
  }

  private note(name: string, s: { state: VmState; error?: VmError; pid?: number }): void {
    const key = `${s.state}|${s.error?.message ?? ''}`;
    if (this.last.get(name) === key) return;
    this.last.set(name, key);
    this.emit('state', { name, state: s.state, ...(s.error ? { error: s.error } : {}), ...(s.pid ? { pid: s.pid } : {}) } satisfies MachineStateEvent);
  }

  async start(name: string, opts: StartOptions): Promise<void> {
    const vm = this.handle(name);
    const b = await this.backendOf(vm);
    this.errors.delete(name);
    this.note(name, { state: 'starting' });
    try {
      await b.start(vm, opts);
    } catch (e) {
      const err = toVmError(e);
      // "Already running" is not a failure of this VM: report its real state.
      if ((e as NestboxError).code === 'RUNNING') this.note(name, await b.status(vm));
      else {
        this.errors.set(name, err);
        this.note(name, { state: 'error', error: err });
      }
      throw e;
    }
    this.note(name, await b.status(vm));
  }

  async stop(name: string, o: StopOptions = {}): Promise<void> {
    const vm = this.handle(name);
    const b = await this.backendOf(vm);
    this.note(name, { state: 'stopping' });
    try {
      await b.stop(vm, o);
    } finally {
      this.note(name, await b.status(vm));
    }
  }

  async pause(name: string): Promise<void> {
    await this.op(name, (b, vm) => b.pause(vm));
  }

  async resume(name: string): Promise<void> {
    await this.op(name, (b, vm) => b.resume(vm));
  }

  async suspend(name: string): Promise<void> {
    await this.op(name, (b, vm) => b.suspend(vm), 'suspending');
  }

  private async op(name: string, fn: (b: HypervisorBackend, vm: VmHandle) => Promise<void>, during?: VmState): Promise<void> {
    const vm = this.handle(name);
    const b = await this.backendOf(vm);
    if (during) this.note(name, { state: during });
    try {
      await fn(b, vm);
    } finally {
      this.note(name, await b.status(vm));
    }
  }

  /** State with the cause of a failed start kept until the next start or acknowledge(). */
  async status(name: string): Promise<VmStatus> {
    const vm = this.handle(name);
    const b = await this.backendOf(vm);
    const s = await b.status(vm);
    const err = this.errors.get(name);
    if (err && s.state === 'stopped') return { ...s, state: 'error', error: err };
    return s;
  }

  /** Clears a kept failure (the UI's "dismiss"): a failed start's cause here, a crash's cause in the backend. */
  async acknowledge(name: string): Promise<void> {
    this.errors.delete(name);
    const vm = this.handle(name);
    const b = await this.backendOf(vm);
    await b.acknowledge?.(vm);
    this.note(name, await b.status(vm));
  }

  async screenshot(name: string): Promise<Buffer> {
    const vm = this.handle(name);
    return (await this.backendOf(vm)).screenshot(vm);
  }

  /** The library thumbnail: a fresh screenshot while running, the cached one otherwise (null if none). */
  async thumbnail(name: string): Promise<Buffer | null> {
    const vm = this.handle(name);
    const b = await this.backendOf(vm);
    const s = await b.status(vm);
    if (s.state === 'running' || s.state === 'paused') {
      try {
        return await b.screenshot(vm);
      } catch {}
    }
    return fsp.readFile(path.join(vm.dir, VM_FILES.thumbnail)).catch(() => null);
  }

  async display(name: string): Promise<DisplayEndpoint> {
    const vm = this.handle(name);
    return (await this.backendOf(vm)).display(vm);
  }

  async serial(name: string): Promise<NodeJS.ReadWriteStream> {
    const vm = this.handle(name);
    return (await this.backendOf(vm)).serial(vm);
  }

  async ip(name: string, waitMs = 0): Promise<string | null> {
    const vm = this.handle(name);
    return (await this.backendOf(vm)).ip(vm, { waitMs });
  }

  async connectionInfo(name: string): Promise<ConnectionInfo> {
    const vm = this.handle(name);
    return (await this.backendOf(vm)).connectionInfo(vm);
  }

  /** Resolves when the VM's process has ended (for a foreground `run`). */
  async waitForExit(name: string): Promise<void> {
    const vm = this.handle(name);
    const b = await this.backendOf(vm);
    if (b.waitForExit) await b.waitForExit(vm);
    else while ((await b.status(vm)).pid !== undefined) await new Promise((r) => setTimeout(r, 100));
    this.note(name, await b.status(vm));
  }

  /** Subscribes to state events; returns the unsubscribe function. */
  watch(cb: (e: MachineStateEvent) => void): () => void {
    this.on('state', cb);
    return () => this.off('state', cb);
  }

  /** Checks every VM once and emits what changed (also what the poll does). */
  async refresh(): Promise<void> {
    let names: string[];
    try {
      names = readdirSync(this.home.vms);
    } catch {
      names = [];
    }
    const seen = new Set(names);
    for (const n of [...this.last.keys()]) if (!seen.has(n)) this.last.delete(n);
    const every = this.o.thumbnailEveryMs ?? 0;
    for (const name of names) {
      try {
        const s = await this.status(name);
        this.note(name, s);
        if (every > 0 && s.state === 'running' && Date.now() - (this.thumbAt.get(name) ?? 0) >= every) {
          this.thumbAt.set(name, Date.now());
          await this.screenshot(name).catch(() => {});
        }
      } catch {}
    }
  }

  private ensurePolling(): void {
    if (this.timer || this.listenerCount('state') === 0) return;
    const tick = async () => {
      if (this.polling) return;
      this.polling = true;
      try {
        await this.refresh();
      } finally {
        this.polling = false;
      }
    };
    void tick();
    this.timer = setInterval(() => void tick(), this.o.pollMs ?? 1000);
    this.timer.unref();
  }

  private stopPolling(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Stops polling (listeners stay). */
  close(): void {
    this.stopPolling();
  }
}
