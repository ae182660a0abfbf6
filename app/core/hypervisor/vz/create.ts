/**
 * `create --from-ipsw` on a Mac with Apple silicon (tart-format.md §6): resolve + validate the restore image,
 * load it with VZMacOSRestoreImage, take its most featureful supported configuration, create nvram.bin
 * (VZMacAuxiliaryStorage) for its hardware model, a sparse disk, config.json with a new ECID — exactly the keys
 * Tart writes — then run VZMacOSInstaller with progress, and move the finished folder into vms/ under the home
 * lock. Nothing appears in vms/ unless the installation succeeded.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NestboxError, mapSpaceError } from '../../errors';
import { GB, randomMac, serializeConfig, validateVmName, type VMConfig } from '../../library/config';
import { VM_FILES } from '../../library/home';
import type { Library } from '../../library/library';
import { TempDir } from '../../library/tmp';
import { NOOP_TASK, cancelledError, type TaskContext } from '../../tasks/context';
import { resolveIpsw, macGuestsUnsupported, canRunMacGuests, currentHost, type IpswSpec, type HostInfo, type RestoreImageInfo } from '../../ipsw';
import { loadVzAddon } from './availability';
import { mapVzError } from './errors';
import { buildVzSpec } from './spec';
import type { VzAddon, VzMachine } from './types';

export interface CreateMacOptions {
  diskSizeGB?: number;
  diskFormat?: 'raw' | 'asif';
  task?: TaskContext;
  host?: HostInfo;
  /** For callers that already loaded the addon (the app's main process). */
  addon?: VzAddon;
}

/** Tart: cpuCount = max(4, minimum), memory = minimum; never more CPUs than the host has. */
export function macConfigFromRequirements(req: { hardwareModel: string; minimumSupportedCPUCount: number; minimumSupportedMemorySize: number }, ecid: string, hostCpus: number): VMConfig {
  const cpuMin = req.minimumSupportedCPUCount;
  return {
    version: 1,
    os: 'darwin',
    arch: 'arm64',
    ecid,
    hardwareModel: req.hardwareModel,
    cpuCountMin: cpuMin,
    cpuCount: Math.max(cpuMin, Math.min(4, hostCpus)),
    memorySizeMin: req.minimumSupportedMemorySize,
    memorySize: req.minimumSupportedMemorySize,
    macAddress: randomMac(),
    display: { width: 1024, height: 768 },
    diskFormat: 'raw',
    extra: {},
  };
}

export async function createMacVmFromIpsw(lib: Library, name: string, spec: IpswSpec, o: CreateMacOptions = {}): Promise<RestoreImageInfo> {
  const task = o.task ?? NOOP_TASK;
  const host = o.host ?? currentHost();
  validateVmName(name);
  const diskGB = o.diskSizeGB ?? 50;
  if (!Number.isInteger(diskGB) || diskGB < 1) {
    throw new NestboxError('INVALID_ARGUMENT', `--disk-size must be a whole number of GB ≥ 1 (got ${diskGB}).`, { fix: 'Pass e.g. --disk-size 80.' });
  }
  if (o.diskFormat === 'asif') {
    throw new NestboxError('UNSUPPORTED', 'ASIF disks are not supported by Nestbox yet.', { fix: 'Drop --disk-format (raw is the default).' });
  }
  if (await fsp.stat(lib.dirOf(name)).then(() => true, () => false)) {
    throw new NestboxError('ALREADY_EXISTS', `VM "${name}" already exists.`, { fix: `Pick another name, or delete it first with nestbox delete ${name}.` });
  }
  if (!canRunMacGuests(host) && spec.kind !== 'file') throw macGuestsUnsupported();

  // Validate the image before anything else (also on hosts that cannot install it).
  const { info } = await resolveIpsw(lib.home, spec, { task, host });
  if (!canRunMacGuests(host)) throw macGuestsUnsupported(info);

  let addon = o.addon;
  if (!addon) {
    const r = loadVzAddon();
    if ('error' in r) throw new NestboxError('MISSING_DEPENDENCY', `The Virtualization.framework addon cannot be loaded (${r.error}).`, { fix: 'Reinstall Nestbox.' });
    addon = r.addon;
  }
  const hostInfo = addon.hostInfo();

  task.progress({ step: 'Loading the restore image' });
  let image;
  try {
    image = await addon.loadRestoreImage(info.path);
  } catch (e) {
    throw mapVzError(e, name, 'load the restore image for');
  }
  const req = image.requirements;
  if (!req || !req.hardwareModelSupported) {
    throw new NestboxError('UNSUPPORTED', `This Mac (macOS ${hostInfo.macosVersion}) cannot install macOS ${image.productVersion} (${image.buildVersion}): the image has no configuration this host supports.`, {
      fix: info.warnings[0] ?? 'Update macOS on this Mac, or use an older restore image.',
    });
  }

  const tmp = await TempDir.create(lib.home);
  let machine: VzMachine | undefined;
  try {
    const config = macConfigFromRequirements(req, addon.newMacMachineIdentifier(), os.cpus().length);
    try {
      addon.createMacAuxiliaryStorage(path.join(tmp.path, VM_FILES.nvram), req.hardwareModel);
    } catch (e) {
      throw mapVzError(e, name, 'create the NVRAM of');
    }
    const disk = await fsp.open(path.join(tmp.path, VM_FILES.disk), 'wx');
    try {
      await disk.truncate(diskGB * GB); // sparse, like Tart
    } finally {
      await disk.close();
    }
    await fsp.writeFile(path.join(tmp.path, VM_FILES.config), serializeConfig(config), { flag: 'wx' });

    const vm = { name, dir: tmp.path, config };
    const vzSpec = buildVzSpec(vm, { graphics: false, audio: false }, { macosVersion: hostInfo.macosVersion, cpus: os.cpus().length, memory: os.totalmem(), rosetta: hostInfo.rosetta });
    try {
      machine = await addon.createMachine(vzSpec, () => {}, { queue: hostInfo.mainQueueServiced ? 'main' : 'private' });
    } catch (e) {
      throw mapVzError(e, name, 'prepare the installation of');
    }
    const m = machine;
    // VZMacOSInstaller.h: stopping or pausing the VM during installation is undefined behaviour; cancel its progress.
    const onAbort = () => m.cancelInstall();
    task.signal.addEventListener('abort', onAbort, { once: true });
    task.progress({ step: `Installing macOS ${image.productVersion} (${image.buildVersion})`, done: 0, total: 100, unit: 'percent' });
    try {
      await m.install(info.path, (f) => task.progress({ done: Math.round(f * 1000) / 10, total: 100, unit: 'percent' }));
    } catch (e) {
      if (task.signal.aborted) throw cancelledError('Installing macOS');
      throw mapVzError(e, name, 'install macOS on');
    } finally {
      task.signal.removeEventListener('abort', onAbort);
    }
    // The installer leaves the VM stopped; make sure before releasing it.
    if (m.state() !== 0) await m.stop().catch(() => {});
    m.dispose();
    machine = undefined;
    await lib.importDirectory(tmp.path, name);
  } catch (e) {
    if (machine) {
      await machine.stop().catch(() => {});
      try {
        machine.dispose();
      } catch {}
    }
    await tmp.dispose();
    throw mapSpaceError(e, `create VM "${name}"`, lib.home.root);
  }
  tmp.release();
  task.log(`Created ${name} (macOS ${image.productVersion}). Start it and finish the Setup Assistant in its window.`);
  return info;
}
