/**
 * An in-memory NestboxBridge with canned data and events, for component tests and the UI benchmark.
 * It answers the requests the renderer makes the way app/service does (same shapes, validated by the client),
 * keeps VMs, images and tasks in memory, and lets a test drive pulls step by step (or on a timer, for the bench).
 * No test-framework imports: bench/ui bundles this file into the page.
 */
import type { ApiError, CachedImage, HostInfo, InvokeOutcome, NestboxBridge, TaskInfo, VmDetail, VmSummary } from '../../../api';

export interface FakeOptions {
  vms?: VmSummary[];
  images?: CachedImage[];
  host?: Partial<HostInfo>;
  /** Pulls advance only when the test calls `advancePull`, unless set (ms between progress events). */
  autoPullIntervalMs?: number;
  pullTotalBytes?: number;
  pullLayers?: number;
}

export type FakeHandler = (params: any) => unknown;

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

export function fakeVm(name: string, over: Partial<VmSummary> = {}): VmSummary {
  return {
    name,
    os: 'linux',
    arch: 'amd64',
    state: 'stopped',
    cpuCount: 2,
    memorySize: 4 * GiB,
    disk: { apparent: 20e9, allocated: 2.5e9 },
    display: { width: 1024, height: 768 },
    accessedAt: new Date(Date.parse('2026-11-29T12:00:00Z')).toISOString(),
    ...over,
  };
}

export function fakeImage(name: string, over: Partial<CachedImage> = {}): CachedImage {
  return {
    name,
    kind: 'tag',
    digest: 'sha256:' + 'ab'.repeat(32),
    disk: { apparent: 50e9, allocated: 8e9 },
    accessedAt: '2026-11-28T10:00:00.000Z',
    ...over,
  };
}

export class FakeBridge implements NestboxBridge {
  vms: VmSummary[];
  images: CachedImage[];
  tasks = new Map<string, TaskInfo>();
  host: HostInfo;
  calls: { method: string; params: any }[] = [];
  overrides = new Map<string, FakeHandler>();
  serial = new Map<string, string>();
  private listeners = new Set<(event: string, payload: unknown) => void>();
  private nextTask = 1;
  private timers = new Set<ReturnType<typeof setInterval>>();

  constructor(private opts: FakeOptions = {}) {
    this.vms = opts.vms ?? [];
    this.images = opts.images ?? [];
    this.host = {
      version: '0.1.0',
      platform: 'linux',
      arch: 'x64',
      cpus: 8,
      memory: 16 * GiB,
      freeDisk: 200e9,
      home: '/home/user/.tart',
      backends: [{ id: 'qemu', available: true }],
      limitations: [{ feature: 'macos-guests', reason: 'macOS guests need a Mac with Apple silicon; this host is Linux.', fix: 'Run macOS VMs on a Mac.' }],
      shell: 'web',
      ...opts.host,
    };
  }

  /** Replace one request's behaviour; throw an ApiError-shaped object to fail it. */
  on(method: string, handler: FakeHandler): this {
    this.overrides.set(method, handler);
    return this;
  }

  subscribe(listener: (event: string, payload: unknown) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: string, payload: unknown): void {
    for (const l of [...this.listeners]) l(event, payload);
  }

  dispose(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers.clear();
  }

  async invoke(method: string, params: unknown): Promise<InvokeOutcome> {
    this.calls.push({ method, params });
    try {
      const h = this.overrides.get(method);
      const result = h ? await h(params) : this.handle(method, (params ?? {}) as any);
      return { ok: true, result: result === undefined ? null : result };
    } catch (e) {
      const err = e as Partial<ApiError>;
      if (err && typeof err.code === 'string' && typeof err.message === 'string') return { ok: false, error: err as ApiError };
      return { ok: false, error: { code: 'INTERNAL', message: String((e as Error)?.message ?? e) } };
    }
  }

  // ---------- tasks ----------

  startTask(kind: TaskInfo['kind'], title: string, target: TaskInfo['target'], progress: TaskInfo['progress'] = {}): TaskInfo {
    const t: TaskInfo = { id: `t${this.nextTask++}`, kind, title, target, state: 'running', progress, startedAt: new Date().toISOString() };
    this.tasks.set(t.id, t);
    this.emit('task.updated', t);
    return t;
  }

  updateTask(id: string, patch: Partial<TaskInfo>): TaskInfo {
    const cur = this.tasks.get(id);
    if (!cur) throw new Error(`no task ${id}`);
    const next = { ...cur, ...patch, progress: { ...cur.progress, ...(patch.progress ?? {}) } };
    if (next.state !== 'running' && !next.finishedAt) next.finishedAt = new Date().toISOString();
    this.tasks.set(id, next);
    this.emit('task.updated', next);
    return next;
  }

  /** Moves a pull forward by `bytes` (spread over its layers); finishes it (and caches the image) at the total. */
  advancePull(id: string, bytes: number): TaskInfo {
    const t = this.tasks.get(id)!;
    const total = t.progress.total ?? 0;
    const done = Math.min(total, (t.progress.done ?? 0) + bytes);
    const items = (t.progress.items ?? []).map((it) => {
      const before = (total / (t.progress.items!.length || 1)) * Number(it.id.slice(1));
      const d = Math.max(0, Math.min(it.total, done - before));
      return { ...it, done: d, state: d >= it.total ? ('done' as const) : d > 0 ? ('active' as const) : ('pending' as const) };
    });
    if (done >= total) {
      const image = t.target.image!;
      if (!this.images.some((i) => i.name === image)) this.images.push(fakeImage(image, { disk: { apparent: total, allocated: total } }));
      const fin = this.updateTask(id, { state: 'done', progress: { done, total, items, rate: undefined, etaSeconds: undefined, step: 'Done' }, result: { image } });
      this.emit('library.changed', { scope: 'images', names: [image] });
      return fin;
    }
    const rate = 50 * MiB;
    return this.updateTask(id, { progress: { done, total, items, rate, etaSeconds: (total - done) / rate, step: 'Downloading layers' } });
  }

  failTask(id: string, error: ApiError, resumable = true): TaskInfo {
    return this.updateTask(id, { state: 'failed', error, resumable });
  }

  // ---------- default behaviour ----------

  private vm(name: string): VmSummary {
    const vm = this.vms.find((v) => v.name === name);
    if (!vm) throw { code: 'NOT_FOUND', message: `VM "${name}" does not exist.`, fix: 'Check the name with the library list.' } satisfies ApiError;
    return vm;
  }

  detail(name: string): VmDetail {
    const vm = this.vm(name);
    return {
      ...vm,
      cpuCountMin: 1,
      memorySizeMin: 512 * MiB,
      macAddress: '7a:1c:22:00:00:01',
      diskFormat: 'raw',
      backend: 'qemu',
      canRun: { ok: true },
      ip: vm.state === 'running' ? '10.0.2.15' : undefined,
      limits: { maxCpu: this.host.cpus, maxMemory: this.host.memory, minCpu: 1, minMemory: 512 * MiB },
    };
  }

  private setState(name: string, state: VmSummary['state']): void {
    this.vm(name).state = state;
    this.emit('vm.state', { name, state });
  }

  private handle(method: string, p: any): unknown {
    switch (method) {
      case 'host.info':
        return this.host;
      case 'vm.list':
        return this.vms;
      case 'vm.get':
        return this.detail(p.name);
      case 'vm.thumbnail':
        this.vm(p.name);
        return { png: null };
      case 'vm.start':
        this.setState(p.name, 'running');
        return null;
      case 'vm.stop':
        this.setState(p.name, 'stopped');
        return null;
      case 'vm.pause':
        this.setState(p.name, 'paused');
        return null;
      case 'vm.resume':
        this.setState(p.name, 'running');
        return null;
      case 'vm.suspend':
        this.setState(p.name, 'suspended');
        return null;
      case 'vm.ip':
        return { ip: this.vm(p.name).state === 'running' ? '10.0.2.15' : null };
      case 'vm.display':
        return this.vm(p.name).state === 'running' ? { kind: 'none', reason: 'The fake bridge has no screen.' } : { kind: 'none', reason: 'The VM is not running.' };
      case 'vm.showScreen':
        return null;
      case 'vm.serialRead': {
        const text = this.serial.get(p.name) ?? '';
        const off = p.offset ?? 0;
        return { text: text.slice(off), offset: text.length };
      }
      case 'vm.serialWrite':
        this.serial.set(p.name, (this.serial.get(p.name) ?? '') + p.data);
        return null;
      case 'vm.revealInFileManager':
        return { path: `${this.host.home}/vms/${this.vm(p.name).name}` };
      case 'vm.set': {
        const vm = this.vm(p.name);
        if (p.cpuCount !== undefined) vm.cpuCount = p.cpuCount;
        if (p.memoryMB !== undefined) vm.memorySize = p.memoryMB * MiB;
        if (p.diskSizeGB !== undefined) vm.disk = { ...vm.disk, apparent: p.diskSizeGB * 1e9 };
        if (p.display) {
          const [w, h] = String(p.display).split('x').map(Number);
          vm.display = { width: w!, height: h! };
        }
        this.emit('library.changed', { scope: 'vms', names: [vm.name] });
        return { vm: this.detail(vm.name), warnings: [] };
      }
      case 'vm.rename': {
        const vm = this.vm(p.name);
        vm.name = p.newName;
        this.emit('library.changed', { scope: 'vms', names: [p.name, p.newName] });
        return null;
      }
      case 'vm.delete':
        this.vm(p.name);
        this.vms = this.vms.filter((v) => v.name !== p.name);
        this.emit('library.changed', { scope: 'vms', names: [p.name] });
        return null;
      case 'vm.clone':
      case 'vm.create': {
        const t = this.startTask(method === 'vm.clone' ? 'clone' : 'create', method === 'vm.clone' ? `Clone ${p.source} to ${p.name}` : `Create ${p.name}`, { vm: p.name });
        queueMicrotask(() => {
          this.vms.push(fakeVm(p.name));
          this.updateTask(t.id, { state: 'done', result: { vm: p.name } });
          this.emit('library.changed', { scope: 'vms', names: [p.name] });
        });
        return { taskId: t.id };
      }
      case 'image.list':
        return this.images;
      case 'image.checkReference': {
        const r = String(p.reference);
        if (!r.includes('/')) return { ok: false, reason: 'a remote name needs a registry host followed by "/"' };
        if (/[A-Z]/.test(r.split('/').slice(1).join('/').split(':')[0]!)) return { ok: false, reason: 'repository names must be lower-case' };
        return { ok: true, normalized: r.includes(':') || r.includes('@') ? r : `${r}:latest` };
      }
      case 'image.pull': {
        const total = this.opts.pullTotalBytes ?? 1_000_000_000;
        const n = this.opts.pullLayers ?? 4;
        const items = Array.from({ length: n }, (_, i) => ({ id: `l${i}`, label: `Disk layer ${i + 1} of ${n}`, state: 'pending' as const, done: 0, total: total / n }));
        const t = this.startTask('pull', `Pull ${p.reference}`, { image: p.reference }, { step: 'Fetching manifest', done: 0, total, unit: 'bytes', items });
        if (this.opts.autoPullIntervalMs) {
          const timer = setInterval(() => {
            const cur = this.tasks.get(t.id)!;
            if (cur.state !== 'running') return void clearInterval(timer);
            this.advancePull(t.id, total / 600);
          }, this.opts.autoPullIntervalMs);
          this.timers.add(timer);
        }
        return { taskId: t.id };
      }
      case 'image.push': {
        const t = this.startTask('push', `Push ${p.source}`, { vm: p.source, image: p.targets[0] });
        return { taskId: t.id };
      }
      case 'image.delete':
        this.images = this.images.filter((i) => i.name !== p.name);
        this.emit('library.changed', { scope: 'images', names: [p.name] });
        return null;
      case 'task.list':
        return [...this.tasks.values()];
      case 'task.cancel': {
        const t = this.tasks.get(p.id);
        if (t && t.state === 'running') this.updateTask(p.id, { state: 'cancelled', resumable: true, error: { code: 'CANCELLED', message: 'Cancelled by the user.' } });
        return null;
      }
      default:
        throw { code: 'UNSUPPORTED', message: `The fake bridge does not implement "${method}".` } satisfies ApiError;
    }
  }
}

/** 500 VMs (or n) with varied states, sizes and dates: the library benchmark's data. */
export function manyVms(n: number): VmSummary[] {
  const states: VmSummary['state'][] = ['stopped', 'stopped', 'running', 'suspended', 'stopped', 'paused', 'stopped', 'broken'];
  return Array.from({ length: n }, (_, i) =>
    fakeVm(`vm-${String(i).padStart(3, '0')}`, {
      state: states[i % states.length]!,
      os: i % 5 === 0 ? 'darwin' : 'linux',
      arch: i % 3 === 0 ? 'arm64' : 'amd64',
      cpuCount: 1 + (i % 8),
      memorySize: (1 + (i % 16)) * GiB,
      disk: { apparent: (10 + (i % 90)) * 1e9, allocated: (1 + (i % 9)) * 1e9 },
      accessedAt: new Date(Date.parse('2026-11-29T12:00:00Z') - i * 3_600_000).toISOString(),
      ...(states[i % states.length] === 'broken' ? { stateReason: 'config.json is missing' } : {}),
    }),
  );
}
