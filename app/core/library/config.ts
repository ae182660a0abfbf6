import { randomBytes } from 'node:crypto';
import { NestboxError } from '../errors';

/**
 * Tart's VMConfig (tart-format.md §2). Keys this version does not know are kept verbatim in `extra`
 * and written back on every rewrite, so a newer Tart's data survives a Nestbox edit.
 */
export type GuestOS = 'darwin' | 'linux';
export type Arch = 'arm64' | 'amd64';
export type DiskFormat = 'raw' | 'asif';

export interface DisplayConfig {
  width: number;
  height: number;
  unit?: 'pt' | 'px';
}

export interface VMConfig {
  version: number;
  os: GuestOS;
  arch: Arch;
  ecid?: string;
  hardwareModel?: string;
  cpuCountMin: number;
  cpuCount: number;
  memorySizeMin: number;
  memorySize: number;
  macAddress: string;
  display: DisplayConfig;
  displayRefit?: boolean;
  diskFormat: DiskFormat;
  /** Unknown keys, preserved on rewrite. */
  extra: Record<string, unknown>;
}

const KNOWN_KEYS = [
  'version',
  'os',
  'arch',
  'ecid',
  'hardwareModel',
  'cpuCountMin',
  'cpuCount',
  'memorySizeMin',
  'memorySize',
  'macAddress',
  'display',
  'displayRefit',
  'diskFormat',
] as const;

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
/** Tart's disk sizes are decimal gigabytes. */
export const GB = 1_000_000_000;

/** Floors every guest needs, whatever its config says (Virtualization.framework's own minimums are 1 CPU / 128 MiB). */
export const MIN_CPU = 1;
export const MIN_MEMORY = 128 * MiB;

export const MAC_RE = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/;

/** A random locally-administered unicast MAC address, lowercase, like VZMACAddress.randomLocallyAdministered. */
export function randomMac(): string {
  const b = randomBytes(6);
  b[0] = (b[0]! & 0xfe) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

/**
 * Parses config.json text. Throws BROKEN_VM with every problem listed (not just the first), so the
 * library can show the VM as broken with the reason while the rest keeps working.
 */
export function parseConfig(text: string, where = 'config.json'): VMConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new NestboxError('BROKEN_VM', `${where} is not valid JSON (${(e as Error).message}).`, {
      fix: 'Restore the file from a backup, or delete the VM and clone it again.',
      details: { path: where },
    });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new NestboxError('BROKEN_VM', `${where} must hold a JSON object.`, { details: { path: where } });
  }
  const o = raw as Record<string, unknown>;
  const problems: string[] = [];

  if (!isInt(o.version)) problems.push('"version" is missing or not an integer');
  const os = o.os ?? 'darwin';
  if (os !== 'darwin' && os !== 'linux') problems.push(`"os" must be "darwin" or "linux" (found ${JSON.stringify(o.os)})`);
  const arch = o.arch ?? 'arm64';
  if (arch !== 'arm64' && arch !== 'amd64') problems.push(`"arch" must be "arm64" or "amd64" (found ${JSON.stringify(o.arch)})`);
  if (os === 'darwin') {
    if (typeof o.ecid !== 'string') problems.push('"ecid" is required for macOS guests');
    if (typeof o.hardwareModel !== 'string') problems.push('"hardwareModel" is required for macOS guests');
  }
  for (const k of ['cpuCountMin', 'cpuCount', 'memorySizeMin', 'memorySize'] as const) {
    if (!isInt(o[k]) || (o[k] as number) < 0) problems.push(`"${k}" is missing or not a non-negative integer`);
  }
  if (typeof o.macAddress !== 'string' || !MAC_RE.test(o.macAddress.toLowerCase())) {
    problems.push(`"macAddress" is missing or not of the form aa:bb:cc:dd:ee:ff`);
  }
  let display: DisplayConfig = { width: 1024, height: 768 };
  if (o.display !== undefined) {
    const d = o.display as Record<string, unknown>;
    if (typeof d !== 'object' || d === null || !isInt(d.width) || !isInt(d.height) || d.width <= 0 || d.height <= 0) {
      problems.push('"display" must be {"width": int, "height": int}');
    } else if (d.unit !== undefined && d.unit !== 'pt' && d.unit !== 'px') {
      problems.push('"display.unit" must be "pt" or "px"');
    } else {
      display = { ...(d as object), width: d.width, height: d.height } as DisplayConfig;
    }
  }
  if (o.displayRefit !== undefined && typeof o.displayRefit !== 'boolean') problems.push('"displayRefit" must be a boolean');

  if (problems.length > 0) {
    throw new NestboxError('BROKEN_VM', `${where} is not a valid VM config: ${problems.join('; ')}.`, {
      fix: 'Fix the listed keys in config.json, or delete the VM and clone it again.',
      details: { path: where, problems },
    });
  }

  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (!(KNOWN_KEYS as readonly string[]).includes(k)) extra[k] = v;

  return {
    version: o.version as number,
    os: os as GuestOS,
    arch: arch as Arch,
    ...(typeof o.ecid === 'string' ? { ecid: o.ecid } : {}),
    ...(typeof o.hardwareModel === 'string' ? { hardwareModel: o.hardwareModel } : {}),
    cpuCountMin: o.cpuCountMin as number,
    cpuCount: o.cpuCount as number,
    memorySizeMin: o.memorySizeMin as number,
    memorySize: o.memorySize as number,
    macAddress: (o.macAddress as string).toLowerCase(),
    display,
    ...(typeof o.displayRefit === 'boolean' ? { displayRefit: o.displayRefit } : {}),
    // Tart: an unknown disk format reads as raw.
    diskFormat: o.diskFormat === 'asif' ? 'asif' : 'raw',
    extra,
  };
}

/** The object Tart would write: known keys in Tart's order, then preserved unknown keys. */
export function configToObject(c: VMConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { version: c.version, os: c.os, arch: c.arch };
  if (c.ecid !== undefined) out.ecid = c.ecid;
  if (c.hardwareModel !== undefined) out.hardwareModel = c.hardwareModel;
  out.cpuCountMin = c.cpuCountMin;
  out.cpuCount = c.cpuCount;
  out.memorySizeMin = c.memorySizeMin;
  out.memorySize = c.memorySize;
  out.macAddress = c.macAddress;
  out.display = c.display;
  if (c.displayRefit !== undefined) out.displayRefit = c.displayRefit;
  out.diskFormat = c.diskFormat;
  for (const [k, v] of Object.entries(c.extra)) if (!(k in out)) out[k] = v;
  return out;
}

/** Pretty-printed, as Tart writes config.json on create/set. */
export function serializeConfig(c: VMConfig): string {
  return JSON.stringify(configToObject(c), null, 2) + '\n';
}

/** Compact, as Tart pushes the config layer. */
export function serializeConfigCompact(c: VMConfig): string {
  return JSON.stringify(configToObject(c));
}

export interface HostLimits {
  cpus: number;
  memory: number;
}

export interface NewLinuxConfigOptions {
  arch: Arch;
  host: HostLimits;
  cpu?: number;
  memory?: number;
}

/**
 * Tart's Linux defaults are 4 CPUs / 4 GiB; Nestbox never exceeds the host (a 2-core laptop gets 2 CPUs,
 * and at most half its memory).
 */
export function newLinuxConfig(o: NewLinuxConfigOptions): VMConfig {
  const cpu = o.cpu ?? Math.max(MIN_CPU, Math.min(4, o.host.cpus));
  const memory = o.memory ?? Math.max(512 * MiB, Math.min(4 * GiB, Math.floor(o.host.memory / 2 / MiB) * MiB));
  return {
    version: 1,
    os: 'linux',
    arch: o.arch,
    cpuCountMin: Math.min(cpu, 4),
    cpuCount: cpu,
    memorySizeMin: Math.min(memory, 4 * GiB),
    memorySize: memory,
    macAddress: randomMac(),
    display: { width: 1024, height: 768 },
    diskFormat: 'raw',
    extra: {},
  };
}

export type Backend = 'qemu' | 'vz';

export interface ResourceCheck {
  /** Problems that refuse the change. */
  errors: string[];
  /** Problems that allow it but deserve a word (e.g. more CPUs than the host under QEMU). */
  warnings: string[];
}

/**
 * Tart's rules: macOS guests may not go below cpuCountMin/memorySizeMin; every guest needs ≥ 1 CPU and a sane
 * memory floor. More than the host has is refused for Virtualization.framework and warned about for QEMU.
 */
export function checkResources(c: Pick<VMConfig, 'os' | 'cpuCountMin' | 'memorySizeMin'>, cpu: number, memory: number, host: HostLimits, backend: Backend): ResourceCheck {
  const errors: string[] = [];
  const warnings: string[] = [];
  if (!Number.isInteger(cpu) || cpu < MIN_CPU) errors.push(`CPU count must be a whole number ≥ ${MIN_CPU} (got ${cpu})`);
  if (!Number.isInteger(memory) || memory < MIN_MEMORY) errors.push(`memory must be at least ${MIN_MEMORY / MiB} MB (got ${Math.floor(memory / MiB)} MB)`);
  if (c.os === 'darwin') {
    if (cpu < c.cpuCountMin) errors.push(`this macOS guest needs at least ${c.cpuCountMin} CPUs (cpuCountMin)`);
    if (memory < c.memorySizeMin) errors.push(`this macOS guest needs at least ${c.memorySizeMin / MiB} MB of memory (memorySizeMin)`);
  }
  const tooManyCpu = cpu > host.cpus ? `${cpu} CPUs is more than this host has (${host.cpus})` : null;
  const tooMuchMem = memory > host.memory ? `${Math.floor(memory / MiB)} MB is more memory than this host has (${Math.floor(host.memory / MiB)} MB)` : null;
  for (const p of [tooManyCpu, tooMuchMem]) {
    if (!p) continue;
    if (backend === 'vz') errors.push(p);
    else warnings.push(p);
  }
  return { errors, warnings };
}

/** Valid local VM names: one path component, printable, not hidden, ≤ 128 bytes. */
export function validateVmName(name: string): void {
  const bad = (reason: string) =>
    new NestboxError('INVALID_NAME', `"${name}" is not a valid VM name: ${reason}.`, {
      fix: 'Use letters, digits, dots, dashes and underscores, e.g. "sonoma-dev".',
      details: { name },
    });
  if (name.length === 0) throw bad('it is empty');
  if (name === '.' || name === '..') throw bad('it is a relative path');
  if (name.includes('/') || name.includes('\\')) throw bad('it contains a path separator');
  if (name.includes('..')) throw bad('it contains ".."');
  if (name.startsWith('.')) throw bad('it starts with a dot');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) throw bad('it contains control characters');
  if (/^\s|\s$/.test(name)) throw bad('it starts or ends with a space');
  if (Buffer.byteLength(name) > 128) throw bad('it is longer than 128 bytes');
}
