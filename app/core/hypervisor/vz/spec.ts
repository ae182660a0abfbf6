/**
 * Translation from Tart's config.json (+ run options) to the device spec the Virtualization.framework addon
 * builds a VZVirtualMachineConfiguration from (native/vz/index.d.ts `VzMachineSpec`). Every decision that can be
 * made without the framework is made here, in plain TypeScript, so it is tested on any host; the Objective-C++
 * layer only maps fields 1:1 onto framework objects. Device choices follow Tart's (tart-format.md §7 "Run
 * devices", Sources/tart/Platform/{Darwin,Linux}.swift, VM.swift).
 */
import path from 'node:path';
import { NestboxError } from '../../errors';
import { VM_FILES } from '../../library/home';
import { MAC_RE, MIN_CPU, MIN_MEMORY, MiB, type VMConfig } from '../../library/config';
import { DEFAULT_SHARE_TAG, type SharedDir, type StartOptions, type VmHandle } from '../backend';
import type { VzMachineSpec, VzDiskSpec, VzShareSpec, VzDisplaySpec } from './types';

export type { VzMachineSpec } from './types';

export interface VzHostFacts {
  /** Host macOS version ("14.6"); features are gated on it like the framework gates them. */
  macosVersion: string;
  cpus: number;
  memory: number;
  /** `VZLinuxRosettaDirectoryShare.availability` as reported by the addon. */
  rosetta?: 'installed' | 'notInstalled' | 'notSupported';
}

export interface VzRunOptions extends StartOptions {
  /** Tart's `--suspendable`: macOS guests without audio/entropy, Mac keyboard + trackpad only (macOS 14+). Implied when a snapshot exists. */
  suspendable?: boolean;
  /** Tart's `--rosetta <tag>` (Linux guests). */
  rosettaTag?: string;
  /** Serial console output file (Linux guests' virtio console). Default: <vm>/nestbox-serial.log. */
  serialLog?: string;
  /** Tart's `--no-audio`. */
  audio?: boolean;
}

function major(v: string): number {
  return parseInt(v.split('.')[0] ?? '0', 10) || 0;
}

function bad(message: string, fix?: string, details?: Record<string, unknown>): NestboxError {
  return new NestboxError('INVALID_ARGUMENT', message, { fix, details });
}

/**
 * Groups `--dir` shares by tag, applying Tart's rules: default tag `com.apple.virtio-fs.automount`; one unnamed
 * directory per tag becomes a single-directory share; several directories on one tag must all be named
 * (multiple-directory share keyed by name) and names must be unique within the tag.
 */
export function groupShares(dirs: SharedDir[]): VzShareSpec[] {
  const byTag = new Map<string, SharedDir[]>();
  for (const d of dirs) {
    if (!path.isAbsolute(d.path)) throw bad(`Shared directory "${d.path}" must be an absolute path.`, 'Pass the full path, e.g. --dir ~/src.');
    const tag = d.tag ?? DEFAULT_SHARE_TAG;
    if (tag.length === 0 || Buffer.byteLength(tag) > 36) {
      // virtio-fs tags are at most 36 bytes (the virtio spec's fixed-size field).
      throw bad(`The share tag "${tag}" must be 1–36 bytes long.`, 'Pick a shorter tag.');
    }
    byTag.set(tag, [...(byTag.get(tag) ?? []), d]);
  }
  const out: VzShareSpec[] = [];
  for (const [tag, list] of byTag) {
    if (list.length === 1 && !list[0]!.name) {
      out.push({ tag, kind: 'single', directory: { path: list[0]!.path, readOnly: list[0]!.readOnly } });
      continue;
    }
    const unnamed = list.filter((d) => !d.name);
    if (unnamed.length > 0) {
      throw bad(`Several directories share the tag "${tag}", so each needs a name (${unnamed.map((d) => d.path).join(', ')} has none).`, 'Use --dir NAME:PATH for each of them.', { tag });
    }
    const names = new Set<string>();
    const directories: Record<string, { path: string; readOnly: boolean }> = {};
    for (const d of list) {
      if (names.has(d.name!)) throw bad(`The share name "${d.name}" is used twice on tag "${tag}".`, 'Give each directory its own name.');
      if (d.name!.includes('/')) throw bad(`The share name "${d.name}" may not contain "/".`);
      names.add(d.name!);
      directories[d.name!] = { path: d.path, readOnly: d.readOnly };
    }
    out.push({ tag, kind: 'multiple', directories });
  }
  return out;
}

function display(c: VMConfig): VzDisplaySpec {
  const { width, height } = c.display;
  if (c.os === 'darwin') {
    // Tart: unit absent ⇒ points for macOS guests, scaled to the host's main screen
    // (VZMacGraphicsDisplayConfiguration initForScreen:sizeInPoints:, macOS 12+); the addon falls back to
    // pixels at 72 ppi when there is no main screen (headless), as Tart does.
    if ((c.display.unit ?? 'pt') === 'pt') return { kind: 'mac', width, height, unit: 'pt' };
    return { kind: 'mac', width, height, unit: 'px', pixelsPerInch: 72 };
  }
  return { kind: 'virtio', width, height };
}

/**
 * Builds the addon's spec for one VM run. Throws INVALID_ARGUMENT / UNSUPPORTED naming the option and the fix.
 * Pure: touches no files (the addon reports missing ones with their own error).
 */
export function buildVzSpec(vm: VmHandle, o: VzRunOptions, host: VzHostFacts): VzMachineSpec {
  const c = vm.config;
  const file = (f: string) => path.join(vm.dir, f);
  const hostMajor = major(host.macosVersion);
  if (c.arch !== 'arm64') {
    throw new NestboxError('UNSUPPORTED', `${vm.name} is an ${c.arch} VM; Virtualization.framework on Apple silicon runs arm64 guests only.`, {
      fix: 'Run it with the QEMU backend (emulated), or use an arm64 image.',
    });
  }
  if (c.os === 'linux' && hostMajor < 13) {
    throw new NestboxError('UNSUPPORTED', 'Linux VMs need macOS 13 (Ventura) or newer on the host (EFI boot).', { fix: 'Update macOS.' });
  }
  if (c.cpuCount < MIN_CPU || c.cpuCount > host.cpus) {
    throw bad(`${vm.name} asks for ${c.cpuCount} CPUs; this Mac has ${host.cpus}.`, `Lower it: nestbox set ${vm.name} --cpu ${Math.min(host.cpus, Math.max(c.cpuCountMin, 1))}`);
  }
  if (c.memorySize < MIN_MEMORY || c.memorySize > host.memory) {
    throw bad(`${vm.name} asks for ${Math.floor(c.memorySize / MiB)} MB of memory; this Mac has ${Math.floor(host.memory / MiB)} MB.`, `Lower it with nestbox set ${vm.name} --memory MB.`);
  }
  if (c.memorySize % MiB !== 0) {
    // VZVirtualMachineConfiguration.memorySize must be a multiple of 1 MiB.
    throw bad(`${vm.name}'s memory size (${c.memorySize} bytes) is not a whole number of MB.`, `Set it again with nestbox set ${vm.name} --memory ${Math.floor(c.memorySize / MiB)}.`);
  }
  if (!MAC_RE.test(c.macAddress)) throw bad(`${vm.name} has an invalid MAC address "${c.macAddress}".`, `Run nestbox set ${vm.name} --random-mac.`);

  if (o.recovery && c.os !== 'darwin') throw new NestboxError('UNSUPPORTED', 'Recovery boot is for macOS guests only.', { fix: 'Drop --recovery.' });
  if (o.recovery && hostMajor < 13) throw new NestboxError('UNSUPPORTED', 'Booting into macOS Recovery needs macOS 13 or newer on the host.', { fix: 'Update macOS.' });
  const suspendable = !!o.suspendable;
  if (suspendable && c.os !== 'darwin') {
    throw new NestboxError('UNSUPPORTED', 'Only macOS guests can be suspended with Virtualization.framework.', { fix: 'Stop the VM instead, or drop --suspendable.' });
  }
  if (suspendable && hostMajor < 14) throw new NestboxError('UNSUPPORTED', 'Suspending VMs needs macOS 14 (Sonoma) or newer on the host.', { fix: 'Update macOS.' });

  const disks: VzDiskSpec[] = [
    // Tart: root disk cached for Linux, automatic for macOS; synchronization full.
    { path: file(VM_FILES.disk), readOnly: false, caching: c.os === 'linux' ? 'cached' : 'automatic', sync: 'full' },
    ...(o.extraDisks ?? []).map((d): VzDiskSpec => {
      if (!path.isAbsolute(d.path)) throw bad(`Disk "${d.path}" must be an absolute path.`);
      return { path: d.path, readOnly: d.readOnly, caching: 'automatic', sync: 'full' };
    }),
  ];

  const shares = groupShares(o.sharedDirs ?? []);
  if (shares.length > 0 && hostMajor < 13) throw new NestboxError('UNSUPPORTED', 'Shared directories need macOS 13 or newer on the host.', { fix: 'Update macOS.' });
  if (suspendable && shares.length > 0) {
    throw new NestboxError('UNSUPPORTED', 'A VM with shared directories cannot be suspended (Virtualization.framework cannot save virtio-fs state).', {
      fix: 'Drop --dir, or stop the VM instead of suspending it.',
    });
  }

  let rosetta: VzMachineSpec['rosetta'];
  if (o.rosettaTag !== undefined) {
    if (c.os !== 'linux') throw bad('Rosetta is for Linux guests only.', 'Drop --rosetta.');
    if (host.rosetta === 'notSupported' || !host.rosetta) {
      throw new NestboxError('UNSUPPORTED', 'Rosetta for Linux is not available on this Mac.', { fix: 'Drop --rosetta (it needs Apple silicon and macOS 13+).' });
    }
    if (host.rosetta === 'notInstalled') {
      throw new NestboxError('MISSING_DEPENDENCY', 'Rosetta is not installed on this Mac.', { fix: 'Run `softwareupdate --install-rosetta --agree-to-license`, then try again.' });
    }
    if (shares.some((s) => s.tag === o.rosettaTag)) throw bad(`The Rosetta tag "${o.rosettaTag}" is also used by a shared directory.`, 'Pick another tag.');
    rosetta = { tag: o.rosettaTag };
  }

  const common = {
    cpuCount: c.cpuCount,
    memorySize: c.memorySize,
    disks,
    network: { kind: 'nat' as const, macAddress: c.macAddress },
    shares,
    display: display(c),
  };

  if (c.os === 'darwin') {
    if (!c.hardwareModel || !c.ecid) throw new NestboxError('BROKEN_VM', `${vm.name}'s config.json lacks hardwareModel/ecid.`, { fix: 'Re-create the VM from an IPSW.' });
    return {
      ...common,
      platform: { kind: 'mac', hardwareModel: c.hardwareModel, machineIdentifier: c.ecid, auxiliaryStorage: file(VM_FILES.nvram) },
      // Tart: Mac keyboard (macOS 14+) and trackpad; suspendable runs keep only the Mac devices (VZ can only save those).
      keyboards: suspendable ? ['mac'] : hostMajor >= 14 ? ['usb', 'mac'] : ['usb'],
      pointingDevices: suspendable ? ['mac-trackpad'] : hostMajor >= 13 ? ['usb-screen', 'mac-trackpad'] : ['usb-screen'],
      audio: !suspendable && o.audio !== false,
      entropy: !suspendable,
      memoryBalloon: !suspendable,
      // Like Tart: a SPICE agent port shares the clipboard (macOS 13+), unless --no-clipboard or a suspendable run
      // (VZ can save only the Mac devices).
      clipboard: !suspendable && o.clipboard !== false && hostMajor >= 13,
      serial: undefined,
      rosetta: undefined,
      startOptions: { recovery: !!o.recovery },
      saveFile: file(VM_FILES.vzState),
    };
  }
  return {
    ...common,
    platform: { kind: 'linux', efiVariableStore: file(VM_FILES.nvram) },
    keyboards: ['usb'],
    pointingDevices: ['usb-screen'],
    audio: o.audio !== false,
    entropy: true,
    memoryBalloon: true,
    clipboard: o.clipboard !== false && hostMajor >= 13,
    serial: { outputPath: o.serialLog ?? file('nestbox-serial.log') },
    rosetta,
    startOptions: { recovery: false },
    saveFile: undefined,
  };
}
