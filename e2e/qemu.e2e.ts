/**
 * Real QEMU: the test guests (test/guests) boot through UEFI firmware → disk → systemd-boot → Debian cloud kernel →
 * busybox init, driven through the built `nestbox` CLI and the core `Machines` API. Each guest boots as few times as
 * possible: the amd64 guest boots once (then suspend → restore → ACPI stop), the arm64 guest boots once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Machines } from '../app/core/hypervisor/machines';
import { QemuBackend } from '../app/core/hypervisor/qemu';
import { readRuntime } from '../app/core/hypervisor/qemu/runtime';
import { withQmp } from '../app/core/hypervisor/qemu/qmp';
import { VM_FILES } from '../app/core/library/home';
import { runningPid } from '../app/core/library/locks';
import { ensureGuest, makeGuestVm, GUEST_BANNER } from '../test/guests/build';
import { NESTBOX_BIN, nestbox, processesMatching, tempHome, waitFor, type TempHome } from '../test/helpers';

let home: TempHome;
const children: ChildProcess[] = [];

/** QEMU (and virtiofsd / supervisor) processes working for this test's VMs: /proc scan, zombies excluded. */
function qemuPids(): number[] {
  return processesMatching(/qemu-system|virtiofsd/, home.root);
}

function serialLog(name: string): string {
  try {
    return readFileSync(path.join(home.root, 'vms', name, 'nestbox-serial.log'), 'utf8');
  } catch {
    return '';
  }
}

function machines(): Machines {
  return new Machines(home.root, { load: (id) => (id === 'qemu' ? new QemuBackend() : null) });
}

/** Counts bright (text) and dark (background) pixels in a region of a PNG. */
function pixelCounts(png: Buffer, region: { x: number; y: number; w: number; h: number }): { bright: number; dark: number; width: number; height: number } {
  const img = PNG.sync.read(png);
  let bright = 0;
  let dark = 0;
  for (let y = region.y; y < Math.min(img.height, region.y + region.h); y++) {
    for (let x = region.x; x < Math.min(img.width, region.x + region.w); x++) {
      const i = (y * img.width + x) * 4;
      const lum = 0.299 * img.data[i]! + 0.587 * img.data[i + 1]! + 0.114 * img.data[i + 2]!;
      if (lum > 100) bright++;
      else if (lum < 30) dark++;
    }
  }
  return { bright, dark, width: img.width, height: img.height };
}

/** Reads /proc/uptime through the serial console socket. */
async function guestUptime(m: Machines, name: string): Promise<number> {
  const con = await m.serial(name);
  let out = '';
  con.on('data', (d: Buffer) => (out += d.toString('utf8')));
  try {
    con.write('\ncat /proc/uptime\n');
    const match = await waitFor('uptime on the serial console', () => /cat \/proc\/uptime\r?\n(\d+\.\d+) \d+\.\d+/.exec(out), 30_000);
    return Number(match[1]);
  } finally {
    (con as unknown as { destroy(): void }).destroy();
  }
}

beforeAll(async () => {
  home = tempHome('nbqemu-');
  // Build (or reuse) the cached guests before any timing-sensitive step.
  await ensureGuest('amd64');
  await ensureGuest('arm64');
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const pid of qemuPids()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  const left = await waitFor('killed processes to go', () => (qemuPids().length === 0 ? [] : null), 10_000).catch(() => qemuPids());
  home.cleanup();
  expect(left).toEqual([]);
});

describe('QEMU backend, amd64 guest', () => {
  const name = 'deb-amd64';
  let fg: ChildProcess;
  let fgOut = '';
  let fgErr = '';
  let bannerUptime = 0;
  let watcher: Machines;
  const events: string[] = [];

  it('`run --no-graphics` boots to the banner on the serial console and shows the VM as running', async () => {
    await makeGuestVm(home.root, name, 'amd64');
    watcher = new Machines(home.root, { pollMs: 200, load: (id) => (id === 'qemu' ? new QemuBackend() : null) });
    watcher.watch((e) => {
      if (e.name === name && events[events.length - 1] !== e.state) events.push(e.state);
    });
    // --serial: this process's stdin/stdout is the guest's serial console.
    fg = spawn(process.execPath, [NESTBOX_BIN, 'run', name, '--no-graphics', '--serial'], { env: home.env, stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(fg);
    fg.stdout!.on('data', (d) => (fgOut += d));
    fg.stderr!.on('data', (d) => (fgErr += d));
    const line = await waitFor('the guest banner', () => serialLog(name).split('\n').find((l) => l.startsWith(GUEST_BANNER)), 180_000);
    bannerUptime = Number(/uptime=(\d+\.\d+)/.exec(line)![1]);
    expect(line).toContain('ip=10.0.2.15');
    expect(fgErr).toContain(`VM "${name}" is running`);
    expect(fgErr).toContain('nestbox-serial.log');
    // The banner reached the attached terminal, and typing there reaches the guest's shell.
    await waitFor('the banner on the attached terminal', () => fgOut.includes(GUEST_BANNER), 30_000);
    fg.stdin!.write('\necho typed-$((6*7))\n');
    await waitFor('the guest answering on the attached terminal', () => fgOut.includes('typed-42'), 30_000);

    const get = await nestbox(['get', name, '--format', 'json'], home.env);
    expect(get.code).toBe(0);
    expect(JSON.parse(get.stdout).State).toBe('running');
    const list = await nestbox(['list', '--format', 'json'], home.env);
    expect(JSON.parse(list.stdout).find((v: { Name: string }) => v.Name === name).State).toBe('running');
    expect((await machines().status(name)).state).toBe('running');
  });

  it('a screenshot shows the console text (pixels), and the picture changes when the screen is cleared', async () => {
    const m = machines();
    const region = { x: 0, y: 0, w: 640, h: 240 };
    const shot = await m.screenshot(name);
    expect(shot.subarray(1, 4).toString('latin1')).toBe('PNG');
    const before = pixelCounts(shot, region);
    expect(before.width).toBe(1024);
    expect(before.height).toBe(768);
    expect(before.bright).toBeGreaterThan(1500); // the big "NESTBOX" made of '#'
    expect(before.dark).toBeGreaterThan(50_000);
    // The thumbnail cache is the last screenshot.
    expect(readFileSync(path.join(home.root, 'vms', name, VM_FILES.thumbnail)).equals(shot)).toBe(true);

    // Type `clear` + Enter on tty1 through the keyboard: the text must disappear from the picture.
    const rt = readRuntime(path.join(home.root, 'vms', name))!;
    await withQmp(rt.qmp, async (q) => {
      for (const k of ['c', 'l', 'e', 'a', 'r', 'ret']) await q.execute('send-key', { keys: [{ type: 'qcode', data: k }] });
    });
    const after = await waitFor(
      'the cleared screen',
      async () => {
        const c = pixelCounts(await m.screenshot(name), region);
        return c.bright < before.bright / 5 ? c : null;
      },
      30_000,
    );
    expect(after.dark).toBeGreaterThan(before.dark);
  });

  it('`ip` returns the guest address and `get`/connection info name the SSH port', async () => {
    const r = await nestbox(['ip', name, '--wait', '60'], home.env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('10.0.2.15');
    const info = await machines().connectionInfo(name);
    expect(info.ssh?.host).toBe('127.0.0.1');
    expect(info.ssh?.port).toBeGreaterThan(0);
    expect(info.vnc?.kind).toBe('vnc-unix');
    expect(existsSync((info.vnc as { path: string }).path)).toBe(true);
    const get = await nestbox(['get', name, '--format', 'json'], home.env);
    expect(JSON.parse(get.stdout).SSH).toBe(`127.0.0.1:${info.ssh!.port}`);
  });

  it('a second `run` of the running VM fails with exit code 2', async () => {
    const r = await nestbox(['run', name, '--no-graphics'], home.env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`VM "${name}" is already running`);
    expect(qemuPids()).toHaveLength(1);
  });

  it('killing the nestbox process leaves the VM running; another process re-attaches', async () => {
    const pid = readRuntime(path.join(home.root, 'vms', name))!.pid;
    fg.kill('SIGKILL');
    await waitFor('the foreground nestbox to die', () => fg.exitCode !== null || fg.signalCode !== null, 10_000);
    expect(qemuPids()).toEqual([pid]);
    const m = machines();
    expect((await m.status(name)).state).toBe('running');
    expect(await m.ip(name)).toBe('10.0.2.15');
    expect(await guestUptime(m, name)).toBeGreaterThan(bannerUptime);
  });

  it('a watching Machines refreshes the library thumbnail of a running VM', async () => {
    const thumb = path.join(home.root, 'vms', name, VM_FILES.thumbnail);
    const before = statSync(thumb).mtimeMs;
    const m = new Machines(home.root, { pollMs: 100, thumbnailEveryMs: 100, load: (id) => (id === 'qemu' ? new QemuBackend() : null) });
    const off = m.watch(() => {});
    try {
      await waitFor('a refreshed thumbnail', () => statSync(thumb).mtimeMs > before, 20_000);
    } finally {
      off();
      m.close();
    }
    expect(PNG.sync.read(readFileSync(thumb)).width).toBe(1024);
  });

  it('suspend saves the state and ends QEMU; run restores it and the guest uptime continues', async () => {
    const m = machines();
    const uptimeBefore = await guestUptime(m, name);
    const s = await nestbox(['suspend', name], home.env);
    expect(s.stderr).toBe('');
    expect(s.code).toBe(0);
    expect(qemuPids()).toEqual([]);
    const vmDir = path.join(home.root, 'vms', name);
    expect(existsSync(path.join(vmDir, VM_FILES.qemuState))).toBe(true);
    expect(existsSync(path.join(vmDir, VM_FILES.vzState))).toBe(false);
    const list = await nestbox(['list', '--format', 'json'], home.env);
    expect(JSON.parse(list.stdout).find((v: { Name: string }) => v.Name === name).State).toBe('suspended');

    const r = await nestbox(['run', name, '--no-graphics', '--detach'], home.env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Resuming the suspended VM "${name}"`);
    expect(existsSync(path.join(vmDir, VM_FILES.qemuState))).toBe(false);
    const uptimeAfter = await guestUptime(m, name);
    expect(uptimeAfter).toBeGreaterThanOrEqual(uptimeBefore);
    // Restored, not rebooted: the log holds exactly one boot banner.
    expect(serialLog(name).split(GUEST_BANNER).length - 1).toBe(1);
  });

  it('`stop` shuts the guest down through ACPI and leaves no process', async () => {
    const r = await nestbox(['stop', name, '--timeout', '60'], home.env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(serialLog(name)).toContain('NESTBOX-GUEST-POWEROFF'); // the guest's power-button handler ran
    expect(qemuPids()).toEqual([]);
    expect((await machines().status(name)).state).toBe('stopped');
    const again = await nestbox(['stop', name], home.env);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('is not running');
    // A watcher in this process saw what other processes did.
    await waitFor('the watcher to see the stop', () => events[events.length - 1] === 'stopped', 5000);
    watcher.close();
    expect(events.filter((e) => e !== 'starting' && e !== 'suspending' && e !== 'stopping')).toEqual(['stopped', 'running', 'suspended', 'running', 'stopped']);
  });
});

describe('QEMU backend, failures', () => {
  it('missing firmware: a clear error naming the package, and no stray process', async () => {
    const name = 'no-firmware';
    await makeGuestVm(home.root, name, 'amd64');
    const r = await nestbox(['run', name, '--no-graphics', '--detach'], { ...home.env, NESTBOX_FIRMWARE_DIRS: path.join(home.root, 'no-such-dir') });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('UEFI firmware for amd64 guests');
    expect(r.stderr).toMatch(/Fix: .*ovmf/);
    expect(qemuPids()).toEqual([]);
    expect(existsSync(path.join(home.root, 'vms', name, 'nestbox-runtime.json'))).toBe(false);
    expect((await machines().status(name)).state).toBe('stopped');
  });

  it('corrupt disk: a clear error and no stray process', async () => {
    const name = 'corrupt-disk';
    const dir = await makeGuestVm(home.root, name, 'amd64');
    const fd = openSync(path.join(dir, 'disk.img'), 'r+');
    writeSync(fd, Buffer.alloc(1024 * 1024, 0xa5), 0, 1024 * 1024, 0); // partition table gone
    closeSync(fd);
    const r = await nestbox(['run', name, '--no-graphics', '--detach'], home.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`VM "${name}" cannot boot: its disk.img has no partition table`);
    expect(r.stderr).toContain('Fix:');
    expect(qemuPids()).toEqual([]);
  });

  it('a macOS guest on this host, and --recovery for a Linux guest, are refused plainly', async () => {
    const name = 'mac-guest';
    const dir = await makeGuestVm(home.root, name, 'amd64');
    const cfg = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...cfg, os: 'darwin', arch: 'arm64', ecid: 'AAAA', hardwareModel: 'AAAA' }, null, 2));
    const r = await nestbox(['run', name], home.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('macOS guests need a Mac with Apple silicon.');
    const rec = await nestbox(['run', 'corrupt-disk', '--recovery'], home.env);
    expect(rec.code).toBe(1);
    expect(rec.stderr).toContain('Recovery mode is a macOS guest feature');
    expect(qemuPids()).toEqual([]);
  });

  it('--vnc also serves the display on loopback TCP, with a password', async () => {
    const name = 'vnc-tcp';
    await makeGuestVm(home.root, name, 'amd64');
    const r = await nestbox(['run', name, '--no-graphics', '--vnc', '--detach'], home.env);
    expect(r.code).toBe(0);
    const m = /Display: vnc:\/\/:([^@]+)@127\.0\.0\.1:(\d+)/.exec(r.stdout);
    expect(m).not.toBeNull();
    const info = await machines().connectionInfo(name);
    expect(info.vnc).toEqual({ kind: 'vnc-tcp', host: '127.0.0.1', port: Number(m![2]), password: m![1] });
    // RFB handshake: version, then the server offers only VNC authentication (type 2).
    const offered = await new Promise<number[]>((resolve, reject) => {
      const sock = net.connect(Number(m![2]), '127.0.0.1');
      let buf = Buffer.alloc(0);
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length === 12) sock.write('RFB 003.008\n');
        if (buf.length > 12 && buf.length >= 13 + buf[12]!) {
          resolve([...buf.subarray(13, 13 + buf[12]!)]);
          sock.destroy();
        }
      });
      sock.on('error', reject);
    });
    expect(offered).toEqual([2]);
    expect((await nestbox(['stop', name, '--timeout', '0'], home.env)).code).toBe(0);
    expect(qemuPids()).toEqual([]);
  });

  it('a QEMU that dies on its own leaves the cause for the UI (state error) until the VM is stopped or started', async () => {
    const name = 'crashes';
    const dir = await makeGuestVm(home.root, name, 'amd64');
    const fg = spawn(process.execPath, [NESTBOX_BIN, 'run', name, '--no-graphics'], { env: home.env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(fg);
    let out = '';
    let err = '';
    fg.stdout!.on('data', (d) => (out += d));
    fg.stderr!.on('data', (d) => (err += d));
    await waitFor('the VM to run', () => out.includes('is running'), 60_000);
    const pid = readRuntime(dir)!.pid;
    process.kill(pid, 'SIGSEGV');
    const code = await new Promise<number | null>((r) => (fg.exitCode !== null ? r(fg.exitCode) : fg.once('exit', (c) => r(c))));
    expect(code).toBe(1); // the foreground `run` reports the failure
    expect(err).toContain(`Error: VM "${name}" failed: QEMU ended unexpectedly (killed by SIGSEGV)`);
    const st = await machines().status(name);
    expect(st.state).toBe('error');
    expect(st.error?.message).toBe('QEMU ended unexpectedly (killed by SIGSEGV)');
    expect(st.error?.fix).toContain('nestbox-qemu.log');
    const s = await nestbox(['stop', name], home.env); // stopping a failed VM acknowledges it
    expect(s.code).toBe(0);
    expect((await machines().status(name)).state).toBe('stopped');
    expect(qemuPids()).toEqual([]);
  });

  it('a QEMU that refuses to start reports its own message and leaves nothing behind', async () => {
    const name = 'bad-config';
    const dir = await makeGuestVm(home.root, name, 'amd64');
    const cfg = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    cfg.memorySize = 64 * 1024 * 1024 * 1024 * 1024; // 64 TiB: QEMU cannot allocate it
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg, null, 2));
    const r = await nestbox(['run', name, '--no-graphics', '--detach'], home.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`QEMU could not start VM "${name}"`);
    expect(qemuPids()).toEqual([]);
    expect(existsSync(path.join(dir, 'nestbox-runtime.json'))).toBe(false);
  });
});

describe('QEMU backend, supervisor mode (hosts without OFD locks, e.g. macOS)', () => {
  it('a per-VM supervisor holds Tart’s lock for exactly QEMU’s lifetime', async () => {
    const name = 'supervised';
    const dir = await makeGuestVm(home.root, name, 'amd64');
    const env = { ...home.env, NESTBOX_QEMU_SUPERVISOR: '1' };
    const r = await nestbox(['run', name, '--no-graphics', '--detach'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rt = readRuntime(dir)!;
    expect(rt.supervisorPid).toBeGreaterThan(0);
    expect(qemuPids().sort()).toEqual([rt.supervisorPid!, rt.pid].sort()); // the supervisor's command line names QEMU too
    // Tart's probe: F_GETLK names the supervisor (a classic, per-process lock).
    expect(runningPid(dir)).toBe(rt.supervisorPid);
    const again = await nestbox(['run', name, '--no-graphics'], env);
    expect(again.code).toBe(2);
    const s = await nestbox(['stop', name, '--timeout', '0'], env);
    expect(s.code).toBe(0);
    expect(runningPid(dir)).toBe(0);
    expect(qemuPids()).toEqual([]);
  });
});

describe('QEMU backend, arm64 guest', () => {
  it('boots to the banner (emulated), shares a folder (virtio-fs, Tart’s tag) both ways, refuses to suspend with it, stops through ACPI', async () => {
    const name = 'deb-arm64';
    await makeGuestVm(home.root, name, 'arm64');
    const share = path.join(home.root, 'shared');
    mkdirSync(share);
    writeFileSync(path.join(share, 'hello.txt'), 'hello-from-host\n');
    const fg = spawn(process.execPath, [NESTBOX_BIN, 'run', name, '--no-graphics', '--dir', share], { env: home.env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(fg);
    let fgOut = '';
    fg.stdout!.on('data', (d) => (fgOut += d));
    fg.stderr!.on('data', (d) => (fgOut += d));
    const line = await waitFor('the arm64 banner', () => serialLog(name).split('\n').find((l) => l.startsWith(GUEST_BANNER)), 240_000);
    expect(line).toContain('ip=10.0.2.15');

    const m = machines();
    const con = await m.serial(name);
    let out = '';
    con.on('data', (d: Buffer) => (out += d.toString('utf8')));
    con.write('\nmodprobe virtiofs && mount -t virtiofs com.apple.virtio-fs.automount /mnt && cat /mnt/hello.txt && echo guest-wrote > /mnt/from-guest.txt && sync && echo SHARE-$((40+2))\n');
    await waitFor('the shared folder round trip', () => out.includes('SHARE-42'), 60_000);
    (con as unknown as { destroy(): void }).destroy();
    expect(out).toContain('hello-from-host');
    expect(readFileSync(path.join(share, 'from-guest.txt'), 'utf8')).toBe('guest-wrote\n');

    const sus = await nestbox(['suspend', name], home.env);
    expect(sus.code).toBe(1);
    expect(sus.stderr).toContain(`Could not suspend VM "${name}"`);
    expect(sus.stderr).toContain('The VM keeps running');
    expect((await m.status(name)).state).toBe('running');

    // Ctrl-C on the foreground `run` shuts the guest down through ACPI and returns.
    expect(fgOut).toContain('Press Ctrl-C to stop the VM.');
    fg.kill('SIGINT');
    const code = await new Promise<number | null>((r) => (fg.exitCode !== null ? r(fg.exitCode) : fg.once('exit', (c) => r(c))));
    expect(code).toBe(0);
    expect(fgOut).toContain(`VM "${name}" stopped.`);
    expect(serialLog(name)).toContain('NESTBOX-GUEST-POWEROFF');
    expect(qemuPids()).toEqual([]);
  });
});
