/** Client-side validation that mirrors the engine's rules, so the UI can say why before anything is sent. */
import type { HostInfo, VmDetail } from '../../../api';
import { formatBytes } from './format';

export const MiB = 1024 * 1024;
export const GB = 1000 ** 3;

/** Tart's VM-name rules (core/library/config.ts validateVmName): the reason, or null when the name is fine. */
export function vmNameProblem(name: string, existing?: Iterable<string>): string | null {
  if (name.length === 0) return 'Enter a name.';
  if (name === '.' || name === '..') return 'A name cannot be "." or "..".';
  if (name.includes('/') || name.includes('\\')) return 'A name cannot contain "/" or "\\".';
  if (name.includes('..')) return 'A name cannot contain "..".';
  if (name.startsWith('.')) return 'A name cannot start with a dot.';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'A name cannot contain control characters.';
  if (/^\s|\s$/.test(name)) return 'A name cannot start or end with a space.';
  if (new TextEncoder().encode(name).length > 128) return 'A name can be at most 128 bytes long.';
  if (existing) for (const e of existing) if (e === name) return `A VM named "${name}" already exists.`;
  return null;
}

/** Quick syntactic check of a remote reference, before asking the engine (image.checkReference). */
export function referenceQuickProblem(ref: string): string | null {
  const s = ref.trim();
  if (s.length === 0) return 'Enter an image reference, e.g. ghcr.io/cirruslabs/debian:latest.';
  if (/\s/.test(s)) return 'A reference cannot contain spaces.';
  if (!s.includes('/')) return 'Add the registry host, e.g. ghcr.io/org/image:tag.';
  return null;
}

/** Registries on this machine speak plain HTTP; offer "insecure" by default for them. */
export function isLocalRegistry(ref: string): boolean {
  const host = ref.trim().split('/')[0] ?? '';
  return /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/.test(host);
}

export interface SettingsDraft {
  cpuCount: string;
  memoryMB: string;
  diskSizeGB: string;
  displayWidth: string;
  displayHeight: string;
  randomMac: boolean;
}

export type SettingsField = 'cpuCount' | 'memoryMB' | 'diskSizeGB' | 'display';

export interface SettingsCheck {
  errors: Partial<Record<SettingsField, string>>;
  /** The vm.set parameters for what changed (only when there are no errors). */
  changes: { cpuCount?: number; memoryMB?: number; diskSizeGB?: number; display?: string; randomMac?: boolean };
  changed: boolean;
  /** The VM must be stopped to apply these changes. */
  needsStop: boolean;
}

export function draftFromVm(vm: VmDetail): SettingsDraft {
  return {
    cpuCount: String(vm.cpuCount ?? vm.limits.minCpu),
    memoryMB: String(Math.round((vm.memorySize ?? vm.limits.minMemory) / MiB)),
    diskSizeGB: String(currentDiskGB(vm)),
    displayWidth: String(vm.display?.width ?? 1024),
    displayHeight: String(vm.display?.height ?? 768),
    randomMac: false,
  };
}

export function currentDiskGB(vm: Pick<VmDetail, 'disk'>): number {
  return Math.max(1, Math.ceil(vm.disk.apparent / GB - 1e-9));
}

export function cpuBounds(vm: VmDetail): { min: number; max: number; minWhy: string; maxWhy: string } {
  const cfgMin = vm.cpuCountMin ?? 0;
  const min = Math.max(vm.limits.minCpu, cfgMin);
  return {
    min,
    max: Math.max(min, vm.limits.maxCpu),
    minWhy: cfgMin > vm.limits.minCpu ? `this guest's configuration requires at least ${cfgMin} (cpuCountMin)` : `a VM needs at least ${min}`,
    maxWhy: `this host allows at most ${vm.limits.maxCpu}`,
  };
}

export function memoryBoundsMB(vm: VmDetail): { min: number; max: number; minWhy: string; maxWhy: string } {
  const cfgMin = Math.ceil((vm.memorySizeMin ?? 0) / MiB);
  const hostMin = Math.ceil(vm.limits.minMemory / MiB);
  const min = Math.max(cfgMin, hostMin);
  const max = Math.max(min, Math.floor(vm.limits.maxMemory / MiB));
  return {
    min,
    max,
    minWhy: cfgMin > hostMin ? `this guest's configuration requires at least ${cfgMin} MB (memorySizeMin)` : `a VM needs at least ${min} MB`,
    maxWhy: `this host allows at most ${max} MB`,
  };
}

function intOf(s: string): number | null {
  const t = s.trim();
  if (!/^\d+$/.test(t)) return null;
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : null;
}

export function checkSettings(draft: SettingsDraft, vm: VmDetail): SettingsCheck {
  const errors: SettingsCheck['errors'] = {};
  const changes: SettingsCheck['changes'] = {};

  const cpu = intOf(draft.cpuCount);
  const cb = cpuBounds(vm);
  if (cpu === null) errors.cpuCount = 'CPUs must be a whole number.';
  else if (cpu < cb.min) errors.cpuCount = `At least ${cb.min} CPUs: ${cb.minWhy}.`;
  else if (cpu > cb.max) errors.cpuCount = `At most ${cb.max} CPUs: ${cb.maxWhy}.`;
  else if (cpu !== vm.cpuCount) changes.cpuCount = cpu;

  const mem = intOf(draft.memoryMB);
  const mb = memoryBoundsMB(vm);
  if (mem === null) errors.memoryMB = 'Memory must be a whole number of MB.';
  else if (mem < mb.min) errors.memoryMB = `At least ${mb.min} MB: ${mb.minWhy}.`;
  else if (mem > mb.max) errors.memoryMB = `At most ${mb.max} MB: ${mb.maxWhy}.`;
  else if (vm.memorySize === undefined || mem !== Math.round(vm.memorySize / MiB)) changes.memoryMB = mem;

  const disk = intOf(draft.diskSizeGB);
  const cur = currentDiskGB(vm);
  if (disk === null) errors.diskSizeGB = 'Disk size must be a whole number of GB.';
  else if (disk < cur) errors.diskSizeGB = `Disks can only grow: this disk is already ${formatBytes(vm.disk.apparent)}, and shrinking it would lose data.`;
  else if (disk > 100_000) errors.diskSizeGB = 'At most 100000 GB.';
  else if (disk > cur) changes.diskSizeGB = disk;

  const w = intOf(draft.displayWidth);
  const h = intOf(draft.displayHeight);
  if (w === null || h === null) errors.display = 'Width and height must be whole numbers of pixels.';
  else if (w < 320 || h < 240) errors.display = 'The display must be at least 320×240.';
  else if (w > 8192 || h > 8192) errors.display = 'The display can be at most 8192×8192.';
  else if (w !== vm.display?.width || h !== vm.display?.height) changes.display = `${w}x${h}`;

  if (draft.randomMac) changes.randomMac = true;

  const hasErrors = Object.keys(errors).length > 0;
  const changed = Object.keys(changes).length > 0;
  return { errors, changes: hasErrors ? {} : changes, changed: changed && !hasErrors, needsStop: vm.state !== 'stopped' && changed };
}

/** Defaults for a new Linux VM that adapt to the host: half the CPUs (2..8), a quarter of the memory rounded down to a power of two (2..8 GB). */
export function createDefaults(host: Pick<HostInfo, 'cpus' | 'memory' | 'freeDisk'> | undefined): { cpuCount: number; memoryMB: number; diskSizeGB: number } {
  if (!host) return { cpuCount: 2, memoryMB: 4096, diskSizeGB: 50 };
  const cpuCount = Math.min(8, Math.max(Math.min(2, host.cpus), Math.floor(host.cpus / 2)));
  const quarter = host.memory / 4 / MiB;
  const memoryMB = Math.min(8192, Math.max(2048, 2 ** Math.floor(Math.log2(Math.max(1, quarter)))));
  const freeGB = Math.floor(host.freeDisk / GB);
  const diskSizeGB = freeGB > 0 ? Math.min(50, Math.max(10, freeGB)) : 50;
  return { cpuCount, memoryMB, diskSizeGB };
}
