/**
 * Where a running QEMU VM can be found by any process: `nestbox-runtime.json` in the VM folder (pid, sockets,
 * ports, state) and a short private runtime directory for the unix sockets (sun_path is limited to ~104–108
 * bytes and VM folders can be deep): `$XDG_RUNTIME_DIR/nestbox/<hash>` or `/tmp/nestbox-<uid>/<hash>`, mode 0700.
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NestboxError } from '../../errors';
import { writeFileAtomic } from '../../fsutil';
import type { Arch } from '../../library/config';
import type { StartOptions, VmError } from '../backend';
import type { Accel } from './find';

export const RUNTIME_FILE = 'nestbox-runtime.json';
export const SERIAL_LOG = 'nestbox-serial.log';
export const QEMU_LOG = 'nestbox-qemu.log';
/** How the suspended machine was built (options, accel, address), next to VM_FILES.qemuState. */
export const STATE_META = 'nestbox-qemu.state.json';

export type RuntimeState = 'starting' | 'running' | 'paused' | 'suspending' | 'stopping';

export interface QemuRuntime {
  version: 1;
  backend: 'qemu';
  pid: number;
  startedAt: string;
  state: RuntimeState;
  arch: Arch;
  accel: Accel;
  macAddress: string;
  runtimeDir: string;
  qmp: string;
  vnc: string;
  vncTcp?: { port: number; password: string };
  serialSocket: string;
  serialLog: string;
  qemuLog: string;
  pcap: string;
  sshPort: number;
  options: StartOptions;
  ip?: string;
  restored?: boolean;
  /** QEMU has the clipboard agent port (com.redhat.spice.0). */
  clipboard?: boolean;
  /** Helper processes (virtiofsd) to clean up if they outlive QEMU. */
  helpers?: number[];
  /** The supervisor holding the lock (platforms without OFD locks). */
  supervisorPid?: number;
}

export interface SuspendMeta {
  version: 1;
  arch: Arch;
  accel: Accel;
  cpuCount: number;
  memoryBytes: number;
  macAddress: string;
  options: StartOptions;
  ip?: string;
  /** The VM was paused when it was suspended (restore leaves it paused). */
  paused?: boolean;
  /** It had the clipboard agent port (every VM started since it exists); a restore needs the same devices. */
  clipboard?: boolean;
  savedAt: string;
}

function uid(): number {
  return typeof process.getuid === 'function' ? process.getuid() : 0;
}

/** The private base directory for runtime sockets, created 0700 and checked to be ours (no symlink games in /tmp). */
export function runtimeBase(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_RUNTIME_DIR;
  const base = xdg && xdg.length < 40 ? path.join(xdg, 'nestbox') : path.join(os.platform() === 'win32' ? os.tmpdir() : '/tmp', `nestbox-${uid()}`);
  mkdirSync(base, { recursive: true, mode: 0o700 });
  const st = lstatSync(base);
  if (!st.isDirectory() || (typeof process.getuid === 'function' && st.uid !== uid()) || (st.mode & 0o077) !== 0) {
    throw new NestboxError('HYPERVISOR', `The runtime directory ${base} is not a private directory owned by this user.`, {
      fix: `Remove ${base} (or make it yours with mode 700) and try again.`,
    });
  }
  return base;
}

export function runtimeDirFor(vmDir: string, env: NodeJS.ProcessEnv = process.env): string {
  let real = vmDir;
  try {
    real = realpathSync(vmDir);
  } catch {}
  const hash = createHash('sha256').update(real).digest('hex').slice(0, 16);
  return path.join(runtimeBase(env), hash);
}

export function ensureRuntimeDir(vmDir: string): string {
  const dir = runtimeDirFor(vmDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

export function readRuntime(vmDir: string): QemuRuntime | null {
  try {
    const r = JSON.parse(readFileSync(path.join(vmDir, RUNTIME_FILE), 'utf8')) as QemuRuntime;
    return r && r.backend === 'qemu' && typeof r.pid === 'number' ? r : null;
  } catch {
    return null;
  }
}

export async function writeRuntime(vmDir: string, rt: QemuRuntime): Promise<void> {
  await writeFileAtomic(path.join(vmDir, RUNTIME_FILE), JSON.stringify(rt, null, 2) + '\n', 0o600);
}

/** Read-modify-write of a few fields (best effort; the file may be gone when the VM just stopped). */
export async function patchRuntime(vmDir: string, patch: Partial<QemuRuntime>): Promise<void> {
  const rt = readRuntime(vmDir);
  if (!rt) return;
  const file = path.join(vmDir, RUNTIME_FILE);
  const tmp = path.join(vmDir, `.${RUNTIME_FILE}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    writeFileSync(tmp, JSON.stringify({ ...rt, ...patch }, null, 2) + '\n', { mode: 0o600 });
    // Never bring back the file of a VM that ended (or was restarted) meanwhile.
    if (readRuntime(vmDir)?.pid === rt.pid) renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Removes the runtime file and the socket directory of a VM that is no longer running. */
export function removeRuntime(vmDir: string, rt: QemuRuntime | null = readRuntime(vmDir)): void {
  for (const h of rt?.helpers ?? []) {
    try {
      // Only a helper still serving this VM's runtime directory (guards against pid reuse).
      if (readFileSync(`/proc/${h}/cmdline`, 'utf8').includes(rt!.runtimeDir)) process.kill(h, 'SIGTERM');
    } catch {}
  }
  try {
    unlinkSync(path.join(vmDir, RUNTIME_FILE));
  } catch {}
  const dir = rt?.runtimeDir ?? runtimeDirFor(vmDir);
  // Only ever remove our own hashed directory under the private base.
  if (path.basename(path.dirname(dir)).startsWith('nestbox') && /^[0-9a-f]{16}$/.test(path.basename(dir))) {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function readSuspendMeta(vmDir: string): SuspendMeta | null {
  try {
    return JSON.parse(readFileSync(path.join(vmDir, STATE_META), 'utf8')) as SuspendMeta;
  } catch {
    return null;
  }
}

export function lastLines(file: string, n = 8): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.split('\n').map((l) => l.trim()).filter(Boolean).slice(-n).join('\n');
  } catch {
    return '';
  }
}

export type { VmError };
