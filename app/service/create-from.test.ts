import { execFileSync } from 'node:child_process';
import { openSync, readdirSync, readFileSync, statSync, writeFileSync, writeSync, closeSync, existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskInfo } from '../api/models';
import { openHome } from '../core/library/home';
import { inspectVm } from '../core/library/library';
import { tempHome, type TempHome } from '../../test/helpers';
import { INSTALLER_FILE, installerToAttach } from './create-from';
import { createService, type Service } from './service';

const MiB = 1024 * 1024;

describe('vm.create from a disk image or an installer ISO', () => {
  let home: TempHome;
  let service: Service;
  const pattern = Buffer.alloc(3 * MiB);
  for (let i = 0; i < pattern.length; i += 512) pattern.write(`sector ${i / 512} `, i);

  beforeAll(() => {
    home = tempHome();
    service = createService({ home: openHome(home.env), shell: 'web', watch: false });
  });
  afterAll(async () => {
    await service?.dispose();
    home?.cleanup();
  });

  const run = async (params: Record<string, unknown>): Promise<TaskInfo> => {
    const { taskId } = await service.handlers['vm.create']({ name: 'x', os: 'linux', ...params } as never, null);
    await service.tasks.wait(taskId);
    return (await service.handlers['task.list']({}, null)).find((t) => t.id === taskId)!;
  };

  it('a raw image becomes the disk, grown to the size asked', async () => {
    const img = path.join(home.root, 'cloud.raw');
    writeFileSync(img, pattern);
    const t = await run({ name: 'raw-vm', diskImage: img, diskSizeGB: 1, cpuCount: 1, memoryMB: 512 });
    expect(t).toMatchObject({ state: 'done', result: { vm: 'raw-vm' } });
    const dir = path.join(home.root, 'vms', 'raw-vm');
    const disk = readFileSync(path.join(dir, 'disk.img'));
    expect(disk.length).toBe(1e9);
    expect(disk.subarray(0, pattern.length).equals(pattern)).toBe(true);
    const vm = await inspectVm('raw-vm', dir);
    expect(vm.broken).toBeUndefined();
    expect(vm.config).toMatchObject({ os: 'linux', cpuCount: 1, memorySize: 512 * MiB });
    // The source is untouched.
    expect(readFileSync(img).equals(pattern)).toBe(true);
  });

  it('a qcow2 image is converted to a raw disk with qemu-img', async () => {
    const raw = path.join(home.root, 'src.raw');
    const q = path.join(home.root, 'cloud.qcow2');
    writeFileSync(raw, pattern);
    execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, q]);
    const t = await run({ name: 'qcow-vm', diskImage: q });
    expect(t.state).toBe('done');
    const disk = readFileSync(path.join(home.root, 'vms', 'qcow-vm', 'disk.img'));
    expect(disk.length).toBe(pattern.length);
    expect(disk.equals(pattern)).toBe(true);
  });

  it('refuses a missing image at once, and a too-small size without leaving anything behind', async () => {
    const e = await Promise.resolve(service.handlers['vm.create']({ name: 'ghost', os: 'linux', diskImage: '/nonexistent/disk.img' }, null)).catch((x) => x);
    expect(e).toMatchObject({ code: 'NOT_FOUND', message: 'The disk image "/nonexistent/disk.img" cannot be read (ENOENT).' });
    const big = path.join(home.root, 'big.raw');
    const fd = openSync(big, 'w');
    writeSync(fd, Buffer.from('data'), 0, 4, 2e9);
    closeSync(fd);
    const t = await run({ name: 'small', diskImage: big, diskSizeGB: 1 });
    expect(t.state).toBe('failed');
    expect(t.error).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/cannot be smaller/) });
    expect(existsSync(path.join(home.root, 'vms', 'small'))).toBe(false);
    expect(readdirSync(path.join(home.root, 'tmp'))).toEqual([]);
  });

  it('an installer ISO is remembered and attached only while the disk is empty', async () => {
    const iso = path.join(home.root, 'installer.iso');
    writeFileSync(iso, 'CD001');
    const t = await run({ name: 'iso-vm', installerIso: iso, diskSizeGB: 2 });
    expect(t.state).toBe('done');
    const dir = path.join(home.root, 'vms', 'iso-vm');
    expect(JSON.parse(readFileSync(path.join(dir, INSTALLER_FILE), 'utf8'))).toEqual({ iso });
    expect(await installerToAttach(await inspectVm('iso-vm', dir))).toBe(iso);
    // "Installed": data on the disk → boot from the disk.
    const fd = openSync(path.join(dir, 'disk.img'), 'r+');
    writeSync(fd, Buffer.alloc(2 * MiB, 1), 0, 2 * MiB, 0);
    closeSync(fd);
    expect(statSync(path.join(dir, 'disk.img')).blocks * 512).toBeGreaterThanOrEqual(2 * MiB);
    expect(await installerToAttach(await inspectVm('iso-vm', dir))).toBeNull();
    const both = await Promise.resolve(service.handlers['vm.create']({ name: 'y', os: 'linux', installerIso: iso, diskImage: iso }, null)).catch((x) => x);
    expect(both.code).toBe('INVALID_ARGUMENT');
  });
});
