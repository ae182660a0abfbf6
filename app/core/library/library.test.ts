import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tempHome, type TempHome } from '../../../test/helpers';
import { freeBytes, GiB, holdFcntlLock, MiB, readAt, tryMount, writeScatteredDisk, type Mounted } from '../../../test/helpers/vmfixtures';
import { NestboxError } from '../errors';
import type { TaskContext } from '../tasks/context';
import { GB, parseConfig } from './config';
import { homePaths, openHome, VM_FILES } from './home';
import { cloneFile, hostLimits, Library, openLibrary, parseDisplay } from './library';
import { getInfo, listEntry, relativeTime, renderTable } from './tart-output';
import { TempDir } from './tmp';

const homes: TempHome[] = [];
function newLib(): { lib: Library; home: TempHome } {
  const home = tempHome('nestbox-lib-');
  homes.push(home);
  return { lib: new Library(openHome({ TART_HOME: home.root })), home };
}
afterEach(() => {
  for (const h of homes.splice(0)) h.cleanup();
});

async function code(p: Promise<unknown>): Promise<NestboxError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(NestboxError);
    return e as NestboxError;
  }
  throw new Error('expected a NestboxError');
}

function recordingTask(): TaskContext & { logs: string[]; updates: number } {
  const t = {
    signal: new AbortController().signal,
    logs: [] as string[],
    updates: 0,
    progress() {
      t.updates++;
    },
    log(m: string) {
      t.logs.push(m);
    },
  };
  return t;
}

function readConfig(lib: Library, name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(lib.dirOf(name), VM_FILES.config), 'utf8'));
}

describe('create', () => {
  it('writes a Tart-readable Linux VM: config.json, sparse disk.img of N·10^9 bytes, nvram.bin', async () => {
    const { lib } = newLib();
    const vm = await lib.create({ name: 'deb', diskSizeGB: 20, arch: 'arm64' });
    expect(vm.state).toBe('stopped');
    expect(vm.broken).toBeUndefined();
    const dir = lib.dirOf('deb');
    expect(readdirSync(dir).sort()).toEqual(['config.json', 'disk.img', 'nvram.bin']);
    const disk = statSync(path.join(dir, 'disk.img'));
    expect(disk.size).toBe(20 * GB);
    expect(disk.blocks * 512).toBeLessThan(1 * MiB); // sparse
    const cfg = readConfig(lib, 'deb');
    expect(Object.keys(cfg)).toEqual(['version', 'os', 'arch', 'cpuCountMin', 'cpuCount', 'memorySizeMin', 'memorySize', 'macAddress', 'display', 'diskFormat']);
    expect(cfg).toMatchObject({ version: 1, os: 'linux', arch: 'arm64', diskFormat: 'raw', display: { width: 1024, height: 768 } });
    const host = hostLimits();
    expect(cfg.cpuCount as number).toBeLessThanOrEqual(host.cpus);
    expect(cfg.memorySize as number).toBeLessThanOrEqual(host.memory);
    expect(readdirSync(lib.home.tmp)).toEqual([]); // built in tmp/, renamed into place
  });

  it('defaults to a 50 GB disk and the host architecture', async () => {
    const { lib } = newLib();
    const vm = await lib.create({ name: 'd' });
    expect(vm.disk.apparent).toBe(50 * GB);
    expect(vm.config!.arch).toBe(process.arch === 'arm64' ? 'arm64' : 'amd64');
  });

  it('refuses bad names, an existing name, bad sizes and bad resources', async () => {
    const { lib } = newLib();
    for (const n of ['', '../x', 'a/b', '..', 'x'.repeat(200)]) expect((await code(lib.create({ name: n }))).code).toBe('INVALID_NAME');
    await lib.create({ name: 'one', diskSizeGB: 1 });
    const dup = await code(lib.create({ name: 'one' }));
    expect(dup.code).toBe('ALREADY_EXISTS');
    expect(dup.fix).toContain('nestbox delete one');
    expect((await code(lib.create({ name: 'z', diskSizeGB: 0 }))).message).toMatch(/--disk-size/);
    expect((await code(lib.create({ name: 'z', diskSizeGB: 1.5 }))).code).toBe('INVALID_ARGUMENT');
    expect((await code(lib.create({ name: 'z', cpu: 0 }))).code).toBe('INVALID_ARGUMENT');
    expect((await code(lib.create({ name: 'z', memoryMB: 64 }))).message).toMatch(/at least 128 MB/);
    expect((await code(lib.create({ name: 'z', arch: 'mips' as never }))).message).toMatch(/architecture/);
    expect(existsSync(lib.dirOf('z'))).toBe(false);
    expect(readdirSync(lib.home.tmp)).toEqual([]);
  });

  it('warns (QEMU) about more CPUs than the host has instead of refusing', async () => {
    if (process.platform === 'darwin') return; // VZ refuses; covered by config.test.ts
    const { lib } = newLib();
    const t = recordingTask();
    const vm = await lib.create({ name: 'big', cpu: hostLimits().cpus + 2, diskSizeGB: 1 }, t);
    expect(vm.config!.cpuCount).toBe(hostLimits().cpus + 2);
    expect(t.logs.join('\n')).toMatch(/more than this host has/);
  });
});

describe('set', () => {
  it('changes cpu, memory, display, MAC and grows the disk; keeps unknown keys', async () => {
    const { lib } = newLib();
    await lib.create({ name: 'vm', diskSizeGB: 2 });
    const cfgPath = path.join(lib.dirOf('vm'), 'config.json');
    writeFileSync(cfgPath, JSON.stringify({ ...readConfig(lib, 'vm'), futureKey: { keep: true }, displayRefit: false }, null, 2));
    const mac0 = readConfig(lib, 'vm').macAddress;
    const { vm, warnings } = await lib.set('vm', { cpu: 1, memoryMB: 1024, display: '1920x1080px', diskSizeGB: 3, randomMac: true });
    expect(warnings).toEqual([]);
    const cfg = readConfig(lib, 'vm');
    expect(cfg).toMatchObject({ cpuCount: 1, memorySize: 1024 * MiB, display: { width: 1920, height: 1080, unit: 'px' }, futureKey: { keep: true }, displayRefit: false });
    expect(cfg.macAddress).not.toBe(mac0);
    expect(vm.disk.apparent).toBe(3 * GB);
    expect(statSync(path.join(lib.dirOf('vm'), 'disk.img')).size).toBe(3 * GB);
  });

  it('refuses to shrink the disk, bad displays and resources below the floors; changes nothing then', async () => {
    const { lib } = newLib();
    await lib.create({ name: 'vm', diskSizeGB: 5 });
    const before = readFileSync(path.join(lib.dirOf('vm'), 'config.json'), 'utf8');
    const shrink = await code(lib.set('vm', { diskSizeGB: 4, cpu: 1 }));
    expect(shrink.code).toBe('INVALID_ARGUMENT');
    expect(shrink.message).toMatch(/can only grow/);
    for (const d of ['1920', 'x', '0x100', '100x100cm', '-5x7']) expect((await code(lib.set('vm', { display: d }))).message).toMatch(/display size/);
    expect((await code(lib.set('vm', { memoryMB: 100 }))).message).toMatch(/memory must be at least 128 MB/);
    expect((await code(lib.set('vm', { cpu: 0 }))).code).toBe('INVALID_ARGUMENT');
    expect((await code(lib.set('vm', { cpu: 100_000 }))).message).toMatch(/--cpu must be a whole number from 1 to 512/);
    expect((await code(lib.set('vm', { memoryMB: 1e14 }))).message).toMatch(/--memory must be a whole number of MB/);
    expect(readFileSync(path.join(lib.dirOf('vm'), 'config.json'), 'utf8')).toBe(before);
    expect(statSync(path.join(lib.dirOf('vm'), 'disk.img')).size).toBe(5 * GB);
  });

  it('host limits: refused for Virtualization.framework, a warning for QEMU', async () => {
    const { lib } = newLib();
    await lib.create({ name: 'vm', diskSizeGB: 1 });
    const host = hostLimits();
    const vz = await code(lib.set('vm', { cpu: host.cpus + 1 }, 'vz'));
    expect(vz.message).toMatch(/more than this host has/);
    const { warnings } = await lib.set('vm', { cpu: host.cpus + 1, memoryMB: Math.ceil(host.memory / MiB) + 1024 }, 'qemu');
    expect(warnings.join('\n')).toMatch(/CPUs is more than this host has/);
    expect(warnings.join('\n')).toMatch(/more memory than this host has/);
  });

  it("enforces a macOS guest's cpuCountMin/memorySizeMin", async () => {
    const { lib } = newLib();
    const dir = lib.dirOf('mac');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'disk.img'), '');
    writeFileSync(path.join(dir, 'nvram.bin'), '');
    writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify({ version: 1, os: 'darwin', arch: 'arm64', ecid: 'AA==', hardwareModel: 'BB==', cpuCountMin: 4, cpuCount: 4, memorySizeMin: 8 * GiB, memorySize: 8 * GiB, macAddress: '7e:1c:f2:4a:78:30', display: { width: 1024, height: 768 }, diskFormat: 'raw' }),
    );
    expect((await code(lib.set('mac', { cpu: 2 }, 'qemu'))).message).toMatch(/at least 4 CPUs/);
    expect((await code(lib.set('mac', { memoryMB: 4096 }, 'qemu'))).message).toMatch(/8192 MB/);
  });

  it('refuses while another process holds the PID lock (exit 2), works again after', async () => {
    const { lib } = newLib();
    await lib.create({ name: 'vm', diskSizeGB: 1 });
    const holder = holdFcntlLock(path.join(lib.dirOf('vm'), 'config.json'));
    try {
      await holder.ready;
      expect((await lib.get('vm')).state).toBe('running');
      expect((await lib.get('vm')).pid).toBe(holder.child.pid);
      const e = await code(lib.set('vm', { cpu: 1 }));
      expect(e.code).toBe('RUNNING');
      expect(e.exitCode).toBe(2);
      expect(e.message).toContain('VM "vm" is running');
      expect(e.fix).toBe('Stop it first: nestbox stop vm');
    } finally {
      await holder.release();
    }
    await lib.set('vm', { cpu: 1 });
    expect(readConfig(lib, 'vm').cpuCount).toBe(1);
  });
});

describe('clone', () => {
  it('of a 4 GiB disk holding 64 MiB allocates about 64 MiB, copies the data, gets a fresh MAC', async () => {
    const { lib } = newLib();
    await lib.create({ name: 'src', diskSizeGB: 1 });
    const srcDisk = path.join(lib.dirOf('src'), 'disk.img');
    const offsets = writeScatteredDisk(srcDisk, 4 * GiB, 64 * MiB, 16);
    writeFileSync(path.join(lib.dirOf('src'), 'nvram.bin'), Buffer.alloc(64 * 1024, 7));
    const cfg0 = readConfig(lib, 'src');
    writeFileSync(path.join(lib.dirOf('src'), 'config.json'), JSON.stringify({ ...cfg0, futureKey: 42 }));
    const t = recordingTask();
    const { vm, method } = await lib.clone('src', 'dst', t);
    expect(method).toBe('sparse-copy'); // ext4/tmpfs here: no reflink (the XFS test below covers reflink)
    expect(vm.disk.apparent).toBe(4 * GiB);
    expect(vm.disk.allocated).toBeGreaterThanOrEqual(64 * MiB);
    expect(vm.disk.allocated).toBeLessThan(64 * MiB + 4 * MiB);
    const dstDisk = path.join(lib.dirOf('dst'), 'disk.img');
    for (const off of [offsets[0]!, offsets[7]!, offsets[15]!]) expect(readAt(dstDisk, off, 4 * MiB).equals(readAt(srcDisk, off, 4 * MiB))).toBe(true);
    expect(readAt(dstDisk, 3 * GiB + 900 * MiB, MiB).equals(Buffer.alloc(MiB))).toBe(true);
    expect(readFileSync(path.join(lib.dirOf('dst'), 'nvram.bin')).equals(Buffer.alloc(64 * 1024, 7))).toBe(true);
    const cfg1 = readConfig(lib, 'dst');
    expect(cfg1.macAddress).not.toBe(cfg0.macAddress);
    expect({ ...cfg1, macAddress: 0 }).toEqual({ ...cfg0, futureKey: 42, macAddress: 0 });
    expect(t.updates).toBeGreaterThan(0);
    expect(readdirSync(lib.home.tmp)).toEqual([]);
  });

  it('keeps the MAC and the snapshot of a suspended VM (Tart rule)', async () => {
    const { lib } = newLib();
    await lib.create({ name: 'src', diskSizeGB: 1 });
    writeFileSync(path.join(lib.dirOf('src'), VM_FILES.vzState), 'snapshot');
    expect((await lib.get('src')).state).toBe('suspended');
    await lib.clone('src', 'dst');
    expect(readConfig(lib, 'dst').macAddress).toBe(readConfig(lib, 'src').macAddress);
    expect(readFileSync(path.join(lib.dirOf('dst'), VM_FILES.vzState), 'utf8')).toBe('snapshot');
  });

  it('refuses a missing source, an existing target, a bad target name and a broken source', async () => {
    const { lib } = newLib();
    await lib.create({ name: 'a', diskSizeGB: 1 });
    await lib.create({ name: 'b', diskSizeGB: 1 });
    const nf = await code(lib.clone('nope', 'x'));
    expect(nf.code).toBe('NOT_FOUND');
    expect(nf.exitCode).toBe(2);
    expect((await code(lib.clone('a', 'b'))).code).toBe('ALREADY_EXISTS');
    expect((await code(lib.clone('a', 'x/y'))).code).toBe('INVALID_NAME');
    writeFileSync(path.join(lib.dirOf('b'), 'config.json'), '{"version": 1, "os": "li');
    expect((await code(lib.clone('b', 'c'))).code).toBe('BROKEN_VM');
    expect(readdirSync(lib.home.vms).sort()).toEqual(['a', 'b']);
    expect(readdirSync(lib.home.tmp)).toEqual([]);
  });

  it('cloneFromDirectory and importDirectory move outside-built VMs in, with a fresh MAC on collision', async () => {
    const { lib } = newLib();
    await lib.create({ name: 'a', diskSizeGB: 1 });
    const mac = readConfig(lib, 'a').macAddress as string;
    const outside = path.join(lib.home.cache, 'OCIs', 'example.com', 'ns', 'sha256:abc');
    mkdirSync(outside, { recursive: true });
    for (const f of ['config.json', 'nvram.bin']) writeFileSync(path.join(outside, f), readFileSync(path.join(lib.dirOf('a'), f)));
    writeScatteredDisk(path.join(outside, 'disk.img'), 64 * MiB, 2 * MiB, 2);
    const c = await lib.cloneFromDirectory(outside, 'from-cache');
    expect(c.vm.state).toBe('stopped');
    expect(readConfig(lib, 'from-cache').macAddress).not.toBe(mac);
    expect(existsSync(outside)).toBe(true); // the cache entry stays

    const built = await TempDir.create(lib.home);
    for (const f of ['config.json', 'nvram.bin']) writeFileSync(path.join(built.path, f), readFileSync(path.join(lib.dirOf('a'), f)));
    writeFileSync(path.join(built.path, 'disk.img'), '');
    const imported = await lib.importDirectory(built.path, 'imported');
    built.release();
    expect(imported.state).toBe('stopped');
    expect(readConfig(lib, 'imported').macAddress).not.toBe(mac);
    expect(existsSync(built.path)).toBe(false);
    expect((await code(lib.cloneFromDirectory(path.join(lib.home.root, 'nothing'), 'x'))).code).toBe('NOT_FOUND');
    // No other VM has the image's MAC: the clone keeps it (Tart changes it only on a collision).
    const unique = '7e:00:00:00:00:01';
    writeFileSync(path.join(outside, 'config.json'), JSON.stringify({ ...readConfig(lib, 'a'), macAddress: unique }));
    await lib.cloneFromDirectory(outside, 'unique-mac');
    expect(readConfig(lib, 'unique-mac').macAddress).toBe(unique);
  });

  it('cancelling mid-copy stops the copy, removes the temp dir and leaves no VM', async () => {
    const { lib } = newLib();
    await lib.create({ name: 'src', diskSizeGB: 1 });
    writeScatteredDisk(path.join(lib.dirOf('src'), 'disk.img'), 8 * GiB, 1 * GiB, 32);
    const ac = new AbortController();
    const t = { ...recordingTask(), signal: ac.signal };
    const p = lib.clone('src', 'dst', t);
    // Abort once the copy is under way (a temp VM dir holding a disk.img), polled with a deadline.
    const deadline = Date.now() + 30_000;
    let started = false;
    while (!started && Date.now() < deadline) {
      started = readdirSync(lib.home.tmp).some((d) => existsSync(path.join(lib.home.tmp, d, 'disk.img')));
      if (!started) await new Promise((r) => setTimeout(r, 2));
    }
    ac.abort();
    const e = await code(p);
    expect(started).toBe(true);
    expect(e.code).toBe('CANCELLED');
    expect(readdirSync(lib.home.vms)).toEqual(['src']);
    expect(readdirSync(lib.home.tmp)).toEqual([]);
  });

  it('falls back to the sparse copy when the filesystem cannot reflink, and reports it', async () => {
    const { lib } = newLib();
    const src = path.join(lib.home.root, 'f');
    writeScatteredDisk(src, 64 * MiB, 4 * MiB, 2);
    const state: { reflink?: boolean } = {};
    const m = await cloneFile(src, path.join(lib.home.root, 'g'), state);
    // On ext4/tmpfs FICLONE fails with EOPNOTSUPP/ENOTTY; on XFS/btrfs it succeeds.
    expect(['reflink', 'sparse-copy']).toContain(m);
    expect(state.reflink).toBe(m === 'reflink');
    expect(readFileSync(path.join(lib.home.root, 'g')).equals(readFileSync(src))).toBe(true);
  });
});

describe('on special filesystems (loop-mounted XFS, tmpfs; needs root)', () => {
  let xfs: Mounted | null = null;
  let small: Mounted | null = null;
  beforeAll(() => {
    xfs = tryMount('xfs', 320);
    small = tryMount('tmpfs', 96);
  });
  afterAll(() => {
    xfs?.unmount();
    small?.unmount();
  });

  it('clones by reflink where the filesystem shares blocks (XFS reflink=1): instant, no extra space', async (t) => {
    if (!xfs) return t.skip('cannot loop-mount XFS here (needs root, xfsprogs and loop devices)');
    const lib = new Library(openHome({ TART_HOME: path.join(xfs.dir, 'home') }));
    await lib.create({ name: 'src', diskSizeGB: 1 });
    const srcDisk = path.join(lib.dirOf('src'), 'disk.img');
    const offsets = writeScatteredDisk(srcDisk, 4 * GiB, 64 * MiB, 16);
    const free0 = freeBytes(xfs.dir);
    const { method, vm } = await lib.clone('src', 'dst');
    expect(method).toBe('reflink');
    expect(free0 - freeBytes(xfs.dir)).toBeLessThan(8 * MiB); // blocks are shared, not copied
    expect(vm.disk.apparent).toBe(4 * GiB);
    const dstDisk = path.join(lib.dirOf('dst'), 'disk.img');
    expect(readAt(dstDisk, offsets[3]!, MiB).equals(readAt(srcDisk, offsets[3]!, MiB))).toBe(true);
  });

  it('importDirectory copies a VM built on another filesystem, then removes the original', async (t) => {
    if (!small) return t.skip('cannot mount tmpfs here (needs root)');
    const { lib } = newLib(); // home on the regular filesystem; the built dir on tmpfs
    const built = path.join(small.dir, 'built-elsewhere');
    mkdirSync(built);
    await lib.create({ name: 'a', diskSizeGB: 1 });
    writeFileSync(path.join(built, 'config.json'), readFileSync(path.join(lib.dirOf('a'), 'config.json')));
    writeFileSync(path.join(built, 'nvram.bin'), 'nv');
    writeScatteredDisk(path.join(built, 'disk.img'), 256 * MiB, 8 * MiB, 2);
    const vm = await lib.importDirectory(built, 'imported');
    expect(vm.state).toBe('stopped');
    expect(vm.disk.apparent).toBe(256 * MiB);
    expect(vm.disk.allocated).toBeLessThan(9 * MiB);
    expect(existsSync(built)).toBe(false);
    expect(readdirSync(lib.home.tmp)).toEqual([]);
  });

  it('a full disk during clone gives NO_SPACE and leaves no temp dir and no half VM', async (t) => {
    if (!small) return t.skip('cannot mount tmpfs here (needs root)');
    const lib = new Library(openHome({ TART_HOME: path.join(small.dir, 'home') }));
    await lib.create({ name: 'src', diskSizeGB: 1 });
    writeScatteredDisk(path.join(lib.dirOf('src'), 'disk.img'), 2 * GiB, 60 * MiB, 6);
    const e = await code(lib.clone('src', 'dst'));
    expect(e.code).toBe('NO_SPACE');
    expect(e.message).toMatch(/Not enough disk space to clone VM "src" to "dst"/);
    expect(e.fix).toMatch(/prune/);
    expect(readdirSync(lib.home.vms)).toEqual(['src']);
    expect(readdirSync(lib.home.tmp)).toEqual([]);
  });
});

describe('rename, delete, broken VMs', () => {
  it('renames; refuses an existing target and a missing source', async () => {
    const { lib } = newLib();
    await lib.create({ name: 'a', diskSizeGB: 1 });
    await lib.create({ name: 'b', diskSizeGB: 1 });
    expect((await code(lib.rename('a', 'b'))).code).toBe('ALREADY_EXISTS');
    expect((await code(lib.rename('zz', 'c'))).code).toBe('NOT_FOUND');
    expect((await code(lib.rename('a', '../c'))).code).toBe('INVALID_NAME');
    await lib.rename('a', 'c');
    expect(readdirSync(lib.home.vms).sort()).toEqual(['b', 'c']);
  });

  it('delete refuses a running VM with exit code 2 and deletes it once stopped', async () => {
    const { lib } = newLib();
    await lib.create({ name: 'vm', diskSizeGB: 1 });
    const holder = holdFcntlLock(path.join(lib.dirOf('vm'), 'config.json'));
    try {
      await holder.ready;
      const e = await code(lib.delete('vm'));
      expect(e.code).toBe('RUNNING');
      expect(e.exitCode).toBe(2);
      expect(existsSync(lib.dirOf('vm'))).toBe(true);
    } finally {
      await holder.release();
    }
    await lib.delete('vm');
    expect(readdirSync(lib.home.vms)).toEqual([]);
    expect(readdirSync(lib.home.tmp)).toEqual([]);
    expect((await code(lib.delete('vm'))).exitCode).toBe(2);
  });

  it('lists malformed, partial and incomplete VMs as broken with the reason; the rest still works', async () => {
    const { lib } = newLib();
    await lib.create({ name: 'good', diskSizeGB: 1 });
    for (const n of ['badjson', 'partial', 'nodisk', 'noconfig']) await lib.create({ name: n, diskSizeGB: 1 });
    writeFileSync(path.join(lib.dirOf('badjson'), 'config.json'), '{"version": 1, "os": "li');
    writeFileSync(path.join(lib.dirOf('partial'), 'config.json'), JSON.stringify({ version: 1, os: 'linux' }));
    await import('node:fs/promises').then((f) => f.rm(path.join(lib.dirOf('nodisk'), 'disk.img')));
    await import('node:fs/promises').then((f) => f.rm(path.join(lib.dirOf('noconfig'), 'config.json')));
    writeFileSync(path.join(lib.home.vms, 'stray-file'), 'not a VM');
    const vms = await lib.list();
    expect(vms.map((v) => v.name)).toEqual(['badjson', 'good', 'noconfig', 'nodisk', 'partial']);
    const by = Object.fromEntries(vms.map((v) => [v.name, v]));
    expect(by.good!.state).toBe('stopped');
    expect(by.badjson!.state).toBe('broken');
    expect(by.badjson!.broken!.reason).toMatch(/config.json is not valid JSON/);
    expect(by.partial!.broken!.reason).toMatch(/"cpuCount" is missing/);
    expect(by.partial!.config).toBeUndefined();
    expect(by.nodisk!.broken!.reason).toMatch(/disk.img is missing/);
    expect(by.nodisk!.config).toBeDefined();
    expect(by.noconfig!.broken!.reason).toMatch(/config.json is missing/);
    expect((await code(lib.set('partial', { cpu: 1 }))).code).toBe('BROKEN_VM');
    await lib.delete('badjson');
    await lib.delete('noconfig');
    expect((await lib.list()).map((v) => v.name)).toEqual(['good', 'nodisk', 'partial']);
  });
});

describe('prune and access dates', () => {
  it('touch bumps atime and sets mtime to the previous atime (Tart quirk)', async () => {
    const { lib } = newLib();
    await lib.create({ name: 'vm', diskSizeGB: 1 });
    const old = new Date('2024-01-02T03:04:05Z');
    utimesSync(lib.dirOf('vm'), old, old);
    await lib.touch('vm');
    const st = statSync(lib.dirOf('vm'));
    expect(Date.now() - st.atime.getTime()).toBeLessThan(60_000);
    expect(st.mtime.toISOString()).toBe(old.toISOString());
    expect((await lib.get('vm')).accessedAt.getTime()).toBe(st.atime.getTime());
  });

  it('--older-than and --space-budget delete least recently used VMs, never running or broken ones', async () => {
    const { lib } = newLib();
    const day = 86_400_000;
    const ages: Record<string, number> = { fresh: 0, week: 7, month: 30, year: 365, runningOld: 400, brokenOld: 500 };
    for (const [n, age] of Object.entries(ages)) {
      await lib.create({ name: n, diskSizeGB: 1 });
      writeScatteredDisk(path.join(lib.dirOf(n), 'disk.img'), 64 * MiB, 4 * MiB, 1);
      const t = new Date(Date.now() - age * day);
      utimesSync(lib.dirOf(n), t, t);
    }
    writeFileSync(path.join(lib.dirOf('brokenOld'), 'config.json'), 'nope');
    const holder = holdFcntlLock(path.join(lib.dirOf('runningOld'), 'config.json'));
    try {
      await holder.ready;
      expect(await lib.prune({ olderThanDays: 100 })).toEqual(['year']);
      // 4 MiB each; a budget of 9 MiB keeps the two most recently used stopped VMs.
      expect(await lib.prune({ spaceBudgetGB: 9 / 1024 })).toEqual(['month']);
      expect((await lib.list()).map((v) => v.name)).toEqual(['brokenOld', 'fresh', 'runningOld', 'week']);
      expect((await code(lib.prune({}))).code).toBe('INVALID_ARGUMENT');
    } finally {
      await holder.release();
    }
  });
});

describe('locks held by this process', () => {
  it('probing a VM this process runs reports our pid and keeps the POSIX lock (closing another fd would drop it)', async () => {
    const { lib } = newLib();
    await lib.create({ name: 'vm', diskSizeGB: 1 });
    const cfg = path.join(lib.dirOf('vm'), 'config.json');
    const { PidLock } = await import('./locks');
    const lock = PidLock.open(cfg);
    try {
      expect(lock.tryLock(false)).toBe(true); // a POSIX (non-OFD) lock, as on macOS
      const vm = await lib.get('vm');
      expect(vm.state).toBe('running');
      expect(vm.pid).toBe(process.pid);
      expect((await code(lib.delete('vm'))).code).toBe('RUNNING');
      // Another process still sees the lock: nothing above closed a descriptor of config.json.
      const { run } = await import('../../../test/helpers');
      const probe = await run('python3', ['-c', `import fcntl,sys\nf=open(sys.argv[1],'r+')\ntry:\n  fcntl.lockf(f,fcntl.LOCK_EX|fcntl.LOCK_NB); print('free')\nexcept OSError: print('held')`, cfg]);
      expect(probe.stdout.trim()).toBe('held');
    } finally {
      lock.close();
    }
    expect((await lib.get('vm')).state).toBe('stopped');
  });
});

describe('garbage collection and openLibrary', () => {
  it('collects unlocked tmp/ entries but never a live one', async () => {
    const home = tempHome('nestbox-lib-');
    homes.push(home);
    const h = homePaths(home.root);
    mkdirSync(path.join(h.tmp, 'stale-uuid'), { recursive: true });
    writeFileSync(path.join(h.tmp, 'stale-uuid', 'disk.img'), 'x');
    const live = await TempDir.create(openHome({ TART_HOME: home.root }));
    await openLibrary({ env: { TART_HOME: home.root } });
    expect(readdirSync(h.tmp)).toEqual([path.basename(live.path)]);
    await openLibrary({ env: { TART_HOME: home.root }, collectGarbage: false });
    await live.dispose();
  });
});

describe("Tart's output shapes", () => {
  it('list/get JSON use exactly Tart field names', async () => {
    const { lib } = newLib();
    await lib.create({ name: 'vm', diskSizeGB: 3 });
    const vm = await lib.get('vm');
    expect(Object.keys(listEntry(vm))).toEqual(['Source', 'Name', 'Disk', 'Size', 'Accessed', 'Running', 'State']);
    expect(listEntry(vm)).toMatchObject({ Source: 'local', Name: 'vm', Disk: 3, Size: 0, Running: false, State: 'stopped' });
    expect(Object.keys(getInfo(vm))).toEqual(['OS', 'CPU', 'Memory', 'Disk', 'DiskFormat', 'Size', 'Display', 'Running', 'State']);
    expect(getInfo(vm)).toMatchObject({ OS: 'linux', Disk: 3, DiskFormat: 'raw', Size: '0.000', Display: '1024x768' });
    expect(parseConfig(readFileSync(path.join(vm.dir, 'config.json'), 'utf8')).memorySize / MiB).toBe(getInfo(vm).Memory);
  });

  it('renders a plain table without Running, and relative dates', () => {
    const t = renderTable([
      { Source: 'local', Name: 'a', Running: true, State: 'running' },
      { Source: 'OCI', Name: 'longer-name', Running: false, State: 'stopped' },
    ]);
    expect(t).toBe('Source Name        State\nlocal  a           running\nOCI    longer-name stopped');
    expect(renderTable([])).toBe('');
    const now = new Date('2026-01-01T12:00:00Z');
    expect(relativeTime(new Date(now.getTime() - 3 * 60_000), now)).toBe('3 minutes ago');
    expect(relativeTime(new Date(now.getTime() - 1000), now)).toBe('1 second ago');
    expect(relativeTime(new Date(now.getTime() - 2 * 86_400_000), now)).toBe('2 days ago');
    expect(relativeTime(new Date(now.getTime() - 400 * 86_400_000), now)).toBe('1 year ago');
  });

  it('parses displays like Tart', () => {
    expect(parseDisplay('1920x1080')).toEqual({ width: 1920, height: 1080 });
    expect(parseDisplay('1440x900pt')).toEqual({ width: 1440, height: 900, unit: 'pt' });
  });
});
