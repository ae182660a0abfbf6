/**
 * The contract (app/api) implemented over the engine (app/core), for every shell: the Electron main process binds
 * `handlers` to IPC, `nestbox serve` to its WebSocket. Events (VM state, library changes, task progress) come from
 * one source, `events`, which each shell forwards to its clients.
 */
import { promises as fsp, statSync, statfsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EventName, EventPayload } from '../api/contract';
import type { DisplayEndpoint, HostInfo, VmDetail, VmState as ApiVmState } from '../api/models';
import type { Handlers } from '../api/wire';
import { NestboxError, errnoCode } from '../core/errors';
import { Machines } from '../core/hypervisor/machines';
import { backendPreference, hostInfo, hostRefusal, loadBackend, type Availability, type BackendId, type HypervisorBackend, type VmHandle } from '../core/hypervisor/backend';
import { MIN_CPU, MIN_MEMORY, GiB, validateVmName } from '../core/library/config';
import { exists } from '../core/fsutil';
import { VM_FILES, type Home } from '../core/library/home';
import { Library, hostLimits, inspectVm, inspectVmSync, type VMInfo } from '../core/library/library';
import { runningPid } from '../core/library/locks';
import { deleteCachedImage, listCachedImages, pruneCaches, resolveCached } from '../core/oci/cache';
import { pull } from '../core/oci/pull';
import { push } from '../core/oci/push';
import { defaultSources, downloadIpsw, fetchCatalog, inspectRestoreImage } from '../core/ipsw';
import type { TaskContext } from '../core/tasks/context';
import { CredentialStore, defaultCredentialStore, defaultSecretStore, staticProvider, type SecretStore } from '../core/oci/credentials';
import { Registry } from '../core/oci/registry';
import { formatRemoteName, parseRemoteName, parseRemoteNameOrThrow, tryParseRemoteName } from '../core/oci/reference';
import { TaskManager } from '../core/tasks/manager';
import { checkSourceFile, createFromDiskImage, installerToAttach, rememberInstaller } from './create-from';
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
  const env = o.env ?? process.env;
  /** Registry credentials: environment, Docker config, then the shell's secret store (never logged). */
  const credentials = (ctx: TaskContext) => defaultCredentialStore(home, { env, secrets, warn: (m) => ctx.log(m) });

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

  /** Run control goes through the hypervisor facade (backend choice by runtime file, kept start errors). */
  const machines = new Machines(home, { load });

  // ---- VM state tracking, across processes, without polling idle VMs ----
  // - folder changes (start/stop/suspend rewrite nestbox-runtime.json and state files; create/delete/rename) come
  //   from the library watcher (inotify/FSEvents) and re-read only the VMs involved;
  // - a VM process can end without touching its folder (guest power-off, crash): while some VM is active, its lock
  //   is checked once a second (an fcntl per active VM). With no VM running, nothing runs.
  const lastState = new Map<string, ApiVmState>();
  const ACTIVE: ReadonlySet<ApiVmState> = new Set(['starting', 'running', 'paused', 'suspending', 'stopping']);
  let liveness: NodeJS.Timeout | null = null;
  let disposed = false;
  const noteState = (name: string, state: ApiVmState, error?: { code: string; message: string; fix?: string }, silent = false) => {
    if (disposed) return;
    if (silent) lastState.set(name, state);
    else if (lastState.get(name) !== state || error) {
      lastState.set(name, state);
      emit('vm.state', { name, state, ...(error ? { error } : {}) });
    }
    const anyActive = [...lastState.values()].some((x) => ACTIVE.has(x));
    if (anyActive && !liveness) {
      liveness = setInterval(() => void checkActive(), 1000);
      liveness.unref();
    } else if (!anyActive && liveness) {
      clearInterval(liveness);
      liveness = null;
    }
  };
  /** The state of one VM as the UI shows it: the library's view, refined by the backend for live VMs. */
  const stateOf = async (v: VMInfo): Promise<{ state: ApiVmState; error?: { code: string; message: string; fix?: string } }> => {
    if (v.broken || !v.config) return { state: v.state === 'running' ? 'running' : 'broken' };
    if (v.state === 'running' || lastState.get(v.name) === 'error') {
      const s = await machines.status(v.name).catch(() => null);
      if (s) return { state: s.state, ...(s.error ? { error: { code: String(s.error.code), message: s.error.message, ...(s.error.fix ? { fix: s.error.fix } : {}) } } : {}) };
    }
    return { state: v.state };
  };
  const refreshOne = async (n: string) => {
    const dir = library.dirOf(n);
    const st = await fsp.stat(dir).catch(() => null);
    if (!st || !st.isDirectory()) {
      lastState.delete(n);
      return;
    }
    const v = await inspectVm(n, dir);
    const s = await stateOf(v);
    noteState(n, s.state, s.error);
  };
  /** Re-reads the named VMs' states (all when `names` is absent); `seed` learns them without emitting events. */
  const refreshStates = async (names?: string[], seed = false) => {
    if (names) {
      for (const n of names) await refreshOne(n);
      return;
    }
    const all = await library.list().catch(() => [] as VMInfo[]);
    const seen = new Set(all.map((v) => v.name));
    for (const n of [...lastState.keys()]) if (!seen.has(n)) lastState.delete(n);
    for (const v of all) {
      const s = await stateOf(v);
      noteState(v.name, s.state, s.error, seed);
    }
  };
  let checking = false;
  const checkActive = async () => {
    if (checking) return;
    checking = true;
    try {
      for (const [n, st] of [...lastState]) if (ACTIVE.has(st)) await refreshOne(n);
    } finally {
      checking = false;
    }
  };

  // ---- the library listing, cached while the home is watched ----
  // vm.list is the UI's hottest request. With the watcher on, a VM's entry is re-read only when its folder changed
  // (or when it is running: sizes and state move without folder events); stopped VMs are re-checked with one fcntl
  // lock probe each, at most every 250 ms, so a VM started by anything (Tart included) shows as running.
  const listing = (() => {
    const entries = new Map<string, { info: VMInfo; thumb?: number }>();
    let names: string[] | null = null;
    let enabled = false;
    // Lock probes of stopped VMs (a VM started by a program that does not touch its folder) at most this often.
    const PROBE_EVERY_MS = 250;
    let probedAt = 0;
    // Synchronous reads (a few µs per call; the promise API pays a thread-pool round trip each), in slices.
    const read = (n: string) => {
      const info = inspectVmSync(n, library.dirOf(n));
      const e = { info, thumb: thumbnailVersion(info.dir) };
      if (enabled) entries.set(n, e);
      return e;
    };
    const readNames = async (): Promise<string[]> => {
      const ds = await fsp.readdir(home.vms, { withFileTypes: true }).catch((e) => {
        if (errnoCode(e) === 'ENOENT') return [];
        throw e;
      });
      const out: string[] = [];
      for (const d of ds) {
        if (d.name.startsWith('.')) continue;
        if (d.isDirectory()) out.push(d.name);
        else if (d.isSymbolicLink() && (await fsp.stat(path.join(home.vms, d.name)).catch(() => null))?.isDirectory()) out.push(d.name);
      }
      return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    };
    return {
      enable() {
        enabled = true;
      },
      invalidate(changed?: string[]) {
        names = null;
        if (!changed) entries.clear();
        else for (const n of changed) entries.delete(n);
      },
      async list(): Promise<{ info: VMInfo; thumb?: number }[]> {
        if (!enabled) return (await library.list()).map((info) => ({ info, thumb: thumbnailVersion(info.dir) }));
        const ns = names ?? (names = await readNames());
        const now = Date.now();
        const probe = now - probedAt >= PROBE_EVERY_MS;
        if (probe) probedAt = now;
        const out: { info: VMInfo; thumb?: number }[] = [];
        let reads = 0;
        for (const n of ns) {
          const e = entries.get(n);
          let fresh = !e || e.info.state === 'running';
          if (!fresh && probe) {
            let pid: number;
            try {
              pid = e!.info.config ? runningPid(e!.info.dir) : 0;
            } catch {
              pid = 1;
            }
            fresh = pid !== 0;
          }
          if (fresh && ++reads % 25 === 0) await new Promise((r) => setImmediate(r));
          out.push(fresh ? read(n) : e!);
        }
        return out;
      },
    };
  })();
  // Changes made through this service are visible at once (the watcher reports them a little later).
  tasks.onUpdate((t) => {
    if (t.state !== 'running' && t.target.vm) listing.invalidate([t.target.vm]);
  });

  let watcher: LibraryWatcher | null = null;
  let ready: Promise<void> = Promise.resolve();
  if (o.watch !== false) {
    watcher = watchLibrary(home, (c) => {
      if (c.scope === 'vms') listing.invalidate(c.names);
      emit('library.changed', c.names ? { scope: c.scope, names: c.names } : { scope: c.scope });
      if (c.scope === 'vms') void refreshStates(c.names);
    });
    ready = Promise.all([watcher.ready.then(() => listing.enable()), refreshStates(undefined, true)]).then(() => undefined);
  }

  // ---- helpers ----
  /** The library's state refined by what the tracker knows (paused, starting, a kept start error…) — no I/O. */
  const shownState = (v: VMInfo): ApiVmState => {
    const known = lastState.get(v.name);
    if (v.state === 'running' && known && ACTIVE.has(known)) return known;
    if (v.state === 'stopped' && known === 'error') return 'error';
    return v.state;
  };
  /** The library thumbnail's mtime (its version for caches); one stat, synchronous like the VM reads it goes with. */
  const thumbnailVersion = (dir: string): number | undefined => {
    try {
      return Math.floor(statSync(path.join(dir, VM_FILES.thumbnail)).mtimeMs);
    } catch {
      return undefined;
    }
  };

  const detail = async (vm: VMInfo): Promise<VmDetail> => {
    const host = hostLimits();
    const base = vmSummary(vm, thumbnailVersion(vm.dir));
    const c = vm.config;
    let canRun: VmDetail['canRun'] = { ok: false, reason: vm.broken?.reason ?? 'The VM has no valid configuration.' };
    let backend: VmDetail['backend'];
    let ip: string | undefined;
    let ssh: VmDetail['ssh'];
    let clipboard: boolean | undefined;
    if (c) {
      backend = backendPreference(c)[0];
      try {
        const b = vm.state === 'running' ? await machines.backendOf(handleOf(vm)) : await backendFor(vm);
        backend = b.id;
        canRun = { ok: true };
      } catch (e) {
        const x = e as NestboxError;
        canRun = { ok: false, reason: x.message, ...(x.fix ? { fix: x.fix } : {}) };
      }
      if (vm.state === 'running') {
        const [status, info, addr] = await Promise.all([
          machines.status(vm.name).catch(() => null),
          machines.connectionInfo(vm.name).catch(() => null),
          machines.ip(vm.name, 0).catch(() => null),
        ]);
        if (status) base.state = status.state;
        if (info?.ssh) ssh = info.ssh;
        if (info?.clipboard !== undefined) clipboard = info.clipboard;
        if (addr) ip = addr;
      }
    }
    return {
      ...base,
      ...(c ? { cpuCountMin: c.cpuCountMin, memorySizeMin: c.memorySizeMin, macAddress: c.macAddress, diskFormat: c.diskFormat } : {}),
      ...(backend ? { backend } : {}),
      canRun,
      ...(ip ? { ip } : {}),
      ...(ssh ? { ssh } : {}),
      ...(clipboard !== undefined ? { clipboard } : {}),
      limits: {
        maxCpu: host.cpus,
        maxMemory: host.memory,
        minCpu: c?.os === 'darwin' ? Math.max(MIN_CPU, c.cpuCountMin) : MIN_CPU,
        minMemory: c?.os === 'darwin' ? Math.max(MIN_MEMORY, c.memorySizeMin) : MIN_MEMORY,
      },
    };
  };

  /** A VM that can be controlled: exists and is not broken. */
  const controllable = async (name: string): Promise<VMInfo> => {
    const vm = await library.get(name);
    if (vm.broken || !vm.config) throw brokenVm(vm);
    return vm;
  };

  /** Reports the state a run-control operation left the VM in (also when it failed). */
  const afterRunControl = async (name: string) => {
    const s = await machines.status(name).catch(() => null);
    if (s) noteState(name, s.state, s.error ? { code: String(s.error.code), message: s.error.message, ...(s.error.fix ? { fix: s.error.fix } : {}) } : undefined);
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
    'vm.list': async () => (await listing.list()).map((e) => vmSummary(e.info, e.thumb, shownState(e.info))),
    'vm.get': async ({ name }) => detail(await library.get(name)),
    'vm.create': async (p) => {
      if (p.installerIso !== undefined && p.diskImage !== undefined) {
        throw new NestboxError('INVALID_ARGUMENT', 'Choose either an installer ISO or a disk image, not both.', { fix: 'Pass one of installerIso and diskImage.' });
      }
      // Refuse what is sure to fail before starting a task.
      validateVmName(p.name);
      if (await exists(library.dirOf(p.name))) throw alreadyExists(p.name);
      const iso = p.installerIso !== undefined ? await checkSourceFile(p.installerIso, 'installer ISO') : undefined;
      if (p.diskImage !== undefined) await checkSourceFile(p.diskImage, 'disk image');
      const t = tasks.start({
        kind: 'create',
        title: `Create ${p.name}`,
        target: { vm: p.name },
        resources: [{ vm: p.name, mode: 'write' }],
        run: async (ctx) => {
          if (p.diskImage !== undefined) {
            return createFromDiskImage(library, home, { name: p.name, diskImage: p.diskImage, ...(p.arch ? { arch: p.arch } : {}), ...(p.cpuCount ? { cpuCount: p.cpuCount } : {}), ...(p.memoryMB ? { memoryMB: p.memoryMB } : {}), ...(p.diskSizeGB ? { diskSizeGB: p.diskSizeGB } : {}) }, ctx);
          }
          const vm = await library.create({ name: p.name, ...(p.arch ? { arch: p.arch } : {}), ...(p.diskSizeGB ? { diskSizeGB: p.diskSizeGB } : {}), ...(p.cpuCount ? { cpu: p.cpuCount } : {}), ...(p.memoryMB ? { memoryMB: p.memoryMB } : {}) }, ctx);
          if (iso) await rememberInstaller(vm.dir, iso);
          return vm;
        },
        result: (vm) => ({ vm: vm.name }),
      });
      return { taskId: t.id };
    },
    'vm.clone': async (p) => {
      const remote = parseRemoteName(p.source);
      if (remote) {
        // Tart's remote clone: pull into the cache unless it is there, then clone from the cached image.
        validateVmName(p.name);
        if (await exists(library.dirOf(p.name))) throw alreadyExists(p.name);
        const fq = formatRemoteName(remote);
        const t = tasks.start({
          kind: 'clone',
          title: `Clone ${fq} to ${p.name}`,
          target: { vm: p.name, image: fq },
          resources: [
            { image: fq, mode: 'write' },
            { vm: p.name, mode: 'write' },
          ],
          resumable: (e) => RESUMABLE_PULL_ERRORS.has(e.code),
          run: async (ctx) => {
            let dir = (await resolveCached(home, remote))?.dir;
            if (!dir) dir = (await pull(home, p.source, { insecure: p.insecure ?? false, credentials: credentials(ctx), env }, ctx)).dir;
            return library.cloneFromDirectory(dir, p.name, ctx);
          },
          result: (r) => ({ vm: r.vm.name, method: r.method, image: fq }),
        });
        return { taskId: t.id };
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
      const r = await library
        .set(p.name, {
          ...(p.cpuCount !== undefined ? { cpu: p.cpuCount } : {}),
          ...(p.memoryMB !== undefined ? { memoryMB: p.memoryMB } : {}),
          ...(p.display !== undefined ? { display: p.display } : {}),
          ...(p.diskSizeGB !== undefined ? { diskSizeGB: p.diskSizeGB } : {}),
          ...(p.randomMac ? { randomMac: true } : {}),
        })
        .finally(() => listing.invalidate([p.name]));
      return { vm: await detail(r.vm), warnings: r.warnings };
    },
    'vm.rename': async ({ name, newName }) => {
      tasks.assertFree([{ vm: name, mode: 'write' }, { vm: newName, mode: 'write' }], `rename VM "${name}"`);
      try {
        await library.rename(name, newName);
      } finally {
        listing.invalidate([name, newName]);
      }
      return null;
    },
    'vm.delete': async ({ name }) => {
      tasks.assertFree({ vm: name, mode: 'write' }, `delete VM "${name}"`);
      try {
        await library.delete(name);
      } finally {
        listing.invalidate([name]);
      }
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
      const vm = await controllable(p.name);
      // A VM created from an installer ISO boots it until something is installed on its disk.
      const installer = p.extraDisks?.length ? null : await installerToAttach(vm);
      const extraDisks = installer ? [{ path: installer, readOnly: true }] : p.extraDisks;
      noteState(p.name, 'starting');
      try {
        await machines.start(p.name, {
          graphics: p.graphics ?? true,
          ...(extraDisks ? { extraDisks } : {}),
          ...(p.sharedDirs ? { sharedDirs: p.sharedDirs } : {}),
          ...(p.recovery ? { recovery: true } : {}),
          ...(p.clipboard !== undefined ? { clipboard: p.clipboard } : {}),
        });
      } finally {
        await afterRunControl(p.name);
      }
      return null;
    },
    'vm.stop': async (p) => {
      await controllable(p.name);
      noteState(p.name, 'stopping');
      try {
        await machines.stop(p.name, { ...(p.timeoutSeconds !== undefined ? { timeoutMs: p.timeoutSeconds * 1000 } : {}), ...(p.force ? { force: true } : {}) });
      } finally {
        await afterRunControl(p.name);
      }
      return null;
    },
    'vm.pause': async ({ name }) => {
      await controllable(name);
      try {
        await machines.pause(name);
      } finally {
        await afterRunControl(name);
      }
      return null;
    },
    'vm.resume': async ({ name }) => {
      await controllable(name);
      try {
        await machines.resume(name);
      } finally {
        await afterRunControl(name);
      }
      return null;
    },
    'vm.suspend': async ({ name }) => {
      await controllable(name);
      noteState(name, 'suspending');
      try {
        await machines.suspend(name);
      } finally {
        await afterRunControl(name);
      }
      return null;
    },
    'vm.screenshot': async ({ name }) => {
      await controllable(name);
      return { png: (await machines.screenshot(name)).toString('base64') };
    },
    'vm.ip': async ({ name, waitSeconds }) => {
      await controllable(name);
      return { ip: await machines.ip(name, (waitSeconds ?? 0) * 1000) };
    },
    'vm.display': async ({ name }): Promise<DisplayEndpoint> => {
      const vm = await controllable(name);
      if (vm.state !== 'running') throw notRunning(name);
      const d = await machines.display(name);
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
      const vm = await controllable(name);
      const info = vm.state === 'running' ? await machines.connectionInfo(name).catch(() => null) : null;
      // The log outlives the VM: read it from the folder when the VM is stopped.
      const log = info?.serialLog ?? path.join(vm.dir, 'nestbox-serial.log');
      return readFrom(log, offset ?? 0);
    },
    'vm.serialWrite': async ({ name, data }) => {
      const vm = await controllable(name);
      if (vm.state !== 'running') throw notRunning(name);
      const stream = await machines.serial(name);
      try {
        await new Promise<void>((resolve, reject) => {
          stream.once('error', reject);
          stream.write(data, (e) => (e ? reject(e) : resolve()));
        });
      } finally {
        stream.end();
      }
      return null;
    },

    // ---------------- images ----------------
    'image.list': async () => (await listCachedImages(home)).map(cachedImage),
    'image.checkReference': async ({ reference }) => {
      const r = tryParseRemoteName(reference.trim());
      return r.ok ? { ok: true, normalized: formatRemoteName(r.name) } : { ok: false, reason: r.reason };
    },
    'image.pull': async (p) => {
      const r = parseRemoteNameOrThrow(p.reference.trim());
      const fq = formatRemoteName(r);
      const t = tasks.start({
        kind: 'pull',
        title: `Pull ${fq}`,
        target: { image: fq },
        resources: [{ image: fq, mode: 'write' }],
        // An interrupted pull keeps its journal and verified layers: pulling again resumes.
        resumable: (e) => RESUMABLE_PULL_ERRORS.has(e.code),
        run: (ctx) => pull(home, fq, { insecure: p.insecure ?? false, ...(p.concurrency ? { concurrency: p.concurrency } : {}), credentials: credentials(ctx), env }, ctx),
        result: (res) => ({ image: res.name, digest: res.digest }),
      });
      return { taskId: t.id };
    },
    'image.push': async (p) => {
      const targets = p.targets.map((x) => formatRemoteName(parseRemoteNameOrThrow(x.trim())));
      const remoteSource = parseRemoteName(p.source);
      if (!remoteSource) await controllable(p.source);
      const t = tasks.start({
        kind: 'push',
        title: `Push ${p.source} to ${targets.join(', ')}`,
        target: remoteSource ? { image: formatRemoteName(remoteSource) } : { vm: p.source },
        resources: [remoteSource ? { image: formatRemoteName(remoteSource), mode: 'read' as const } : { vm: p.source, mode: 'read' as const }, ...targets.map((image) => ({ image, mode: 'write' as const }))],
        // Blobs already uploaded are skipped (HEAD) when pushing again.
        resumable: (e) => RESUMABLE_PULL_ERRORS.has(e.code),
        run: (ctx) =>
          push(
            home,
            p.source,
            targets,
            {
              insecure: p.insecure ?? false,
              ...(p.chunkSizeMB !== undefined ? { chunkSizeMB: p.chunkSizeMB } : {}),
              ...(p.compression ? { compression: p.compression } : {}),
              ...(p.populateCache ? { populateCache: true } : {}),
              credentials: credentials(ctx),
              env,
            },
            ctx,
          ),
        result: (res) => ({ digest: res.digest, targets }),
      });
      return { taskId: t.id };
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
    'ipsw.catalog': async ({ refresh }) => {
      const c = await fetchCatalog(home, { sources: defaultSources(env), ...(refresh ? { maxAgeMs: 0 } : {}) });
      return {
        entries: c.entries.map((e) => ({
          version: e.version,
          build: e.build,
          channel: e.channel,
          url: e.url,
          ...(e.size !== undefined ? { size: e.size } : {}),
          ...(e.sha256 ? { sha256: e.sha256 } : {}),
          ...(e.sha1 ? { sha1: e.sha1 } : {}),
          minimumHost: e.minimumHost,
        })),
        fetchedAt: c.fetchedAt,
      };
    },
    'ipsw.inspect': async ({ path: file }) => {
      const i = await inspectRestoreImage(file);
      return { path: i.path, productVersion: i.productVersion, build: i.buildVersion, supportedDevices: i.supportedProductTypes, warnings: i.warnings };
    },
    'ipsw.download': async ({ url }) => {
      const t = tasks.start({
        kind: 'ipsw-download',
        title: `Download ${decodeURIComponent(url.split('/').pop() || url)}`,
        target: {},
        resources: [{ image: `ipsw:${url}`, mode: 'write' }],
        resumable: (e) => RESUMABLE_PULL_ERRORS.has(e.code),
        run: (ctx) => downloadIpsw(home, url, { task: ctx }),
        result: (d) => ({ path: d.path, sha256: d.sha256, bytes: d.bytes, reused: d.reused }),
      });
      return { taskId: t.id };
    },
    'vm.createMacos': async () => {
      const refusal = hostRefusal({ os: 'darwin', arch: 'arm64' });
      if (refusal) throw refusal;
      throw unsupported('Creating macOS VMs', 'the macOS installer is not part of this build yet', 'Create it with Tart, or clone a macOS image.');
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
      const vm = await controllable(name);
      if (vm.state !== 'running') throw notRunning(name);
      const d = await machines.display(name);
      if (d.kind === 'vnc-unix') return { path: d.path };
      if (d.kind === 'vnc-tcp') return { host: d.host, port: d.port };
      throw unsupported(`A browser view of VM "${name}"`, 'its screen is a native window', 'Open it in the desktop app.');
    },
    async dispose(d = {}) {
      disposed = true;
      if (liveness) clearInterval(liveness);
      machines.close();
      watcher?.close();
      await tasks.shutdown(d.timeoutMs ?? 10_000);
      listeners.clear();
    },
  };
}

/** Failures after which running the same pull/push/download again picks up where it stopped. */
const RESUMABLE_PULL_ERRORS: ReadonlySet<string> = new Set(['CANCELLED', 'NETWORK', 'TIMEOUT', 'REGISTRY', 'NO_SPACE', 'AUTH', 'INTERNAL']);

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
