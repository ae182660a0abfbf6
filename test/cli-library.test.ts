/**
 * The library commands through the BUILT CLI (bin/nestbox.js → dist/), on real temp homes with real locks.
 * Build first: `node scripts/build.mjs node`.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NESTBOX_BIN, nestbox, tempHome, type TempHome } from './helpers';
import { GiB, holdFcntlLock, MiB, writeScatteredDisk } from './helpers/vmfixtures';

const homes: TempHome[] = [];
function home(): TempHome {
  const h = tempHome('nestbox-cli-');
  homes.push(h);
  return h;
}
afterEach(() => {
  for (const h of homes.splice(0)) h.cleanup();
});

async function ok(args: string[], env: NodeJS.ProcessEnv) {
  const r = await nestbox(args, env);
  if (r.code !== 0) throw new Error(`nestbox ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r;
}

describe('nestbox create → set → clone → rename → delete', () => {
  it('works end to end with Tart-shaped output', async () => {
    const h = home();
    await ok(['create', 'deb', '--linux', '--disk-size', '4'], h.env);
    const cfgFile = path.join(h.root, 'vms', 'deb', 'config.json');
    expect(JSON.parse(readFileSync(cfgFile, 'utf8'))).toMatchObject({ version: 1, os: 'linux', diskFormat: 'raw' });

    await ok(['set', 'deb', '--cpu', '1', '--memory', '1024', '--display', '1280x800', '--disk-size', '5'], h.env);
    const get = JSON.parse((await ok(['get', 'deb', '--format', 'json'], h.env)).stdout);
    expect(Object.keys(get)).toEqual(['OS', 'CPU', 'Memory', 'Disk', 'DiskFormat', 'Size', 'Display', 'Running', 'State']);
    expect(get).toEqual({ OS: 'linux', CPU: 1, Memory: 1024, Disk: 5, DiskFormat: 'raw', Size: '0.000', Display: '1280x800', Running: false, State: 'stopped' });
    const text = (await ok(['get', 'deb'], h.env)).stdout.split('\n');
    expect(text[0]!.split(/\s+/)).toEqual(['OS', 'CPU', 'Memory', 'Disk', 'DiskFormat', 'Size', 'Display', 'State']);
    expect(text[1]!.split(/\s+/)).toEqual(['linux', '1', '1024', '5', 'raw', '0.000', '1280x800', 'stopped']);

    writeScatteredDisk(path.join(h.root, 'vms', 'deb', 'disk.img'), 5_000_000_000, 16 * MiB, 4);
    await ok(['clone', 'deb', 'copy'], h.env);
    const copyDisk = statSync(path.join(h.root, 'vms', 'copy', 'disk.img'));
    expect(copyDisk.size).toBe(5_000_000_000);
    expect(copyDisk.blocks * 512).toBeLessThan(20 * MiB);
    expect(JSON.parse(readFileSync(path.join(h.root, 'vms', 'copy', 'config.json'), 'utf8')).macAddress).not.toBe(JSON.parse(readFileSync(cfgFile, 'utf8')).macAddress);

    await ok(['rename', 'copy', 'renamed'], h.env);
    const list = JSON.parse((await ok(['list', '--format', 'json'], h.env)).stdout);
    expect(list.map((e: { Name: string }) => e.Name)).toEqual(['deb', 'renamed']);
    for (const e of list) expect(Object.keys(e)).toEqual(['Source', 'Name', 'Disk', 'Size', 'Accessed', 'Running', 'State']);
    expect(list[1]).toMatchObject({ Source: 'local', Name: 'renamed', Disk: 5, Size: 0, Running: false, State: 'stopped' });
    expect(list[1].Accessed).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Math.abs(Date.parse(list[1].Accessed) - Date.now())).toBeLessThan(120_000);

    const table = (await ok(['list'], h.env)).stdout.trimEnd().split('\n');
    expect(table[0]!.split(/\s+/)).toEqual(['Source', 'Name', 'Disk', 'Size', 'Accessed', 'State']);
    expect(table[2]).toMatch(/^local\s+renamed\s+5\s+0\s+\d+ (second|minute)s? ago\s+stopped$/);
    expect((await ok(['list', '-q'], h.env)).stdout).toBe('deb\nrenamed\n');
    expect((await ok(['list', '--source', 'oci'], h.env)).stdout).toBe('\n');

    await ok(['delete', 'deb', 'renamed'], h.env);
    expect(readdirSync(path.join(h.root, 'vms'))).toEqual([]);
    expect((await ok(['list', '--format', 'json'], h.env)).stdout.trim()).toBe('[]');
  });
});

describe('errors and exit codes', () => {
  it('delete and set of a VM another process runs exit 2 with the fix', async () => {
    const h = home();
    await ok(['create', 'vm', '--linux', '--disk-size', '1'], h.env);
    const holder = holdFcntlLock(path.join(h.root, 'vms', 'vm', 'config.json'));
    try {
      await holder.ready;
      const del = await nestbox(['delete', 'vm'], h.env);
      expect(del.code).toBe(2);
      expect(del.stderr).toContain('VM "vm" is running');
      expect(del.stderr).toContain('Fix: Stop it first: nestbox stop vm');
      const set = await nestbox(['set', 'vm', '--cpu', '1'], h.env);
      expect(set.code).toBe(2);
      expect(set.stderr).toContain('Stop it first: nestbox stop vm');
      const list = JSON.parse((await ok(['list', '--format', 'json'], h.env)).stdout);
      expect(list[0]).toMatchObject({ Name: 'vm', Running: true, State: 'running' });
      expect(existsSync(path.join(h.root, 'vms', 'vm'))).toBe(true);
    } finally {
      await holder.release();
    }
    await ok(['delete', 'vm'], h.env);
  });

  it('bad input gets a clear message, a fix and Tart exit codes', async () => {
    const h = home();
    await ok(['create', 'vm', '--linux', '--disk-size', '2'], h.env);
    const cases: [string[], number, RegExp][] = [
      [['get', 'nope'], 2, /VM "nope" does not exist/],
      [['delete', 'nope'], 2, /VM "nope" does not exist/],
      [['clone', 'nope', 'x'], 2, /VM "nope" does not exist/],
      [['create', 'a/b', '--linux'], 1, /not a valid VM name: it contains a path separator/],
      [['create', 'x'.repeat(200), '--linux'], 1, /longer than 128 bytes/],
      [['create', 'vm', '--linux'], 1, /already exists/],
      [['create', 'y'], 1, /--linux or --from-ipsw/],
      [['create', 'y', '--linux', '--disk-size', 'ten'], 1, /--disk-size must be a whole number/],
      [['set', 'vm', '--cpu', 'many'], 1, /--cpu must be a whole number/],
      [['set', 'vm', '--memory', '16'], 1, /memory must be at least 128 MB/],
      [['set', 'vm', '--disk-size', '1'], 1, /disks can only grow/],
      [['set', 'vm', '--display', 'big'], 1, /not a valid display size/],
      [['set', 'vm'], 1, /Nothing to change/],
      [['list', '--source', 'cloud'], 1, /not a valid value for --source/],
      [['get', 'vm', '--format', 'xml'], 1, /not a valid value for --format/],
      [['rename', 'vm', '../up'], 1, /not a valid VM name/],
      [['prune', '--entries', 'vms'], 1, /at least one pruning criterion/],
      [['prune', '--entries', 'vms', '--older-than', 'soon'], 1, /--older-than must be a number/],
      [['run', 'vm', '--clipboard', '--no-clipboard'], 1, /--clipboard and --no-clipboard contradict each other/],
    ];
    if (process.platform !== 'darwin') cases.push([['create', 'mac', '--from-ipsw', 'latest'], 1, /macOS guests need a Mac with Apple silicon/]);
    for (const [args, exit, msg] of cases) {
      const r = await nestbox(args, h.env);
      expect({ args, code: r.code }).toEqual({ args, code: exit });
      expect(r.stderr).toMatch(msg);
      expect(r.stderr).toMatch(/^Fix: /m);
    }
    expect(readdirSync(path.join(h.root, 'vms'))).toEqual(['vm']);
  });

  it('a broken VM is listed with its state; the rest of the library still works', async () => {
    const h = home();
    await ok(['create', 'good', '--linux', '--disk-size', '1'], h.env);
    await ok(['create', 'bad', '--linux', '--disk-size', '1'], h.env);
    writeFileSync(path.join(h.root, 'vms', 'bad', 'config.json'), '{"version": 1, "cpuCou');
    const listed = await ok(['list', '--format', 'json'], h.env);
    expect(listed.stderr).toMatch(/Warning: VM "bad" is broken: config.json is not valid JSON/);
    const list = JSON.parse(listed.stdout);
    expect(list.map((e: { Name: string; State: string }) => [e.Name, e.State])).toEqual([
      ['bad', 'broken'],
      ['good', 'stopped'],
    ]);
    const get = await ok(['get', 'bad'], h.env);
    expect(get.stderr).toMatch(/VM "bad" is broken: config.json is not valid JSON/);
    const clone = await nestbox(['clone', 'bad', 'x'], h.env);
    expect(clone.code).toBe(1);
    expect(clone.stderr).toMatch(/is broken/);
    await ok(['clone', 'good', 'good2'], h.env);
    await ok(['delete', 'bad'], h.env);
  });

  it('prune --entries vms removes VMs not accessed for N days', async () => {
    const h = home();
    await ok(['create', 'old', '--linux', '--disk-size', '1'], h.env);
    await ok(['create', 'new', '--linux', '--disk-size', '1'], h.env);
    const t = new Date(Date.now() - 40 * 86_400_000);
    utimesSync(path.join(h.root, 'vms', 'old'), t, t);
    await ok(['prune', '--entries', 'vms', '--older-than', '30'], h.env);
    expect(readdirSync(path.join(h.root, 'vms'))).toEqual(['new']);
  });
});

describe('interrupted clone', () => {
  it('kill -9 mid-copy leaves no entry in vms/, and the next command collects the temp dir', async () => {
    const h = home();
    await ok(['create', 'src', '--linux', '--disk-size', '8'], h.env);
    writeScatteredDisk(path.join(h.root, 'vms', 'src', 'disk.img'), 8 * GiB, 1 * GiB, 32);
    const tmp = path.join(h.root, 'tmp');
    const child = spawn(process.execPath, [NESTBOX_BIN, 'clone', 'src', 'dst'], { env: h.env, stdio: 'ignore' });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
    // Wait (with a deadline) until the copy has started: a temp VM dir with a disk.img in it.
    const deadline = Date.now() + 30_000;
    let started = false;
    while (!started && Date.now() < deadline && child.exitCode === null) {
      started = readdirSync(tmp).some((d) => existsSync(path.join(tmp, d, 'disk.img')));
      if (!started) await new Promise((r) => setTimeout(r, 2));
    }
    child.kill('SIGKILL');
    const { signal } = await exited;
    expect(started).toBe(true);
    expect(signal).toBe('SIGKILL');
    expect(readdirSync(path.join(h.root, 'vms'))).toEqual(['src']);
    expect(readdirSync(tmp)).toHaveLength(1); // the stale temp dir…
    await ok(['list'], h.env);
    expect(readdirSync(tmp)).toEqual([]); // …collected by the next command (Tart's GC rule)
  });
});

describe("Tart's global lock", () => {
  it('clone waits while another process (e.g. Tart) holds the flock on $TART_HOME, then completes', async () => {
    const h = home();
    await ok(['create', 'src', '--linux', '--disk-size', '1'], h.env);
    const holder = spawn('python3', ['-c', `import fcntl,os,sys\nfd=os.open(sys.argv[1],os.O_RDONLY)\nfcntl.flock(fd,fcntl.LOCK_EX)\nprint('locked',flush=True)\nsys.stdin.read()`, h.root], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout!.once('data', () => resolve());
        holder.once('exit', (c) => reject(new Error(`lock holder exited ${c}`)));
      });
      const child = spawn(process.execPath, [NESTBOX_BIN, 'clone', 'src', 'dst'], { env: h.env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += d));
      const exited = new Promise<number | null>((r) => child.on('close', (c) => r(c)));
      const deadline = Date.now() + 30_000;
      while (!stderr.includes('waiting for lock...') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 10));
      expect(stderr).toContain('waiting for lock...');
      expect(existsSync(path.join(h.root, 'vms', 'dst'))).toBe(false);
      holder.stdin!.end(); // release
      expect(await exited).toBe(0);
      expect(readdirSync(path.join(h.root, 'vms')).sort()).toEqual(['dst', 'src']);
    } finally {
      if (holder.exitCode === null) holder.kill();
    }
  });
});

describe('cancelled clone', () => {
  it('Ctrl-C (SIGINT) mid-copy cancels cleanly: exit 1, no entry in vms/, no temp dir left', async () => {
    const h = home();
    await ok(['create', 'src', '--linux', '--disk-size', '8'], h.env);
    writeScatteredDisk(path.join(h.root, 'vms', 'src', 'disk.img'), 8 * GiB, 1 * GiB, 32);
    const tmp = path.join(h.root, 'tmp');
    const child = spawn(process.execPath, [NESTBOX_BIN, 'clone', 'src', 'dst'], { env: h.env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    const deadline = Date.now() + 30_000;
    let started = false;
    while (!started && Date.now() < deadline && child.exitCode === null) {
      started = readdirSync(tmp).some((d) => existsSync(path.join(tmp, d, 'disk.img')));
      if (!started) await new Promise((r) => setTimeout(r, 2));
    }
    child.kill('SIGINT');
    expect(await exited).toBe(1);
    expect(started).toBe(true);
    expect(stderr).toMatch(/cancelled/);
    expect(readdirSync(path.join(h.root, 'vms'))).toEqual(['src']);
    expect(readdirSync(tmp)).toEqual([]);
  });
});

describe('OCI cache entries in the library commands', () => {
  const digest = 'sha256:' + 'ab'.repeat(32);
  function fakeCache(h: TempHome, accessed: Date) {
    const repo = path.join(h.root, 'cache', 'OCIs', '127.0.0.1%3A5000', 'team', 'debian');
    const dir = path.join(repo, digest);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'config.json'), '{}');
    writeFileSync(path.join(dir, 'nvram.bin'), '');
    writeScatteredDisk(path.join(dir, 'disk.img'), 2_000_000_000, 4 * MiB, 1);
    symlinkSync(dir, path.join(repo, 'latest'));
    utimesSync(dir, accessed, accessed);
    return dir;
  }

  it('list --source oci shows tags and digests with Tart fields; delete and prune address the cache', async () => {
    const h = home();
    await ok(['create', 'local-vm', '--linux', '--disk-size', '1'], h.env);
    fakeCache(h, new Date(Date.now() - 10 * 86_400_000));
    const oci = JSON.parse((await ok(['list', '--source', 'oci', '--format', 'json'], h.env)).stdout);
    expect(oci.map((e: { Name: string }) => e.Name)).toEqual([`127.0.0.1:5000/team/debian:latest`, `127.0.0.1:5000/team/debian@${digest}`]);
    expect(oci[0]).toMatchObject({ Source: 'OCI', Disk: 2, Size: 0, Running: false, State: 'stopped' });
    const all = (await ok(['list', '-q'], h.env)).stdout.trim().split('\n');
    expect(all).toEqual(['local-vm', '127.0.0.1:5000/team/debian:latest', `127.0.0.1:5000/team/debian@${digest}`]);

    await ok(['delete', '127.0.0.1:5000/team/debian:latest'], h.env);
    expect((await ok(['list', '--source', 'oci', '-q'], h.env)).stdout).toBe(''); // GC removed the untagged digest

    fakeCache(h, new Date(Date.now() - 10 * 86_400_000));
    await ok(['prune', '--older-than', '30'], h.env); // default --entries caches
    expect((await ok(['list', '--source', 'oci', '-q'], h.env)).stdout.trim().split('\n')).toHaveLength(2);
    await ok(['prune', '--entries', 'caches', '--older-than', '5'], h.env);
    expect((await ok(['list', '--source', 'oci', '-q'], h.env)).stdout).toBe('');
    expect((await ok(['list', '-q'], h.env)).stdout).toBe('local-vm\n');
  });
});
