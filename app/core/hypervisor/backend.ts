/**
 * The hypervisor backend interface. Two implementations: QEMU (`./qemu`, Linux and macOS) and Apple's
 * Virtualization.framework (`./vz`, macOS on Apple silicon). Everything above this file (CLI, server, Electron
 * main) talks to a backend only through `HypervisorBackend`, usually via the `Machines` facade (./machines.ts).
 *
 * Contract for backend modules: `app/core/hypervisor/<id>/index.ts` exports `createBackend(): HypervisorBackend`.
 * They are loaded lazily by id (see `loadBackend`), so a host without one of them (or a build without the VZ
 * helper) still runs the other.
 *
 * Process model: a running VM outlives the process that started it. "Running" is Tart's definition — some process
 * holds an fcntl write lock on the VM's config.json for exactly the VM's lifetime (F_GETLK sees it). Backends keep
 * whatever they need to re-attach (sockets, pid) in the VM folder (`nestbox-runtime.json` for QEMU), so any
 * process — a second CLI, the app after a crash — can query and control the VM.
 */
import os from 'node:os';
import { NestboxError, type ErrorCode } from '../errors';
import type { Arch, VMConfig } from '../library/config';

export type BackendId = 'qemu' | 'vz';

/** The explicit VM state machine (see TRANSITIONS). */
export type VmState = 'stopped' | 'starting' | 'running' | 'paused' | 'suspending' | 'suspended' | 'stopping' | 'error';

export const VM_STATES: readonly VmState[] = ['stopped', 'starting', 'running', 'paused', 'suspending', 'suspended', 'stopping', 'error'];

/**
 * Allowed transitions. `error` is reachable from everywhere (the cause is kept for the UI) and left by a new start
 * or by acknowledging it (→ stopped). A suspended VM is started (restored) or discarded (→ stopped).
 */
export const TRANSITIONS: Readonly<Record<VmState, readonly VmState[]>> = {
  stopped: ['starting', 'suspended', 'error'],
  starting: ['running', 'paused', 'stopping', 'stopped', 'error'],
  running: ['paused', 'suspending', 'stopping', 'stopped', 'error'],
  paused: ['running', 'suspending', 'stopping', 'stopped', 'error'],
  suspending: ['suspended', 'running', 'paused', 'stopped', 'error'],
  suspended: ['starting', 'stopped', 'error'],
  stopping: ['stopped', 'running', 'error'],
  error: ['starting', 'stopped', 'suspended', 'running'],
};

export function canTransition(from: VmState, to: VmState): boolean {
  return from === to || TRANSITIONS[from].includes(to);
}

/** The cause of an `error` state, kept for the UI (no stack traces, no secrets). */
export interface VmError {
  code: ErrorCode | string;
  message: string;
  fix?: string;
}

export interface VmStatus {
  state: VmState;
  error?: VmError;
  /** The process that holds the VM (QEMU's pid for the QEMU backend). */
  pid?: number;
  backend?: BackendId;
}

/** A VM as the backends see it: its folder and its parsed config. */
export interface VmHandle {
  name: string;
  /** Absolute path of the VM folder ($TART_HOME/vms/<name>). */
  dir: string;
  config: VMConfig;
}

export interface ExtraDisk {
  path: string;
  readOnly: boolean;
}

/** Tart's `--dir [name:]path[:ro,tag=TAG]`. */
export interface SharedDir {
  name?: string;
  path: string;
  readOnly: boolean;
  /** Default: `com.apple.virtio-fs.automount` (Tart's). */
  tag?: string;
}

export const DEFAULT_SHARE_TAG = 'com.apple.virtio-fs.automount';

export interface StartOptions {
  /**
   * true: the VM gets a screen the user looks at (window / VNC viewer). false (`--no-graphics`): headless. The QEMU
   * backend always serves its display on a VNC unix socket either way (screenshots, the web UI).
   */
  graphics: boolean;
  /** Also serve the display on loopback TCP with a password (`--vnc`). */
  vnc?: boolean;
  extraDisks?: ExtraDisk[];
  sharedDirs?: SharedDir[];
  /** macOS guests: boot into Recovery. Backends that cannot, refuse with UNSUPPORTED. */
  recovery?: boolean;
  /** Attach the serial console to the caller (the CLI's `--serial`); the log file is always written. */
  serial?: boolean;
  /**
   * Share the clipboard with the guest through the SPICE agent port (spice-vdagent in the guest), like Tart.
   * true (`--clipboard`) / false (`--no-clipboard`); unset: on where the VM can still be suspended with it (QEMU 7.2
   * cannot suspend a VM that has the port, so there it is off unless asked for).
   */
  clipboard?: boolean;
}

export type DisplayEndpoint =
  | { kind: 'vnc-unix'; path: string }
  | { kind: 'vnc-tcp'; host: '127.0.0.1'; port: number; password?: string }
  | { kind: 'native-window' };

export interface StopOptions {
  /** Graceful (ACPI power button / guest request) wait before forcing; default 30 s like `tart stop`. */
  timeoutMs?: number;
  /** Skip the graceful attempt. */
  force?: boolean;
}

/** Where to reach the guest and its console from the host. */
export interface ConnectionInfo {
  /** SSH to the guest: host + port (QEMU: a forwarded loopback port; VZ: the guest IP and 22). */
  ssh?: { host: string; port: number };
  vnc?: DisplayEndpoint;
  serialLog?: string;
  serialSocket?: string;
  /** While running: whether the guest's clipboard agent port is there (clipboard sharing). */
  clipboard?: boolean;
}

export type Availability = { ok: true } | { ok: false; reason: string; fix?: string };

export interface HypervisorBackend {
  readonly id: BackendId;
  /** Is the hypervisor usable on this host at all (binaries, firmware, OS version)? */
  available(): Promise<Availability>;
  /** Can this particular VM run here (os/arch/host)? Cheap and synchronous. */
  canRun(config: VMConfig): Availability;

  /** Boots (or restores a suspended) VM. Resolves once the VM is running; the VM outlives the caller. */
  start(vm: VmHandle, o: StartOptions): Promise<void>;
  /** Graceful shutdown with a timeout, then force. Resolves when the VM process is gone. */
  stop(vm: VmHandle, o?: StopOptions): Promise<void>;
  pause(vm: VmHandle): Promise<void>;
  resume(vm: VmHandle): Promise<void>;
  /** Saves the VM's state to a file in its folder and ends the VM process; the next start restores it. */
  suspend(vm: VmHandle): Promise<void>;
  status(vm: VmHandle): Promise<VmStatus>;
  /** A PNG of the current screen. */
  screenshot(vm: VmHandle): Promise<Buffer>;
  display(vm: VmHandle): Promise<DisplayEndpoint>;
  /** A duplex stream to the serial console (one client at a time). */
  serial(vm: VmHandle): Promise<NodeJS.ReadWriteStream>;
  /** The guest's IPv4 address, waiting up to waitMs for it to appear; null when unknown. */
  ip(vm: VmHandle, o?: { waitMs?: number }): Promise<string | null>;
  connectionInfo(vm: VmHandle): Promise<ConnectionInfo>;
  /** Optional: resolves when the VM's process has ended (default: Machines polls the lock). */
  waitForExit?(vm: VmHandle): Promise<void>;
  /** Optional: forget a kept failure cause (status stops reporting `error`). */
  acknowledge?(vm: VmHandle): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------------
// Host and backend selection

export interface HostInfo {
  platform: NodeJS.Platform;
  /** Host CPU architecture in Tart's spelling where it maps ('arm64' | 'amd64'), else Node's. */
  arch: Arch | string;
}

export function hostInfo(): HostInfo {
  const a = os.arch();
  return { platform: process.platform, arch: a === 'x64' ? 'amd64' : a === 'arm64' ? 'arm64' : a };
}

/** Loads a backend module by id; null when it is not part of this build. */
export function loadBackend(id: BackendId): HypervisorBackend | null {
  // Resolved at run time so the QEMU build does not depend on the VZ module (and vice versa).
  const modulePath = `./${id}`;
  let mod: { createBackend?: () => HypervisorBackend };
  try {
    mod = require(modulePath);
  } catch (e) {
    if ((e as { code?: string }).code === 'MODULE_NOT_FOUND') return null;
    throw e;
  }
  return typeof mod.createBackend === 'function' ? mod.createBackend() : null;
}

/**
 * Which backend runs this VM on this host, in order of preference:
 *  - macOS guests: only Virtualization.framework on a Mac with Apple silicon.
 *  - Linux guests on a Mac with Apple silicon: VZ for arm64 guests, QEMU for amd64 guests (emulated).
 *  - Linux guests elsewhere: QEMU (KVM/HVF when the guest arch matches the host, else emulation).
 */
export function backendPreference(config: Pick<VMConfig, 'os' | 'arch'>, host: HostInfo = hostInfo()): BackendId[] {
  if (config.os === 'darwin') return host.platform === 'darwin' && host.arch === 'arm64' ? ['vz'] : [];
  if (host.platform === 'darwin' && host.arch === 'arm64' && config.arch === 'arm64') return ['vz', 'qemu'];
  return ['qemu'];
}

/** Explains plainly why a VM cannot run on this host (null when some backend could). */
export function hostRefusal(config: Pick<VMConfig, 'os' | 'arch'>, host: HostInfo = hostInfo()): NestboxError | null {
  if (config.os === 'darwin' && !(host.platform === 'darwin' && host.arch === 'arm64')) {
    return new NestboxError('UNSUPPORTED', 'macOS guests need a Mac with Apple silicon.', {
      fix: 'Run this VM on a Mac with an M-series chip, or use a Linux VM on this host.',
      details: { guestOs: config.os, hostPlatform: host.platform, hostArch: host.arch },
    });
  }
  return null;
}

/**
 * Picks the backend for a VM: the first preferred backend that is part of this build, available on this host and
 * able to run this config. Throws UNSUPPORTED / MISSING_DEPENDENCY naming the reason and the fix.
 */
export async function selectBackend(
  config: VMConfig,
  opts: { host?: HostInfo; load?: (id: BackendId) => HypervisorBackend | null } = {},
): Promise<HypervisorBackend> {
  const host = opts.host ?? hostInfo();
  const load = opts.load ?? loadBackend;
  const refusal = hostRefusal(config, host);
  if (refusal) throw refusal;
  let firstProblem: { id: BackendId; reason: string; fix?: string; code: ErrorCode } | null = null;
  for (const id of backendPreference(config, host)) {
    const b = load(id);
    if (!b) {
      firstProblem ??= { id, reason: `the ${id} backend is not part of this build`, code: 'UNSUPPORTED' };
      continue;
    }
    const can = b.canRun(config);
    if (!can.ok) {
      firstProblem ??= { id, reason: can.reason, fix: can.fix, code: 'UNSUPPORTED' };
      continue;
    }
    const av = await b.available();
    if (!av.ok) {
      firstProblem ??= { id, reason: av.reason, fix: av.fix, code: 'MISSING_DEPENDENCY' };
      continue;
    }
    return b;
  }
  if (firstProblem) {
    throw new NestboxError(firstProblem.code, `This VM cannot run on this host: ${firstProblem.reason}.`, {
      fix: firstProblem.fix,
      details: { backend: firstProblem.id, os: config.os, arch: config.arch },
    });
  }
  throw new NestboxError('UNSUPPORTED', `No hypervisor on this host can run a ${config.os}/${config.arch} VM.`, {
    details: { os: config.os, arch: config.arch, host },
  });
}

// ---------------------------------------------------------------------------------------------------------------
// State tracking

/** One VM's state with its transitions checked; listeners get every change. */
export class VmStateMachine {
  private current: VmState;
  private cause: VmError | undefined;
  private readonly listeners = new Set<(s: VmState, error?: VmError) => void>();

  constructor(initial: VmState = 'stopped') {
    this.current = initial;
  }

  get state(): VmState {
    return this.current;
  }

  get error(): VmError | undefined {
    return this.cause;
  }

  /** Moves to `to`; throws INTERNAL for a transition the machine does not allow. No-op when already there. */
  to(to: VmState, error?: VmError): void {
    if (to === this.current && to !== 'error') return;
    if (!canTransition(this.current, to)) {
      throw new NestboxError('INTERNAL', `Invalid VM state change ${this.current} → ${to}.`);
    }
    this.current = to;
    this.cause = to === 'error' ? (error ?? { code: 'HYPERVISOR', message: 'The VM failed.' }) : undefined;
    for (const l of this.listeners) l(this.current, this.cause);
  }

  /** Sets the state observed from outside (another process, the OS) without transition checks. */
  observe(s: VmState, error?: VmError): void {
    if (s === this.current && (s !== 'error' || error?.message === this.cause?.message)) return;
    this.current = s;
    this.cause = s === 'error' ? error : undefined;
    for (const l of this.listeners) l(this.current, this.cause);
  }

  onChange(l: (s: VmState, error?: VmError) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}

/** Converts any thrown value into the VmError shape kept for the UI. */
export function toVmError(e: unknown): VmError {
  const x = e as { code?: string; message?: string; fix?: string; name?: string };
  if (x && x.name === 'NestboxError') return { code: x.code ?? 'HYPERVISOR', message: x.message ?? String(e), ...(x.fix ? { fix: x.fix } : {}) };
  return { code: 'HYPERVISOR', message: x?.message ?? String(e) };
}
