/**
 * The VM library: Tart-compatible local VMs in $TART_HOME/vms (tart-format.md §1–3).
 *
 * Every operation that makes a VM (create, clone, import) builds it in tmp/<uuid> (a flocked TempDir) and renames
 * it into vms/ at the end, under the $TART_HOME flock Tart also takes, so an interrupted operation never leaves a
 * half VM in vms/; its temp dir is collected by the next command. Operations that need a stopped VM (set, delete,
 * rename) take the VM's PIDLock themselves while they work, so a `run` cannot start in between.
 *
 * This module is on the `nestbox list` path: keep its imports light (no registry, QEMU or server code).
 */
import { randomUUID } from 'node:crypto';
import { promises as fsp, constants, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NestboxError, errnoCode, isNestboxError, mapSpaceError } from '../errors';
import { exists, existsSyncNoFollow, fsyncDir, writeFileAtomic } from '../fsutil';
import { native } from '../native';
import { NOOP_TASK, cancelledError, type TaskContext } from '../tasks/context';
import {
  GB,
  GiB,
  MiB,
  checkResources,
  newLinuxConfig,
  parseConfig,
  randomMac,
  serializeConfig,
  validateVmName,
  type Arch,
  type Backend,
  type HostLimits,
  type VMConfig,
} from './config';
import { VM_FILES, openHome, type Home } from './home';
import { FileLock, PidLock, readFileKeepingLocks, readFileKeepingLocksSync, runningPid } from './locks';
import { TempDir, collectGarbage } from './tmp';

export type VMState = 'running' | 'suspended' | 'stopped' | 'broken';

export interface VMInfo {
  name: string;
  dir: string;
  /** Absent when config.json is missing or invalid. */
  config?: VMConfig;
  /** Malformed/partial config.json, missing disk.img/nvram.bin … */
  broken?: { reason: string };
  state: VMState;
  /** Holder of the PIDLock when running (-1 when the holder is an OFD lock whose pid is unknown). */
  pid?: number;
  /** Bytes of disk.img. */
  disk: { apparent: number; allocated: number };
  /** atime of the VM dir (Tart's access date). */
  accessedAt: Date;
}

export type CloneMethod = 'reflink' | 'sparse-copy';

export interface CreateOptions {
  name: string;
  arch?: Arch;
  diskSizeGB?: number;
  cpu?: number;
  memoryMB?: number;
}

export interface SetOptions {
  cpu?: number;
  memoryMB?: number;
  /** "WxH[pt|px]" */
  display?: string;
  diskSizeGB?: number;
  randomMac?: boolean;
}

/** Tart's default disk size for new VMs, in decimal GB. */
export const DEFAULT_DISK_GB = 50;
/** Tart parses --disk-size as UInt16. */
export const MAX_DISK_GB = 65535;

export function hostLimits(): HostLimits {
  return { cpus: os.cpus().length, memory: os.totalmem() };
}

export function hostArch(): Arch {
  return process.arch === 'arm64' ? 'arm64' : 'amd64';
}

/**
 * Which hypervisor's limits apply: Virtualization.framework for every VM on a Mac (macOS guests and Linux guests
 * on Apple silicon), QEMU elsewhere.
 */
export function defaultBackend(_config?: Pick<VMConfig, 'os'>): Backend {
  return process.platform === 'darwin' ? 'vz' : 'qemu';
}

/** Opens $TART_HOME and, for every command except pull and clone (Tart's rule), collects tmp/ garbage first. */
export async function openLibrary(o: { env?: NodeJS.ProcessEnv; collectGarbage?: boolean } = {}): Promise<Library> {
  const home = openHome(o.env);
  if (o.collectGarbage !== false) await collectGarbage(home);
  return new Library(home);
}

// ---------- errors ----------

function notFound(name: string): NestboxError {
  return new NestboxError('NOT_FOUND', `VM "${name}" does not exist.`, {
    fix: 'Run `nestbox list` to see your VMs.',
    details: { name },
  });
}

function runningError(name: string, pid?: number): NestboxError {
  return new NestboxError('RUNNING', `VM "${name}" is running${pid && pid > 0 ? ` (pid ${pid})` : ''}.`, {
    fix: `Stop it first: nestbox stop ${name}`,
    details: { name, ...(pid ? { pid } : {}) },
  });
}

function alreadyExists(name: string): NestboxError {
  return new NestboxError('ALREADY_EXISTS', `VM "${name}" already exists.`, {
    fix: `Choose another name, or delete the existing VM first: nestbox delete ${name}`,
    details: { name },
  });
}

function brokenError(name: string, reason: string): NestboxError {
  return new NestboxError('BROKEN_VM', `VM "${name}" is broken: ${reason}`, {
    fix: `Repair the files in its folder, or delete it: nestbox delete ${name}`,
    details: { name, reason },
  });
}

function invalid(message: string, fix: string, details?: Record<string, unknown>): NestboxError {
  return new NestboxError('INVALID_ARGUMENT', message, { fix, ...(details ? { details } : {}) });
}

/** Reflink failures that mean "this filesystem/pair cannot share blocks" — fall back to the sparse copy. */
const REFLINK_UNSUPPORTED = new Set(['EXDEV', 'EOPNOTSUPP', 'ENOTSUP', 'EINVAL', 'ENOTTY', 'EPERM', 'EUNKNOWN', 'ENOSYS']);

function useOfdLocks(): boolean {
  return process.platform === 'linux';
}

// ---------- validation helpers (exported for the shells) ----------

export function validateDiskSizeGB(n: number, flag = '--disk-size'): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_DISK_GB) {
    throw invalid(`${flag} must be a whole number of GB between 1 and ${MAX_DISK_GB} (got ${n}).`, `Pass e.g. ${flag} 50.`, { value: n });
  }
}

/** Parses Tart's display argument "WxH[pt|px]". */
export function parseDisplay(s: string): { width: number; height: number; unit?: 'pt' | 'px' } {
  const m = /^(\d{1,5})x(\d{1,5})(pt|px)?$/.exec(s.trim());
  const w = m ? Number(m[1]) : 0;
  const h = m ? Number(m[2]) : 0;
  if (!m || w < 1 || h < 1 || w > 16384 || h > 16384) {
    throw invalid(`"${s}" is not a valid display size.`, 'Use WIDTHxHEIGHT with an optional unit, e.g. 1920x1080 or 1440x900pt.', { value: s });
  }
  return { width: w, height: h, ...(m[3] ? { unit: m[3] as 'pt' | 'px' } : {}) };
}

/** Upper bounds no hypervisor reaches (QEMU's x86 limit is 288 vCPUs): beyond them a value is a typo. */
export const MAX_CPU = 512;
export const MAX_MEMORY_MB = 16 * 1024 * 1024;

function validateCpuMemory(cpu: number | undefined, memoryMB: number | undefined): void {
  if (cpu !== undefined && (!Number.isInteger(cpu) || cpu < 1 || cpu > MAX_CPU)) {
    throw invalid(`--cpu must be a whole number from 1 to ${MAX_CPU} (got ${cpu}).`, 'Pass e.g. --cpu 2.', { value: cpu });
  }
  if (memoryMB !== undefined && (!Number.isInteger(memoryMB) || memoryMB < 1 || memoryMB > MAX_MEMORY_MB)) {
    throw invalid(`--memory must be a whole number of MB from 1 to ${MAX_MEMORY_MB} (got ${memoryMB}).`, 'Pass e.g. --memory 4096.', { value: memoryMB });
  }
}

function validateArch(a: string): Arch {
  if (a !== 'arm64' && a !== 'amd64') throw invalid(`"${a}" is not a supported architecture.`, 'Use --arch arm64 or --arch amd64.', { value: a });
  return a;
}

// ---------- inspection ----------

async function statOrNull(p: string) {
  try {
    return await fsp.stat(p);
  } catch {
    return null;
  }
}

function statSyncOrNull(p: string): import('node:fs').Stats | null {
  try {
    return statSync(p);
  } catch {
    return null;
  }
}

/**
 * Reads one VM folder; never throws for a bad VM (the problem becomes `broken.reason`). Synchronous reads — a handful
 * of syscalls of a few µs each, where the promise API pays a thread-pool round trip per call (listing 500 VMs took
 * three times as long); list() interleaves VMs with the event loop.
 */
export function inspectVmSync(name: string, dir: string): VMInfo {
  let configText: { text: string } | { error: unknown };
  try {
    configText = { text: readFileKeepingLocksSync(path.join(dir, VM_FILES.config)) };
  } catch (e) {
    configText = { error: e };
  }
  const suspended = existsSyncNoFollow(path.join(dir, VM_FILES.vzState)) || existsSyncNoFollow(path.join(dir, VM_FILES.qemuState));
  const diskSt = statSyncOrNull(path.join(dir, VM_FILES.disk));
  const nvramSt = statSyncOrNull(path.join(dir, VM_FILES.nvram));
  const dirSt = statSyncOrNull(dir);
  const problems: string[] = [];
  let config: VMConfig | undefined;
  if ('error' in configText) {
    problems.push(errnoCode(configText.error) === 'ENOENT' ? `${VM_FILES.config} is missing` : `${VM_FILES.config} cannot be read (${(configText.error as Error).message})`);
  } else {
    try {
      config = parseConfig(configText.text, VM_FILES.config);
    } catch (e) {
      problems.push((e as Error).message.replace(/\.$/, ''));
    }
  }
  if (!diskSt) problems.push(`${VM_FILES.disk} is missing`);
  if (!nvramSt) problems.push(`${VM_FILES.nvram} is missing`);

  let pid: number;
  try {
    pid = runningPid(dir);
  } catch {
    pid = 0;
  }
  const broken = problems.length > 0 ? { reason: problems.join('; ') + '.' } : undefined;
  const state: VMState = pid !== 0 ? 'running' : suspended ? 'suspended' : broken ? 'broken' : 'stopped';
  return {
    name,
    dir,
    ...(config ? { config } : {}),
    ...(broken ? { broken } : {}),
    state,
    ...(pid !== 0 ? { pid } : {}),
    disk: diskSt ? { apparent: diskSt.size, allocated: diskSt.blocks * 512 } : { apparent: 0, allocated: 0 },
    accessedAt: dirSt ? dirSt.atime : new Date(0),
  };
}

export async function inspectVm(name: string, dir: string): Promise<VMInfo> {
  return inspectVmSync(name, dir);
}

// ---------- file copy ----------

interface CopyState {
  /** undefined: not tried yet; false: this filesystem pair cannot reflink. */
  reflink?: boolean;
}

/**
 * Reflink where the filesystem shares blocks, else a sparse-aware copy (never dense). dst must not exist; it is
 * durable (fsynced) when this resolves. `signal` stops a sparse copy between reads (CANCELLED; dst removed).
 */
export async function cloneFile(src: string, dst: string, state: CopyState = {}, signal?: AbortSignal): Promise<CloneMethod> {
  if (signal?.aborted) throw cancelledError('The copy');
  if (state.reflink !== false) {
    try {
      await native().reflink(src, dst);
      state.reflink = true;
      const fh = await fsp.open(dst, 'r');
      await fh.sync().finally(() => fh.close());
      return 'reflink';
    } catch (e) {
      if (!REFLINK_UNSUPPORTED.has(errnoCode(e) ?? 'EUNKNOWN')) throw e;
      state.reflink = false;
      await fsp.rm(dst, { force: true });
    }
  }
  const cancel = new Int32Array(1);
  const onAbort = () => Atomics.store(cancel, 0, 1);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await native().sparseCopy(src, dst, cancel);
  } catch (e) {
    if (errnoCode(e) === 'ECANCELED') throw cancelledError('The copy');
    throw e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  return 'sparse-copy';
}

/** Files a clone carries over: Tart's, plus Nestbox's extras (Tart ignores those). Sockets and logs are not copied. */
const CLONED_FILES = [VM_FILES.nvram, VM_FILES.vzState, VM_FILES.qemuVars, VM_FILES.qemuState, VM_FILES.thumbnail] as const;

// ---------- the library ----------

export class Library {
  constructor(readonly home: Home) {}

  dirOf(name: string): string {
    return path.join(this.home.vms, name);
  }

  async list(): Promise<VMInfo[]> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fsp.readdir(this.home.vms, { withFileTypes: true });
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return [];
      throw e;
    }
    const names = entries
      .filter((d) => !d.name.startsWith('.') && (d.isDirectory() || d.isSymbolicLink()))
      .map((d) => d.name)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const infos: VMInfo[] = [];
    for (let i = 0; i < names.length; i++) {
      // Synchronous reads in slices of 25 VMs (a few ms each), giving the event loop its turn in between.
      if (i > 0 && i % 25 === 0) await new Promise((r) => setImmediate(r));
      const dir = this.dirOf(names[i]!);
      const st = statSyncOrNull(dir);
      if (st?.isDirectory()) infos.push(inspectVmSync(names[i]!, dir));
    }
    return infos;
  }

  async get(name: string): Promise<VMInfo> {
    validateVmName(name);
    const dir = this.dirOf(name);
    const st = await statOrNull(dir);
    if (!st || !st.isDirectory()) throw notFound(name);
    return inspectVm(name, dir);
  }

  /** Creates a Linux VM (Tart's `create --linux`): config, sparse disk.img, placeholder nvram.bin. */
  async create(o: CreateOptions, ctx: TaskContext = NOOP_TASK): Promise<VMInfo> {
    validateVmName(o.name);
    const arch = validateArch(o.arch ?? hostArch());
    const diskGB = o.diskSizeGB ?? DEFAULT_DISK_GB;
    validateDiskSizeGB(diskGB);
    validateCpuMemory(o.cpu, o.memoryMB);
    if (await exists(this.dirOf(o.name))) throw alreadyExists(o.name);
    const host = hostLimits();
    const cfg = newLinuxConfig({ arch, host, ...(o.cpu !== undefined ? { cpu: o.cpu } : {}), ...(o.memoryMB !== undefined ? { memory: o.memoryMB * MiB } : {}) });
    const check = checkResources(cfg, cfg.cpuCount, cfg.memorySize, host, defaultBackend(cfg));
    if (check.errors.length > 0) throw invalid(`Cannot create VM "${o.name}": ${check.errors.join('; ')}.`, 'Choose fewer CPUs or less memory.', { errors: check.errors });
    for (const w of check.warnings) ctx.log(`Warning: ${w}.`);

    ctx.progress({ step: 'Creating VM' });
    const tmp = await TempDir.create(this.home);
    try {
      await writeNewFile(path.join(tmp.path, VM_FILES.config), serializeConfig(cfg));
      // Sparse: ftruncate allocates nothing (Tart: truncate to N·10^9 bytes).
      await writeNewFile(path.join(tmp.path, VM_FILES.disk), '', diskGB * GB);
      // Tart writes a VZEFIVariableStore here; its format can only be made by Virtualization.framework, so on hosts
      // without it nvram.bin is an empty placeholder (the QEMU backend keeps its own nestbox-efivars.fd).
      await writeNewFile(path.join(tmp.path, VM_FILES.nvram), '');
      await fsyncDir(tmp.path);
      if (ctx.signal.aborted) throw cancelledError('Creating the VM');
      await this.withHomeLock(ctx, () => this.moveIntoPlace(tmp.path, o.name, { keepMacIfSuspended: false }));
    } catch (e) {
      await tmp.dispose();
      throw mapSpaceError(e, `create VM "${o.name}"`, this.home.root);
    }
    tmp.release();
    return this.get(o.name);
  }

  async clone(src: string, dst: string, ctx: TaskContext = NOOP_TASK): Promise<{ vm: VMInfo; method: CloneMethod }> {
    validateVmName(dst);
    const s = await this.get(src);
    if (s.broken) throw brokenError(src, s.broken.reason);
    if (s.state === 'running') ctx.log(`Warning: VM "${src}" is running; its disk may change while it is copied. Stop it first for a consistent clone.`);
    const r = await this.cloneDir(s.dir, dst, ctx, `VM "${src}"`);
    await this.touch(src).catch(() => {});
    return r;
  }

  /** Clone a VM-shaped directory that is not in vms/ (e.g. an OCI cache entry) into vms/<dst>. */
  async cloneFromDirectory(srcDir: string, dst: string, ctx: TaskContext = NOOP_TASK): Promise<{ vm: VMInfo; method: CloneMethod }> {
    validateVmName(dst);
    const st = await statOrNull(srcDir);
    if (!st || !st.isDirectory()) {
      throw new NestboxError('NOT_FOUND', `${srcDir} does not exist or is not a directory.`, { fix: 'Pull the image again.', details: { path: srcDir } });
    }
    const info = await inspectVm(path.basename(srcDir), srcDir);
    if (info.broken) {
      throw new NestboxError('BROKEN_VM', `${srcDir} is not a usable VM: ${info.broken.reason}`, { fix: 'Pull the image again.', details: { path: srcDir, reason: info.broken.reason } });
    }
    return this.cloneDir(srcDir, dst, ctx, srcDir);
  }

  /** Move a fully built directory into vms/<name> under the home lock, with the MAC collision rule. */
  async importDirectory(builtDir: string, name: string): Promise<VMInfo> {
    validateVmName(name);
    const info = await inspectVm(name, builtDir);
    if (info.broken || !info.config) {
      throw new NestboxError('BROKEN_VM', `${builtDir} is not a complete VM: ${info.broken?.reason ?? 'config.json is invalid.'}`, {
        fix: 'Build the VM again.',
        details: { path: builtDir },
      });
    }
    if (await exists(this.dirOf(name))) throw alreadyExists(name);
    await this.withHomeLock(NOOP_TASK, async () => {
      try {
        await this.moveIntoPlace(builtDir, name, { keepMacIfSuspended: false });
      } catch (e) {
        if (!(isNestboxError(e) && errnoCode(e.cause) === 'EXDEV')) throw e;
        // Built on another filesystem: copy into tmp/ (same filesystem as vms/), then move.
        const tmp = await TempDir.create(this.home);
        try {
          await this.copyVmFiles(builtDir, tmp.path, NOOP_TASK);
          await fsp.copyFile(path.join(builtDir, VM_FILES.config), path.join(tmp.path, VM_FILES.config));
          await fsyncDir(tmp.path);
          await this.moveIntoPlace(tmp.path, name, { keepMacIfSuspended: false });
        } catch (e2) {
          await tmp.dispose();
          throw mapSpaceError(e2, `import VM "${name}"`, this.home.root);
        }
        tmp.release();
        await fsp.rm(builtDir, { recursive: true, force: true });
      }
    });
    return this.get(name);
  }

  async set(name: string, p: SetOptions, backend?: Backend): Promise<{ vm: VMInfo; warnings: string[] }> {
    const vm = await this.get(name);
    if (vm.state === 'running') throw runningError(name, vm.pid);
    if (vm.broken) throw brokenError(name, vm.broken.reason);
    const host = hostLimits();

    // Validate everything before changing anything.
    validateCpuMemory(p.cpu, p.memoryMB);
    const display = p.display !== undefined ? parseDisplay(p.display) : undefined;
    let newDiskSize: number | undefined;
    if (p.diskSizeGB !== undefined) {
      validateDiskSizeGB(p.diskSizeGB);
      newDiskSize = p.diskSizeGB * GB;
      if (newDiskSize < vm.disk.apparent) {
        throw invalid(
          `Cannot shrink the disk of VM "${name}" to ${p.diskSizeGB} GB: it is ${Math.ceil(vm.disk.apparent / GB)} GB and disks can only grow (shrinking would lose data).`,
          `Pass a size of at least ${Math.ceil(vm.disk.apparent / GB)} GB.`,
          { current: vm.disk.apparent, requested: newDiskSize },
        );
      }
      if (vm.config!.diskFormat === 'asif') {
        throw new NestboxError('UNSUPPORTED', `VM "${name}" has an ASIF disk, which only macOS can resize.`, { fix: 'Resize it with Tart or Nestbox on a Mac.' });
      }
    }

    const configPath = path.join(vm.dir, VM_FILES.config);
    const lock = PidLock.open(configPath);
    const warnings: string[] = [];
    try {
      if (!lock.tryLock(useOfdLocks())) throw runningError(name, lock.holderPid() || undefined);
      // Read through the locked descriptor: opening and closing another one would drop a POSIX lock.
      const cfg = parseConfig(readFileSync(lock.descriptor, 'utf8'), configPath);
      if (p.cpu !== undefined || p.memoryMB !== undefined) {
        const cpu = p.cpu ?? cfg.cpuCount;
        const memory = p.memoryMB !== undefined ? p.memoryMB * MiB : cfg.memorySize;
        const check = checkResources(cfg, cpu, memory, host, backend ?? defaultBackend(cfg));
        if (check.errors.length > 0) {
          throw invalid(`Cannot change VM "${name}": ${check.errors.join('; ')}.`, 'Choose a CPU count and memory size within the limits above.', { errors: check.errors });
        }
        warnings.push(...check.warnings);
        cfg.cpuCount = cpu;
        cfg.memorySize = memory;
      }
      if (display) {
        cfg.display = { ...cfg.display, width: display.width, height: display.height, ...(display.unit ? { unit: display.unit } : {}) };
      }
      if (p.randomMac) cfg.macAddress = randomMac();
      await writeFileAtomic(configPath, serializeConfig(cfg));
      if (newDiskSize !== undefined && newDiskSize > vm.disk.apparent) {
        try {
          await fsp.truncate(path.join(vm.dir, VM_FILES.disk), newDiskSize);
        } catch (e) {
          throw mapSpaceError(e, `grow the disk of VM "${name}"`, vm.dir);
        }
      }
    } finally {
      lock.close();
    }
    return { vm: await this.get(name), warnings };
  }

  async rename(from: string, to: string): Promise<void> {
    validateVmName(to);
    const vm = await this.get(from);
    if (vm.state === 'running') throw runningError(from, vm.pid);
    if (from === to) return;
    await this.withHomeLock(NOOP_TASK, async () => {
      if (await exists(this.dirOf(to))) throw alreadyExists(to);
      await fsp.rename(vm.dir, this.dirOf(to));
      await fsyncDir(this.home.vms);
    });
  }

  async delete(name: string): Promise<void> {
    const vm = await this.get(name);
    if (vm.state === 'running') throw runningError(name, vm.pid);
    let lock: PidLock | null;
    try {
      lock = PidLock.open(path.join(vm.dir, VM_FILES.config));
    } catch {
      lock = null; // broken VM without config.json: nothing can hold its lock
    }
    try {
      if (lock && !lock.tryLock(useOfdLocks())) throw runningError(name, lock.holderPid() || undefined);
      // Move it out of vms/ first (atomic), so a crash mid-delete never leaves a half VM listed; the next
      // command's tmp/ garbage collection finishes the job.
      const trash = path.join(this.home.tmp, `delete-${randomUUID()}`);
      let target = vm.dir;
      try {
        await fsp.mkdir(this.home.tmp, { recursive: true });
        await fsp.rename(vm.dir, trash);
        target = trash;
      } catch (e) {
        if (errnoCode(e) !== 'EXDEV') throw e;
      }
      await fsp.rm(target, { recursive: true, force: true });
    } finally {
      lock?.close();
    }
  }

  /** Tart's `prune --entries vms`: never running VMs, never broken ones (their data may still be wanted). */
  async prune(o: { olderThanDays?: number; spaceBudgetGB?: number }): Promise<string[]> {
    if (o.olderThanDays === undefined && o.spaceBudgetGB === undefined) {
      throw invalid('Nothing to prune: no criterion given.', 'Pass --older-than DAYS and/or --space-budget GB.');
    }
    if (o.olderThanDays !== undefined && (!Number.isFinite(o.olderThanDays) || o.olderThanDays < 0)) {
      throw invalid(`--older-than must be a number of days ≥ 0 (got ${o.olderThanDays}).`, 'Pass e.g. --older-than 7.');
    }
    if (o.spaceBudgetGB !== undefined && (!Number.isFinite(o.spaceBudgetGB) || o.spaceBudgetGB < 0)) {
      throw invalid(`--space-budget must be a number of GB ≥ 0 (got ${o.spaceBudgetGB}).`, 'Pass e.g. --space-budget 100.');
    }
    const candidates = (await this.list()).filter((v) => v.state === 'stopped' || v.state === 'suspended');
    const doomed = new Set<string>();
    if (o.olderThanDays !== undefined) {
      const cutoff = Date.now() - o.olderThanDays * 86_400_000;
      for (const v of candidates) if (v.accessedAt.getTime() < cutoff) doomed.add(v.name);
    }
    if (o.spaceBudgetGB !== undefined) {
      // Keep the most recently accessed entries that fit the budget (GiB, as Tart), delete the rest.
      const budget = o.spaceBudgetGB * GiB;
      let used = 0;
      const byRecency = candidates.filter((v) => !doomed.has(v.name)).sort((a, b) => b.accessedAt.getTime() - a.accessedAt.getTime());
      for (const v of byRecency) {
        const size = v.disk.allocated;
        if (used + size <= budget) used += size;
        else doomed.add(v.name);
      }
    }
    const removed: string[] = [];
    for (const name of [...doomed].sort()) {
      try {
        await this.delete(name);
        removed.push(name);
      } catch (e) {
        if (isNestboxError(e) && (e.code === 'RUNNING' || e.code === 'NOT_FOUND')) continue; // started or went away meanwhile
        throw e;
      }
    }
    return removed;
  }

  /** Bumps the access date (atime of the VM dir); like Tart, mtime gets the previous atime. */
  async touch(name: string): Promise<void> {
    const dir = (await this.get(name)).dir;
    const st = await fsp.stat(dir);
    await fsp.utimes(dir, new Date(), st.atime);
  }

  // ---------- internals ----------

  /** Tart's global lock: flock on the $TART_HOME directory (clone, import, create's final move). */
  private async withHomeLock<T>(ctx: TaskContext, fn: () => Promise<T>): Promise<T> {
    const l = new FileLock(this.home.root);
    try {
      if (!l.tryLock()) {
        ctx.log('waiting for lock...');
        await l.lock();
      }
      return await fn();
    } finally {
      l.close();
    }
  }

  /** True when some VM in vms/ (other than `except`) has this MAC address. */
  private async macInUse(mac: string, except?: string): Promise<boolean> {
    let names: string[];
    try {
      names = await fsp.readdir(this.home.vms);
    } catch {
      return false;
    }
    const want = mac.toLowerCase();
    const hits = await Promise.all(
      names
        .filter((n) => n !== except)
        .map(async (n) => {
          try {
            const o = JSON.parse(await readFileKeepingLocks(path.join(this.home.vms, n, VM_FILES.config))) as { macAddress?: unknown };
            return typeof o.macAddress === 'string' && o.macAddress.toLowerCase() === want;
          } catch {
            return false;
          }
        }),
    );
    return hits.some(Boolean);
  }

  /**
   * Renames a complete VM dir into vms/<name>. Call with the home lock held. Applies Tart's MAC rule: if another
   * VM already has this MAC, write a fresh one (unless the VM is suspended and `keepMacIfSuspended`, as Tart's clone).
   */
  private async moveIntoPlace(dir: string, name: string, o: { keepMacIfSuspended: boolean }): Promise<void> {
    const dst = this.dirOf(name);
    if (await exists(dst)) throw alreadyExists(name);
    const configPath = path.join(dir, VM_FILES.config);
    const cfg = parseConfig(await fsp.readFile(configPath, 'utf8'), configPath);
    const suspended = (await exists(path.join(dir, VM_FILES.vzState))) || (await exists(path.join(dir, VM_FILES.qemuState)));
    if (!(o.keepMacIfSuspended && suspended) && (await this.macInUse(cfg.macAddress))) {
      cfg.macAddress = randomMac();
      await writeFileAtomic(configPath, serializeConfig(cfg));
    }
    await fsp.mkdir(this.home.vms, { recursive: true });
    try {
      await fsp.rename(dir, dst);
    } catch (e) {
      if (errnoCode(e) !== 'EXDEV') throw e;
      throw new NestboxError('UNSUPPORTED', `Cannot move the new VM "${name}" into ${this.home.vms}: it is on another filesystem than ${path.dirname(dir)}.`, {
        fix: 'Keep vms/ and tmp/ of TART_HOME on one filesystem: move the whole TART_HOME there and point TART_HOME at it.',
        cause: e,
        details: { from: dir, to: dst },
      });
    }
    await fsyncDir(this.home.vms);
    await fsyncDir(path.dirname(dir));
  }

  /** Copies disk.img (reflink or sparse copy) and the other VM files except config.json into `to`. */
  private async copyVmFiles(from: string, to: string, ctx: TaskContext): Promise<CloneMethod> {
    const state: CopyState = {};
    const srcDisk = path.join(from, VM_FILES.disk);
    const dstDisk = path.join(to, VM_FILES.disk);
    const total = (await fsp.stat(srcDisk)).blocks * 512;
    ctx.progress({ step: 'Cloning disk', done: 0, total, unit: 'bytes' });
    // The copy runs on a worker thread; report progress by watching the destination grow.
    const timer = setInterval(() => {
      fsp.stat(dstDisk).then(
        (st) => ctx.progress({ done: Math.min(total, st.blocks * 512), total, unit: 'bytes' }),
        () => {},
      );
    }, 250);
    timer.unref();
    let method: CloneMethod;
    try {
      method = await cloneFile(srcDisk, dstDisk, state, ctx.signal);
    } finally {
      clearInterval(timer);
    }
    ctx.progress({ done: total, total, unit: 'bytes' });
    if (ctx.signal.aborted) throw cancelledError('The clone');
    for (const f of CLONED_FILES) {
      const src = path.join(from, f);
      if (!(await exists(src))) continue;
      await cloneFile(src, path.join(to, f), state, ctx.signal);
    }
    return method;
  }

  private async cloneDir(srcDir: string, dst: string, ctx: TaskContext, what: string): Promise<{ vm: VMInfo; method: CloneMethod }> {
    if (await exists(this.dirOf(dst))) throw alreadyExists(dst);
    const configText = await readFileKeepingLocks(path.join(srcDir, VM_FILES.config));
    parseConfig(configText, path.join(srcDir, VM_FILES.config));
    if (ctx.signal.aborted) throw cancelledError('The clone');
    const tmp = await TempDir.create(this.home);
    let method: CloneMethod;
    try {
      method = await this.withHomeLock(ctx, async () => {
        if (await exists(this.dirOf(dst))) throw alreadyExists(dst);
        const m = await this.copyVmFiles(srcDir, tmp.path, ctx);
        await writeNewFile(path.join(tmp.path, VM_FILES.config), configText);
        await fsyncDir(tmp.path);
        if (ctx.signal.aborted) throw cancelledError('The clone');
        await this.moveIntoPlace(tmp.path, dst, { keepMacIfSuspended: true });
        return m;
      });
    } catch (e) {
      await tmp.dispose();
      throw mapSpaceError(e, `clone ${what} to "${dst}"`, this.home.root);
    }
    tmp.release();
    return { vm: await this.get(dst), method };
  }
}

/** Creates a new file (must not exist) with `data`, optionally extended sparsely to `size`, and fsyncs it. */
async function writeNewFile(file: string, data: string, size?: number): Promise<void> {
  const fh = await fsp.open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
  try {
    if (data.length > 0) await fh.writeFile(data);
    if (size !== undefined) await fh.truncate(size);
    await fh.sync();
  } finally {
    await fh.close();
  }
}
