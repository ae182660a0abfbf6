/**
 * The contract (app/api) implemented over the engine (app/core), for every shell: the Electron main process binds
 * `handlers` to IPC, `nestbox serve` to its WebSocket. Events (VM state, library changes, task progress) come from
 * one source, `events`, which each shell forwards to its clients.
 */
import { promises as fsp, statfsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EventName, EventPayload } from '../api/contract';
import type { DisplayEndpoint, HostInfo, VmDetail, VmState as ApiVmState } from '../api/models';
import type { Handlers } from '../api/wire';
import { NestboxError, errnoCode } from '../core/errors';
import { backendPreference, hostInfo, hostRefusal, loadBackend, type Availability, type BackendId, type HypervisorBackend, type VmHandle } from '../core/hypervisor/backend';
import { MIN_CPU, MIN_MEMORY, GiB, validateVmName } from '../core/library/config';
import { exists } from '../core/fsutil';
import { VM_FILES, type Home } from '../core/library/home';
import { Library, hostLimits, inspectVm, type VMInfo } from '../core/library/library';
import { deleteCachedImage, listCachedImages, pruneCaches } from '../core/oci/cache';
import { CredentialStore, defaultSecretStore, staticProvider, type SecretStore } from '../core/oci/credentials';
import { Registry } from '../core/oci/registry';
import { formatRemoteName, parseRemoteName, tryParseRemoteName } from '../core/oci/reference';
import { TaskManager } from '../core/tasks/manager';
import { watchLibrary, type LibraryWatcher } from './library-watcher';
import { cachedImage, taskInfo, vmSummary } from './map';
import type { VncTarget } from './vnc-proxy';

export type ServiceListener = (event: EventName, payload: unknown) => void;

export interface ServiceEvents {
  /** Every contract event (already in contract shape). Returns the unsubscribe function. */
  subscribe(listener: ServiceListener): () => void;
}

export interface ServiceOptions {
  home: Home;
  /** Which shell hosts the UI: native windows exist only in 'electron'. */
  shell: 'electron' | 'web';
  /** Where `registry.login` keeps credentials (the Electron shell passes its safeStorage-backed store). */
  secretStore?: SecretStore;
  env?: NodeJS.ProcessEnv;
  /** The URL the renderer opens for a VM's screen (default `vnc/<name>`, relative to the page — `nestbox serve`). */
  vncUrl?: (name: string) => string;
  /** Shell hooks: reveal a path in the file manager; open a VM's native screen window. */
  revealInFileManager?: (path: string) => Promise<void> | void;
  showScreen?: (name: string) => Promise<void>;
  /** Watch $TART_HOME for changes by other processes (default true). */
  watch?: boolean;
  /** Loads hypervisor backends (tests); default: the build's backends. */
  loadBackend?: (id: BackendId) => HypervisorBackend | null;
  /** Package version reported by host.info. */
  version?: string;
}

export interface Service {
  handlers: Handlers<unknown>;
  events: ServiceEvents;
  tasks: TaskManager;
  library: Library;
  home: Home;
  /** Where a running VM's display is served (for the VNC proxy). Throws NOT_RUNNING / UNSUPPORTED. */
  vncTarget(name: string): Promise<VncTarget>;
  /** Resolves when the home is being watched. */
  ready: Promise<void>;
  /** Cancels running tasks (into resumable states where the operation supports it) and stops watching. VMs keep running. */
  dispose(o?: { timeoutMs?: number }): Promise<void>;
}

function unsupported(what: string, why: string, fix?: string): NestboxError {
  return new NestboxError('UNSUPPORTED', `${what} is not available: ${why}.`, fix ? { fix } : {});
}

function packageVersion(): string {
  try {
    return (require(path.join(__dirname, '..', '..', 'package.json')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

export function createService(o: ServiceOptions): Service {
  const home = o.home;
  const library = new Library(home);
  const tasks = new TaskManager();
  const listeners = new Set<ServiceListener>();
  const version = o.version ?? packageVersion();
  const secrets = o.secretStore ?? defaultSecretStore(home);
  const vncUrl = o.vncUrl ?? ((n: string) => `vnc/${encodeURIComponent(n)}`);

  const emit = <K extends EventName>(event: K, payload: EventPayload<K>) => {
    for (const l of listeners) {
      try {
        l(event, payload);
      } catch {
        // one bad listener must not starve the others
      }
    }
  };

  tasks.onUpdate((t) => emit('task.updated', taskInfo(t)));

  // ---- hypervisor backends (loaded once, lazily) ----
  const backends = new Map<BackendId, HypervisorBackend | null>();
  const load = (id: BackendId): HypervisorBackend | null => {
    if (!backends.has(id)) {
      let b: HypervisorBackend | null;
      try {
        b = (o.loadBackend ?? loadBackend)(id);
      } catch {
        b = null;
      }
      backends.set(id, b);
    }
    return backends.get(id)!;
  };

  /** The backend that runs (or would run) this VM here; throws UNSUPPORTED/MISSING_DEPENDENCY with the reason. */
  const backendFor = async (vm: VMInfo): Promise<HypervisorBackend> => {
    if (!vm.config) throw brokenVm(vm);
    const refusal = hostRefusal(vm.config);
    if (refusal) throw refusal;
    let first: NestboxError | null = null;
    for (const id of backendPreference(vm.config)) {
      const b = load(id);
      if (!b) {
        first ??= unsupported(`Running VMs with ${id === 'qemu' ? 'QEMU' : 'Virtualization.framework'}`, `the ${id} backend is not part of this build`, 'Update Nestbox.');
        continue;
      }
      const can = b.canRun(vm.config);
      if (!can.ok) {
        first ??= new NestboxError('UNSUPPORTED', `VM "${vm.name}" cannot run on this host: ${can.reason}.`, can.fix ? { fix: can.fix } : {});
        continue;
      }
      const av = await b.available();
      if (!av.ok) {
        first ??= new NestboxError('MISSING_DEPENDENCY', `VM "${vm.name}" cannot run on this host: ${av.reason}.`, av.fix ? { fix: av.fix } : {});
        continue;
      }
      return b;
    }
    throw first ?? unsupported(`Running a ${vm.config.os}/${vm.config.arch} VM`, 'no hypervisor on this host can');
  };

  const handleOf = (vm: VMInfo): VmHandle => {
    if (!vm.config) throw brokenVm(vm);
    return { name: vm.name, dir: vm.dir, config: vm.config };
  };

  // ---- VM state tracking (cross-process: the library watcher re-inspects VMs whose folders change) ----
  const lastState = new Map<string, ApiVmState>();
  const noteState = (name: string, state: ApiVmState, error?: { code: string; message: string; fix?: string }) => {
    if (lastState.get(name) === state && !error) return;
    lastState.set(name, state);
    emit('vm.state', { name, state, ...(error ? { error } : {}) });
  };
  const refreshStates = async (names?: string[]) => {
    if (!names) {
      const all = await library.list().catch(() => [] as VMInfo[]);
      const seen = new Set(all.map((v) => v.name));
      for (const n of [...lastState.keys()]) if (!seen.has(n)) lastState.delete(n);
      for (const v of all) noteState(v.name, v.state);
      return;
    }
    for (const n of names) {
      const dir = library.dirOf(n);
      const st = await fsp.stat(dir).catch(() => null);
      if (!st || !st.isDirectory()) {
        lastState.delete(n);
        continue;
      }
      const v = await inspectVm(n, dir);
      noteState(n, v.state);
    }
  };

  let watcher: LibraryWatcher | null = null;
  let ready: Promise<void> = Promise.resolve();
  if (o.watch !== false) {
    watcher = watchLibrary(home, (c) => {
      emit('library.changed', c.names ? { scope: c.scope, names: c.names } : { scope: c.scope });
      if (c.scope === 'vms') void refreshStates(c.names);
    });
    ready = Promise.all([watcher.ready, refreshStates()]).then(() => undefined);
  }

  // ---- helpers ----
  const thumbnailVersion = async (dir: string): Promise<number | undefined> => {
    const st = await fsp.stat(path.join(dir, VM_FILES.thumbnail)).catch(() => null);
    return st ? Math.floor(st.mtimeMs) : undefined;
  };

  const detail = async (vm: VMInfo): Promise<VmDetail> => {
    const host = hostLimits();
    const base = vmSummary(vm, await thumbnailVersion(vm.dir));
    const c = vm.config;
    let canRun: VmDetail['canRun'] = { ok: false, reason: vm.broken?.reason ?? 'The VM has no valid configuration.' };
    let backend: VmDetail['backend'];
    let ip: string | undefined;
    let ssh: VmDetail['ssh'];
    if (c) {
      backend = backendPreference(c)[0];
      try {
        const b = await backendFor(vm);
        backend = b.id;
        canRun = { ok: true };
        if (vm.state === 'running') {
          const h = handleOf(vm);
          const [status, info] = await Promise.all([b.status(h).catch(() => null), b.connectionInfo(h).catch(() => null)]);
          if (status) base.state = status.state;
          if (info?.ssh) ssh = info.ssh;
          ip = (await b.ip(h, { waitMs: 0 }).catch(() => null)) ?? undefined;
        }
      } catch (e) {
        const x = e as NestboxError;
        canRun = { ok: false, reason: x.message, ...(x.fix ? { fix: x.fix } : {}) };
      }
    }
    return {
      ...base,
      ...(c ? { cpuCountMin: c.cpuCountMin, memorySizeMin: c.memorySizeMin, macAddress: c.macAddress, diskFormat: c.diskFormat } : {}),
      ...(backend ? { backend } : {}),
      canRun,
      ...(ip ? { ip } : {}),
      ...(ssh ? { ssh } : {}),
      limits: {
        maxCpu: host.cpus,
        maxMemory: host.memory,
        minCpu: c?.os === 'darwin' ? Math.max(MIN_CPU, c.cpuCountMin) : MIN_CPU,
        minMemory: c?.os === 'darwin' ? Math.max(MIN_MEMORY, c.memorySizeMin) : MIN_MEMORY,
      },
    };
  };

  /** A VM that can be controlled: exists, not broken, with its backend. */
  const controllable = async (name: string) => {
    const vm = await library.get(name);
    const b = await backendFor(vm);
    return { vm, h: handleOf(vm), b };
  };

  const afterRunControl = async (name: string, b: HypervisorBackend, h: VmHandle) => {
    const s = await b.status(h).catch(() => null);
    if (s) noteState(name, s.state, s.error);
  };

  const hostInfoCache: { at: number; value: HostInfo | null } = { at: 0, value: null };

  const handlers: Handlers<unknown> = {
    // ---------------- host ----------------
    'host.info': async () => {
      if (hostInfoCache.value && Date.now() - hostInfoCache.at < 5000) {
        return { ...hostInfoCache.value, freeDisk: freeDisk(home.root) };
      }
      const h = hostInfo();
      const backendsInfo: HostInfo['backends'] = [];
      for (const id of ['qemu', 'vz'] as const) {
        if (id === 'vz' && process.platform !== 'darwin') {
          backendsInfo.push({ id, available: false, reason: 'Virtualization.framework exists only on macOS.' });
          continue;
        }
        const b = load(id);
        if (!b) {
          backendsInfo.push({ id, available: false, reason: `The ${id} backend is not part of this build.`, fix: 'Update Nestbox.' });
          continue;
        }
        const av: Availability = await b.available().catch((e: Error) => ({ ok: false as const, reason: e.message }));
        backendsInfo.push(av.ok ? { id, available: true } : { id, available: false, reason: av.reason, ...(av.fix ? { fix: av.fix } : {}) });
      }
      const limitations: HostInfo['limitations'] = [];
      const macRefusal = hostRefusal({ os: 'darwin', arch: 'arm64' }, h);
      if (macRefusal) limitations.push({ feature: 'macos-guests', reason: macRefusal.message, ...(macRefusal.fix ? { fix: macRefusal.fix } : {}) });
      const qemu = backendsInfo.find((b) => b.id === 'qemu')!;
      const vz = backendsInfo.find((b) => b.id === 'vz')!;
      if (!qemu.available && !vz.available) {
        limitations.push({ feature: 'linux-guests', reason: `Linux VMs cannot run here: ${qemu.reason ?? 'no hypervisor is available'}`, ...(qemu.fix ? { fix: qemu.fix } : {}) });
      }
      if (o.shell === 'web') {
        limitations.push({ feature: 'native-window', reason: 'VM screens open in the browser tab; separate native windows need the desktop app.' });
      }
      const value: HostInfo = {
        version,
        platform: h.platform,
        arch: h.arch,
        cpus: os.cpus().length,
        memory: os.totalmem(),
        freeDisk: freeDisk(home.root),
        home: home.root,
        backends: backendsInfo,
        limitations,
        shell: o.shell,
      };
      hostInfoCache.at = Date.now();
      hostInfoCache.value = value;
      return value;
    },

    // ---------------- library ----------------
    'vm.list': async () => {
      const vms = await library.list();
      return Promise.all(vms.map(async (v) => vmSummary(v, await thumbnailVersion(v.dir))));
    },
    'vm.get': async ({ name }) => detail(await library.get(name)),
    'vm.create': async (p) => {
      if (p.installerIso !== undefined || p.diskImage !== undefined) {
        throw unsupported('Creating a VM from an installer ISO or a disk image', 'this version creates empty Linux VMs only', 'Create the VM without them, then attach the ISO as an extra disk when you start it.');
      }
      // Refuse what is sure to fail before starting a task.
      validateVmName(p.name);
      if (await exists(library.dirOf(p.name))) throw alreadyExists(p.name);
      const t = tasks.start({
        kind: 'create',
        title: `Create ${p.name}`,
        target: { vm: p.name },
        resources: [{ vm: p.name, mode: 'write' }],
        run: (ctx) => library.create({ name: p.name, ...(p.arch ? { arch: p.arch } : {}), ...(p.diskSizeGB ? { diskSizeGB: p.diskSizeGB } : {}), ...(p.cpuCount ? { cpu: p.cpuCount } : {}), ...(p.memoryMB ? { memoryMB: p.memoryMB } : {}) }, ctx),
        result: (vm) => ({ vm: vm.name }),
      });
      return { taskId: t.id };
    },
    'vm.clone': async (p) => {
      const remote = parseRemoteName(p.source);
      if (remote) {
        throw unsupported(`Cloning from the registry image "${p.source}"`, 'pulling images is not part of this build yet', 'Pull the image first, or clone a local VM.');
      }
      validateVmName(p.name);
      await library.get(p.source);
      if (await exists(library.dirOf(p.name))) throw alreadyExists(p.name);
      const t = tasks.start({
        kind: 'clone',
        title: `Clone ${p.source} to ${p.name}`,
        target: { vm: p.name },
        resources: [
          { vm: p.source, mode: 'read' },
          { vm: p.name, mode: 'write' },
        ],
        run: (ctx) => library.clone(p.source, p.name, ctx),
        result: (r) => ({ vm: r.vm.name, method: r.method }),
      });
      return { taskId: t.id };
    },
    'vm.set': async (p) => {
      tasks.assertFree({ vm: p.name, mode: 'write' }, `change VM "${p.name}"`);
      const r = await library.set(p.name, {
        ...(p.cpuCount !== undefined ? { cpu: p.cpuCount } : {}),
        ...(p.memoryMB !== undefined ? { memoryMB: p.memoryMB } : {}),
        ...(p.display !== undefined ? { display: p.display } : {}),
        ...(p.diskSizeGB !== undefined ? { diskSizeGB: p.diskSizeGB } : {}),
        ...(p.randomMac ? { randomMac: true } : {}),
      });
      return { vm: await detail(r.vm), warnings: r.warnings };
    },
    'vm.rename': async ({ name, newName }) => {
      tasks.assertFree([{ vm: name, mode: 'write' }, { vm: newName, mode: 'write' }], `rename VM "${name}"`);
      await library.rename(name, newName);
      return null;
    },
    'vm.delete': async ({ name }) => {
      tasks.assertFree({ vm: name, mode: 'write' }, `delete VM "${name}"`);
      await library.delete(name);
      return null;
    },
    'vm.thumbnail': async ({ name }) => {
      const vm = await library.get(name);
      try {
        return { png: (await fsp.readFile(path.join(vm.dir, VM_FILES.thumbnail))).toString('base64') };
      } catch (e) {
        if (errnoCode(e) === 'ENOENT') return { png: null };
        throw e;
      }
    },
    'vm.revealInFileManager': async ({ name }) => {
      const vm = await library.get(name);
      await o.revealInFileManager?.(vm.dir);
      return { path: vm.dir };
    },

    // ---------------- run control ----------------
    'vm.start': async (p) => {
      tasks.assertFree({ vm: p.name, mode: 'write' }, `start VM "${p.name}"`);
      const { h, b } = await controllable(p.name);
      noteState(p.name, 'starting');
      try {
        await b.start(h, {
          graphics: p.graphics ?? true,
          ...(p.extraDisks ? { extraDisks: p.extraDisks } : {}),
          ...(p.sharedDirs ? { sharedDirs: p.sharedDirs } : {}),
          ...(p.recovery ? { recovery: true } : {}),
        });
      } finally {
        await afterRunControl(p.name, b, h);
      }
      return null;
    },
    'vm.stop': async (p) => {
      const { h, b } = await controllable(p.name);
      try {
        await b.stop(h, { ...(p.timeoutSeconds !== undefined ? { timeoutMs: p.timeoutSeconds * 1000 } : {}), ...(p.force ? { force: true } : {}) });
      } finally {
        await afterRunControl(p.name, b, h);
      }
      return null;
    },
    'vm.pause': async ({ name }) => {
      const { h, b } = await controllable(name);
      await b.pause(h);
      await afterRunControl(name, b, h);
      return null;
    },
    'vm.resume': async ({ name }) => {
      const { h, b } = await controllable(name);
      await b.resume(h);
      await afterRunControl(name, b, h);
      return null;
    },
    'vm.suspend': async ({ name }) => {
      const { h, b } = await controllable(name);
      try {
        await b.suspend(h);
      } finally {
        await afterRunControl(name, b, h);
      }
      return null;
    },
    'vm.screenshot': async ({ name }) => {
      const { h, b } = await controllable(name);
      return { png: (await b.screenshot(h)).toString('base64') };
    },
    'vm.ip': async ({ name, waitSeconds }) => {
      const { h, b } = await controllable(name);
      return { ip: await b.ip(h, { waitMs: (waitSeconds ?? 0) * 1000 }) };
    },
    'vm.display': async ({ name }): Promise<DisplayEndpoint> => {
      const { vm, h, b } = await controllable(name);
      if (vm.state !== 'running') throw notRunning(name);
      const d = await b.display(h);
      if (d.kind === 'native-window') return { kind: 'native-window' };
      return { kind: 'vnc', url: vncUrl(name) };
    },
    'vm.showScreen': async ({ name }) => {
      if (!o.showScreen) {
        throw unsupported('A separate screen window', 'native windows exist only in the desktop app', 'Use the screen view in this browser tab.');
      }
      await library.get(name);
      await o.showScreen(name);
      return null;
    },
    'vm.serialRead': async ({ name, offset }) => {
      const { h, b } = await controllable(name);
      const info = await b.connectionInfo(h);
      if (!info.serialLog) return { text: '', offset: offset ?? 0 };
      return readFrom(info.serialLog, offset ?? 0);
    },
    'vm.serialWrite': async ({ name, data }) => {
      const { vm, h, b } = await controllable(name);
      if (vm.state !== 'running') throw notRunning(name);
      const stream = await b.serial(h);
      await new Promise<void>((resolve, reject) => {
        stream.once('error', reject);
        stream.write(data, (e) => (e ? reject(e) : resolve()));
      });
      stream.end();
      return null;
    },

    // ---------------- images ----------------
    'image.list': async () => (await listCachedImages(home)).map(cachedImage),
    'image.checkReference': async ({ reference }) => {
      const r = tryParseRemoteName(reference.trim());
      return r.ok ? { ok: true, normalized: formatRemoteName(r.name) } : { ok: false, reason: r.reason };
    },
    'image.pull': async () => {
      throw unsupported('Pulling images', 'the registry client is not part of this build yet', 'Use `tart pull` meanwhile.');
    },
    'image.push': async () => {
      throw unsupported('Pushing images', 'the registry client is not part of this build yet', 'Use `tart push` meanwhile.');
    },
    'image.delete': async ({ name }) => {
      tasks.assertFree({ image: name, mode: 'write' }, `delete image "${name}"`);
      await deleteCachedImage(home, name);
      return null;
    },
    'image.prune': async ({ olderThanDays, spaceBudgetGB }) => {
      if (olderThanDays === undefined && spaceBudgetGB === undefined) {
        throw new NestboxError('INVALID_ARGUMENT', 'Nothing to prune: no criterion given.', { fix: 'Pass olderThanDays and/or spaceBudgetGB.' });
      }
      const removed = await pruneCaches(home, { ...(olderThanDays !== undefined ? { olderThanDays } : {}), ...(spaceBudgetGB !== undefined ? { spaceBudgetBytes: spaceBudgetGB * GiB } : {}) });
      return { removed };
    },
    'registry.login': async ({ host, username, password, insecure }) => {
      // Check the credentials against the registry before keeping them (what `tart login` does).
      const reg = new Registry(host, '', { insecure: insecure ?? false, credentials: new CredentialStore([staticProvider({ username, password })]) });
      await reg.ping();
      await secrets.set(host, { username, password });
      return null;
    },
    'registry.logout': async ({ host }) => {
      const removed = await secrets.delete(host);
      if (!removed) {
        throw new NestboxError('NOT_FOUND', `You are not logged in to ${host}.`, { fix: 'Nothing to do; log in first to store credentials.', details: { host } });
      }
      return null;
    },

    // ---------------- macOS restore images ----------------
    'ipsw.catalog': async () => {
      throw unsupported('The macOS restore image catalog', 'it is not part of this build yet');
    },
    'ipsw.inspect': async () => {
      throw unsupported('Inspecting restore images', 'it is not part of this build yet');
    },
    'ipsw.download': async () => {
      throw unsupported('Downloading restore images', 'it is not part of this build yet');
    },
    'vm.createMacos': async () => {
      const refusal = hostRefusal({ os: 'darwin', arch: 'arm64' });
      if (refusal) throw refusal;
      throw unsupported('Creating macOS VMs', 'it is not part of this build yet');
    },

    // ---------------- tasks ----------------
    'task.list': async () => tasks.list().map(taskInfo),
    'task.cancel': async ({ id }) => {
      tasks.cancel(id);
      return null;
    },
  };

  return {
    handlers,
    events: {
      subscribe(l) {
        listeners.add(l);
        return () => listeners.delete(l);
      },
    },
    tasks,
    library,
    home,
    ready,
    async vncTarget(name) {
      const { vm, h, b } = await controllable(name);
      if (vm.state !== 'running') throw notRunning(name);
      const d = await b.display(h);
      if (d.kind === 'vnc-unix') return { path: d.path };
      if (d.kind === 'vnc-tcp') return { host: d.host, port: d.port };
      throw unsupported(`A browser view of VM "${name}"`, 'its screen is a native window', 'Open it in the desktop app.');
    },
    async dispose(d = {}) {
      watcher?.close();
      await tasks.shutdown(d.timeoutMs ?? 10_000);
      listeners.clear();
    },
  };
}

function brokenVm(vm: VMInfo): NestboxError {
  return new NestboxError('BROKEN_VM', `VM "${vm.name}" is broken: ${vm.broken?.reason ?? 'its configuration is missing'}`, {
    fix: `Repair the files in its folder, or delete it: nestbox delete ${vm.name}`,
    details: { name: vm.name },
  });
}

function alreadyExists(name: string): NestboxError {
  return new NestboxError('ALREADY_EXISTS', `VM "${name}" already exists.`, {
    fix: `Choose another name, or delete the existing VM first: nestbox delete ${name}`,
    details: { name },
  });
}

function notRunning(name: string): NestboxError {
  return new NestboxError('NOT_RUNNING', `VM "${name}" is not running.`, { fix: `Start it first: nestbox run ${name}`, details: { name } });
}

function freeDisk(dir: string): number {
  try {
    const s = statfsSync(dir);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return 0;
  }
}

/** Up to 1 MiB of a log file from `offset` on. */
async function readFrom(file: string, offset: number): Promise<{ text: string; offset: number }> {
  let fh: import('node:fs/promises').FileHandle;
  try {
    fh = await fsp.open(file, 'r');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return { text: '', offset };
    throw e;
  }
  try {
    const size = (await fh.stat()).size;
    const start = Math.min(offset, size);
    const len = Math.min(size - start, 1024 * 1024);
    const buf = Buffer.alloc(len);
    const { bytesRead } = await fh.read(buf, 0, len, start);
    return { text: buf.subarray(0, bytesRead).toString('utf8'), offset: start + bytesRead };
  } finally {
    await fh.close();
  }
}
