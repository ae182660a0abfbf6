/**
 * vm.create's two Linux sources beyond an empty disk:
 *  - `diskImage`: an existing disk (a cloud image) becomes the VM's disk.img — raw images are cloned (reflink or
 *    sparse copy), qcow2/VMDK/VDI/VHDX are converted to raw with qemu-img. The VM is built in tmp/ and moved into
 *    vms/ at the end (never a half VM in the library), then grown to the requested size.
 *  - `installerIso`: an empty VM that remembers its installer (`nestbox-installer.json`); vm.start attaches the ISO
 *    as a CD-ROM while the VM's disk is still empty, so the installer boots first and the installed system after.
 */
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NestboxError, errnoCode, mapSpaceError } from '../core/errors';
import { writeFileAtomic } from '../core/fsutil';
import { GB, MiB, newLinuxConfig, serializeConfig, type Arch } from '../core/library/config';
import { VM_FILES, type Home } from '../core/library/home';
import { cloneFile, hostArch, type Library, type VMInfo } from '../core/library/library';
import { TempDir } from '../core/library/tmp';
import { throwIfCancelled, type TaskContext } from '../core/tasks/context';

export const INSTALLER_FILE = 'nestbox-installer.json';
/** Below this much data on disk.img the VM counts as not installed yet. */
const EMPTY_DISK_BYTES = 1024 * 1024;

export async function checkSourceFile(p: string, what: string): Promise<string> {
  const abs = path.resolve(p.replace(/^~(?=$|\/)/, os.homedir()));
  const st = await fsp.stat(abs).catch((e: unknown) => {
    throw new NestboxError(errnoCode(e) === 'ENOENT' ? 'NOT_FOUND' : 'INVALID_ARGUMENT', `The ${what} "${abs}" cannot be read (${errnoCode(e) ?? (e as Error).message}).`, {
      fix: `Check the path of the ${what}.`,
      details: { path: abs },
    });
  });
  if (!st.isFile()) throw new NestboxError('INVALID_ARGUMENT', `The ${what} "${abs}" is not a file.`, { fix: `Choose the ${what} file itself.`, details: { path: abs } });
  return abs;
}

/** The disk image's format from its first bytes (raw when nothing else matches). */
async function imageFormat(file: string): Promise<'raw' | 'qcow2' | 'vmdk' | 'vdi' | 'vhdx'> {
  const fh = await fsp.open(file, 'r');
  try {
    const b = Buffer.alloc(72);
    await fh.read(b, 0, b.length, 0);
    if (b.subarray(0, 4).equals(Buffer.from([0x51, 0x46, 0x49, 0xfb]))) return 'qcow2';
    if (b.subarray(0, 4).toString('latin1') === 'KDMV' || b.subarray(0, 21).toString('latin1') === '# Disk DescriptorFile') return 'vmdk';
    if (b.readUInt32LE(64) === 0xbeda107f) return 'vdi';
    if (b.subarray(0, 8).toString('latin1') === 'vhdxfile') return 'vhdx';
    return 'raw';
  } finally {
    await fh.close();
  }
}

function qemuImgConvert(src: string, format: string, dst: string, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('qemu-img', ['convert', '-f', format, '-O', 'raw', '-S', '4k', src, dst], { signal }, (e, _out, stderr) => {
      if (!e) return resolve();
      if (signal.aborted) return reject(new NestboxError('CANCELLED', 'Creating the VM was cancelled.', { fix: 'Run it again.' }));
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        return reject(new NestboxError('MISSING_DEPENDENCY', `Converting a ${format} image needs qemu-img, which is not installed.`, { fix: 'Install QEMU (e.g. `apt install qemu-utils`), or use a raw disk image.' }));
      }
      reject(new NestboxError('INVALID_ARGUMENT', `qemu-img could not convert "${src}": ${String(stderr).trim() || e.message}`, { fix: 'Check that the file is a complete disk image.', details: { path: src, format } }));
    });
  });
}

export interface CreateFromDiskOptions {
  name: string;
  diskImage: string;
  arch?: Arch;
  cpuCount?: number;
  memoryMB?: number;
  diskSizeGB?: number;
}

export async function createFromDiskImage(library: Library, home: Home, o: CreateFromDiskOptions, ctx: TaskContext): Promise<VMInfo> {
  const src = await checkSourceFile(o.diskImage, 'disk image');
  const tmp = await TempDir.create(home);
  try {
    const host = { cpus: os.cpus().length, memory: os.totalmem() };
    const config = newLinuxConfig({ arch: o.arch ?? hostArch(), host, ...(o.cpuCount ? { cpu: o.cpuCount } : {}), ...(o.memoryMB ? { memory: o.memoryMB * MiB } : {}) });
    const disk = path.join(tmp.path, VM_FILES.disk);
    const format = await imageFormat(src);
    ctx.progress({ step: format === 'raw' ? 'Copying the disk image' : `Converting the ${format} image to a raw disk` });
    try {
      if (format === 'raw') await cloneFile(src, disk, {}, ctx.signal);
      else await qemuImgConvert(src, format, disk, ctx.signal);
    } catch (e) {
      throw mapSpaceError(e, `create VM "${o.name}"`, home.root);
    }
    throwIfCancelled(ctx.signal, 'Creating the VM');
    const size = (await fsp.stat(disk)).size;
    if (o.diskSizeGB !== undefined) {
      const want = o.diskSizeGB * GB;
      if (want < size) {
        throw new NestboxError('INVALID_ARGUMENT', `The disk image is ${Math.ceil(size / GB)} GB; the VM's disk cannot be smaller (${o.diskSizeGB} GB asked).`, {
          fix: `Ask for at least ${Math.ceil(size / GB)} GB, or leave the size out to keep the image's.`,
        });
      }
      if (want > size) await fsp.truncate(disk, want);
    }
    await fsp.writeFile(path.join(tmp.path, VM_FILES.nvram), '');
    await writeFileAtomic(path.join(tmp.path, VM_FILES.config), serializeConfig(config));
    ctx.progress({ step: 'Adding the VM to the library' });
    const vm = await library.importDirectory(tmp.path, o.name);
    tmp.release();
    return vm;
  } catch (e) {
    await tmp.dispose();
    throw e;
  }
}

/** Remembers the installer ISO of a freshly created VM. */
export async function rememberInstaller(vmDir: string, iso: string): Promise<void> {
  await writeFileAtomic(path.join(vmDir, INSTALLER_FILE), JSON.stringify({ iso }, null, 2) + '\n');
}

/** The installer ISO to attach at start: only while the VM's disk is still empty and the ISO is still there. */
export async function installerToAttach(vm: VMInfo): Promise<string | null> {
  let iso: unknown;
  try {
    iso = (JSON.parse(await fsp.readFile(path.join(vm.dir, INSTALLER_FILE), 'utf8')) as { iso?: unknown }).iso;
  } catch {
    return null;
  }
  if (typeof iso !== 'string' || vm.disk.allocated >= EMPTY_DISK_BYTES) return null;
  return (await fsp.stat(iso).catch(() => null))?.isFile() ? iso : null;
}
