/**
 * The QEMU backend.
 *
 * Process model (Linux): Nestbox opens the VM's config.json, takes an open-file-description (OFD) write lock on
 * it, and spawns QEMU detached (own session) with that descriptor as fd 3, then closes its own copy. The lock
 * therefore lives exactly as long as QEMU (and any helper QEMU spawns, such as the `cat` writing a suspend file):
 * Tart's F_GETLK probe sees the VM as running, a crashed or closed Nestbox does not take the VM down, and the
 * lock disappears by itself when QEMU exits. Everything needed to re-attach (pid, QMP/VNC/serial sockets, SSH
 * port) is in `nestbox-runtime.json`, so any process can control the VM. QMP connections are per operation
 * (QEMU serves one client at a time on a socket).
 *
 * Other platforms (no OFD locks, e.g. macOS), or with NESTBOX_QEMU_SUPERVISOR=1: a classic fcntl lock cannot be
 * inherited, so a small detached Node supervisor per VM (./supervisor.ts) takes it and runs QEMU as its child.
 */
import { spawn } from 'node:child_process';
import { closeSync, createReadStream, createWriteStream, existsSync, openSync, promises as fsp, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import net from 'node:net';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { NestboxError } from '../../errors';
import { writeFileAtomic } from '../../fsutil';
import { VM_FILES } from '../../library/home';
import { PidLock, runningPid } from '../../library/locks';
import { native } from '../../native';
import type { Arch, VMConfig } from '../../library/config';
import type { Availability, ConnectionInfo, DisplayEndpoint, HypervisorBackend, StartOptions, StopOptions, VmError, VmHandle, VmStatus } from '../backend';
import { hostRefusal } from '../backend';
import { buildQemuArgs, shareTags, type QemuLaunch } from './cmdline';
import { chooseAccel, defaultFindEnv, findFirmware, findQemu, findVirtiofsd, vdagentSuspendable, virtiofsdArgs, type FindEnv } from './find';
import { guestIpFromPcapFile } from './ip';
import { withQmp } from './qmp';
import {
  QEMU_LOG,
  SERIAL_LOG,
  STATE_META,
  ensureRuntimeDir,
  lastLines,
  patchRuntime,
  readRuntime,
  readSuspendMeta,
  removeRuntime,
  runtimeBase,
  writeRuntime,
  type QemuRuntime,
  type SuspendMeta,
} from './runtime';

const POLL_MS = 50;

/** Why QEMU would not save the VM, and what the user can do about it; the VM keeps running either way. */
export function suspendRefused(name: string, reason: string): NestboxError {
  if (/vdagent/i.test(reason)) {
    return new NestboxError('HYPERVISOR', `Could not suspend VM "${name}": its clipboard agent (spice-vdagent) is connected, and this QEMU cannot save a VM while it is (${reason}).`, {
      fix: 'The VM keeps running. Stop the agent in the guest (`sudo systemctl stop spice-vdagentd`) and suspend again, update QEMU to a release whose vdagent supports migration, or stop the VM instead.',
      details: { reason },
    });
  }
  return new NestboxError('HYPERVISOR', `Could not suspend VM "${name}": ${reason}`, {
    fix: 'The VM keeps running. Shared folders and some devices prevent saving the state; stop it instead.',
    details: { reason },
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === 'EPERM';
  }
}

/** Is `pid` the QEMU of this VM (guards against pid reuse before signalling)? */
function isOurQemu(pid: number, vmDir: string): boolean {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmd.includes('qemu-system') && cmd.includes(vmDir);
  } catch {
    return process.platform !== 'linux' && pidAlive(pid);
  }
}

/** Where the cause of an unexpected end is kept (until the next start, stop or acknowledge). */
export const ERROR_FILE = 'nestbox-error.json';

/** A failure QEMU reported in its output (null for warnings only). */
export function failureInLog(log: string): string | null {
  let text: string;
  try {
    text = readFileSync(log, 'utf8');
  } catch {
    return null;
  }
  if (text.length === 0) return null;
  const bad = text.split('\n').find((l) => /internal error|emulation failure|fatal|assertion|aborted|segmentation fault|guest-panicked|core dumped/i.test(l));
  return bad ? bad.trim() : null;
}

function recordFailure(dir: string, message: string, qemuLog: string): void {
  try {
    writeFileSync(path.join(dir, ERROR_FILE), JSON.stringify({ code: 'HYPERVISOR', message, fix: `See ${qemuLog} for QEMU's output, then start the VM again.`, at: new Date().toISOString() }, null, 2) + '\n');
  } catch {}
}

function readFailure(dir: string): VmError | null {
  try {
    const e = JSON.parse(readFileSync(path.join(dir, ERROR_FILE), 'utf8')) as VmError;
    return typeof e.message === 'string' ? { code: e.code ?? 'HYPERVISOR', message: e.message, ...(e.fix ? { fix: e.fix } : {}) } : null;
  } catch {
    return null;
  }
}

function notRunning(name: string): NestboxError {
  return new NestboxError('NOT_RUNNING', `VM "${name}" is not running.`, { fix: `Start it with \`nestbox run ${name}\`.`, details: { name } });
}

/** Waits until nobody holds the VM's lock (QEMU and its helpers are gone). True if it happened in time. */
export async function waitUnlocked(vmDir: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (runningPid(vmDir) === 0) return true;
    if (Date.now() >= deadline) return false;
    await sleep(POLL_MS);
  }
}

/** Sanity checks on the root disk so a broken one fails with a reason instead of a firmware shell. */
export function checkDisk(vm: VmHandle, hasExtraBootMedia: boolean): string {
  const disk = path.join(vm.dir, VM_FILES.disk);
  let size: number;
  try {
    size = statSync(disk).size;
  } catch {
    throw new NestboxError('BROKEN_VM', `VM "${vm.name}" has no disk (${disk} is missing).`, {
      fix: 'Restore disk.img from a backup, or delete the VM and clone it again.',
      details: { path: disk },
    });
  }
  if (vm.config.diskFormat === 'asif') {
    throw new NestboxError('UNSUPPORTED', `VM "${vm.name}" uses an ASIF disk, which only Virtualization.framework on macOS 26 can run.`, {
      fix: 'Run it on a Mac, or convert the disk to raw.',
    });
  }
  const head = Buffer.alloc(1024);
  let n = 0;
  if (size > 0) {
    const fd = openSync(disk, 'r');
    try {
      n = readSync(fd, head, 0, head.length, 0);
    } finally {
      closeSync(fd);
    }
  }
  if (n >= 4 && head.subarray(0, 4).equals(Buffer.from([0x51, 0x46, 0x49, 0xfb]))) {
    throw new NestboxError('BROKEN_VM', `VM "${vm.name}"'s disk.img is a qcow2 image, but Tart VMs use raw disks.`, {
      fix: 'Convert it: `qemu-img convert -O raw disk.img disk.raw && mv disk.raw disk.img`.',
      details: { path: disk },
    });
  }
  const mbr = n >= 512 && head[510] === 0x55 && head[511] === 0xaa;
  const gpt = n >= 520 && head.subarray(512, 520).toString('latin1') === 'EFI PART';
  if (!mbr && !gpt && !hasExtraBootMedia) {
    throw new NestboxError('BROKEN_VM', `VM "${vm.name}" cannot boot: its disk.img ${size === 0 ? 'is empty' : 'has no partition table (it is blank or corrupt)'}.`, {
      fix: size === 0 ? 'Restore disk.img from a backup, or delete the VM and clone it again.' : `Install an OS from an installer image: \`nestbox run ${vm.name} --disk installer.iso\`, or restore disk.img from a backup.`,
      details: { path: disk, size },
    });
  }
  return disk;
}

export class QemuBackend implements HypervisorBackend {
  readonly id = 'qemu' as const;

  constructor(private readonly fe: FindEnv = defaultFindEnv()) {}

  async available(): Promise<Availability> {
    const problems: { reason: string; fix?: string }[] = [];
    for (const arch of ['amd64', 'arm64'] as Arch[]) {
      try {
        findQemu(arch, this.fe);
        return { ok: true };
      } catch (e) {
        problems.push({ reason: (e as Error).message, fix: (e as NestboxError).fix });
      }
    }
    return { ok: false, reason: problems[0]!.reason, fix: problems[0]!.fix };
  }

  canRun(config: VMConfig): Availability {
    const r = hostRefusal(config);
    if (r) return { ok: false, reason: r.message, fix: r.fix };
    if (config.os === 'darwin') return { ok: false, reason: 'macOS guests need Virtualization.framework (a Mac with Apple silicon)', fix: 'Run this VM on a Mac.' };
    return { ok: true };
  }

  async start(vm: VmHandle, o: StartOptions): Promise<void> {
    const { dir, config, name } = vm;
    if (config.os === 'darwin') throw hostRefusal({ ...config, os: 'darwin' }, { platform: 'linux', arch: 'amd64' })!;
    if (o.recovery) {
      throw new NestboxError('UNSUPPORTED', 'Recovery mode is a macOS guest feature; QEMU runs Linux guests, which have none.', {
        fix: `Run without --recovery, or boot an installer/rescue image with \`nestbox run ${name} --disk rescue.iso\`.`,
      });
    }
    const supervisorJs = path.join(__dirname, 'supervisor.js');
    const useSupervisor = process.platform !== 'linux' || !!this.fe.env.NESTBOX_QEMU_SUPERVISOR;
    if (useSupervisor && !existsSync(supervisorJs)) {
      throw new NestboxError('INTERNAL', `The QEMU supervisor (${supervisorJs}) is missing from this build.`, { fix: 'Rebuild Nestbox (`node scripts/build.mjs`).' });
    }
    if (runningPid(dir) !== 0) {
      throw new NestboxError('RUNNING', `VM "${name}" is already running.`, { fix: `Stop it first with \`nestbox stop ${name}\`, or use the running VM.`, details: { name } });
    }
    // A runtime file without a lock is left over from a VM that ended; clear it (and a previous failure's cause).
    removeRuntime(dir);
    await fsp.rm(path.join(dir, ERROR_FILE), { force: true });

    const statePath = path.join(dir, VM_FILES.qemuState);
    const meta: SuspendMeta | null = existsSync(statePath) ? readSuspendMeta(dir) : null;
    const restoring = meta !== null;
    const opts: StartOptions = restoring ? { ...meta.options, serial: o.serial, graphics: o.graphics } : o;
    for (const d of opts.extraDisks ?? []) {
      if (!existsSync(d.path)) throw new NestboxError('NOT_FOUND', `Disk image ${d.path} does not exist.`, { fix: 'Check the --disk path.', details: { path: d.path } });
    }
    for (const s of opts.sharedDirs ?? []) {
      if (!existsSync(s.path)) throw new NestboxError('NOT_FOUND', `Shared folder ${s.path} does not exist.`, { fix: 'Check the --dir path.', details: { path: s.path } });
    }
    const arch = config.arch;
    const qemu = findQemu(arch, this.fe);
    const firmware = findFirmware(arch, this.fe);
    const disk = checkDisk(vm, (opts.extraDisks ?? []).length > 0);
    const accel = meta?.accel ?? (await chooseAccel(arch, qemu, firmware, this.fe, path.join(runtimeBase(), 'kvm-probe.json')));

    // The VM's own UEFI variable store, created from the firmware's template on first run.
    const varsFile = path.join(dir, VM_FILES.qemuVars);
    if (!existsSync(varsFile)) {
      const tmp = path.join(dir, `.${VM_FILES.qemuVars}.${process.pid}.tmp`);
      await fsp.rm(tmp, { force: true });
      await native().sparseCopy(firmware.vars, tmp);
      await fsp.rename(tmp, varsFile);
    }

    const rtDir = ensureRuntimeDir(dir);
    const sock = (n: string) => path.join(rtDir, n);
    for (const f of ['qmp.sock', 'vnc.sock', 'serial.sock', 'net.pcap']) await fsp.rm(sock(f), { force: true });
    const sshPort = await freePort();
    const vncTcp = opts.vnc ? { port: await freePort(), password: randomBytes(6).toString('base64url').slice(0, 8) } : undefined;
    const launch: QemuLaunch = {
      name,
      arch,
      accel,
      firmware,
      varsFile,
      disk,
      cpuCount: meta?.cpuCount ?? config.cpuCount,
      memoryBytes: meta?.memoryBytes ?? config.memorySize,
      macAddress: meta?.macAddress ?? config.macAddress,
      display: { width: config.display.width, height: config.display.height },
      qmpSocket: sock('qmp.sock'),
      vncSocket: sock('vnc.sock'),
      serialSocket: sock('serial.sock'),
      serialLog: path.join(dir, SERIAL_LOG),
      serialAppend: restoring,
      sshPort,
      pcap: sock('net.pcap'),
      extraDisks: opts.extraDisks ?? [],
      sharedDirs: opts.sharedDirs ?? [],
      vncTcpDisplay: vncTcp ? vncTcp.port - 5900 : undefined,
      incoming: restoring,
      clipboard: meta ? meta.clipboard === true : (opts.clipboard ?? (await vdagentSuspendable(qemu, path.join(runtimeBase(), 'vdagent-probe.json')))),
    };
    if (vncTcp && vncTcp.port < 5900) launch.vncTcpDisplay = undefined;

    // Shared folders: one virtiofsd per folder when one is usable here (guests mount virtio-fs, like on Tart),
    // else virtio-9p served by QEMU. virtiofsd exits by itself when QEMU disconnects.
    const helpers: number[] = [];
    const killHelpers = () => {
      for (const h of helpers) {
        try {
          process.kill(h, 'SIGKILL');
        } catch {}
      }
    };
    const shares = shareTags(opts.sharedDirs ?? []);
    const vfsd = shares.length > 0 ? findVirtiofsd(shares.some((s) => s.dir.readOnly), this.fe) : null;
    if (vfsd) {
      launch.virtiofsSockets = [];
      for (let i = 0; i < shares.length; i++) {
        const socket = sock(`vfs${i}.sock`);
        await fsp.rm(socket, { force: true });
        const logFd = openSync(sock(`virtiofsd${i}.log`), 'w');
        const h = spawn(vfsd.path, virtiofsdArgs(vfsd, socket, shares[i]!.dir.path, shares[i]!.dir.readOnly), { detached: true, stdio: ['ignore', logFd, logFd] });
        closeSync(logFd);
        h.unref();
        if (h.pid) helpers.push(h.pid);
        launch.virtiofsSockets.push(socket);
        const until = Date.now() + 5000;
        while (!existsSync(socket)) {
          if (Date.now() > until || h.exitCode !== null) {
            killHelpers();
            throw new NestboxError('HYPERVISOR', `Could not share ${shares[i]!.dir.path}: virtiofsd did not start.${lastLines(sock(`virtiofsd${i}.log`)) ? '\n' + lastLines(sock(`virtiofsd${i}.log`)) : ''}`, {
              fix: 'Check that the folder exists and is readable, or run without --dir.',
            });
          }
          await sleep(20);
        }
      }
    }
    const args = buildQemuArgs(launch);

    const alreadyRunning = () => {
      killHelpers();
      return new NestboxError('RUNNING', `VM "${name}" is already running.`, { fix: `Stop it first with \`nestbox stop ${name}\`.`, details: { name } });
    };
    const qemuLog = path.join(dir, QEMU_LOG);
    const logFd = openSync(qemuLog, 'w');
    let child;
    let pid = 0;
    const proc: { exited: { code: number | null; signal: NodeJS.Signals | null } | null; error: Error | null } = { exited: null, error: null };
    if (!useSupervisor) {
      // Take the lock (OFD, so QEMU inherits it) and hand it to QEMU as fd 3.
      const lock = PidLock.open(path.join(dir, VM_FILES.config));
      if (!lock.tryLock(true)) {
        lock.close();
        closeSync(logFd);
        throw alreadyRunning();
      }
      try {
        child = spawn(qemu, args, { cwd: dir, detached: true, stdio: ['ignore', logFd, logFd, lock.descriptor] });
      } finally {
        closeSync(logFd);
        lock.close();
      }
      child.on('exit', (code, signal) => (proc.exited = { code, signal }));
      child.on('error', (e) => (proc.error = e));
      child.unref();
      pid = child.pid ?? 0;
    } else {
      // The supervisor takes the lock and runs QEMU; it reports QEMU's pid on fd 3.
      try {
        child = spawn(process.execPath, [supervisorJs, path.join(dir, VM_FILES.config), qemu, ...args], {
          cwd: dir,
          detached: true,
          stdio: ['ignore', logFd, logFd, 'pipe'],
          env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
        });
      } finally {
        closeSync(logFd);
      }
      child.on('exit', (code, signal) => (proc.exited = { code, signal }));
      child.on('error', (e) => (proc.error = e));
      const pipe = child.stdio[3] as net.Socket;
      const line = await new Promise<string>((resolve) => {
        let buf = '';
        pipe.on('data', (d: Buffer) => (buf += d.toString('utf8')));
        pipe.on('close', () => resolve(buf.trim()));
        pipe.on('error', () => resolve(buf.trim()));
      });
      pipe.destroy();
      child.unref();
      if (line === 'ERR RUNNING') throw alreadyRunning();
      const m = /^PID (\d+)$/.exec(line);
      if (!m) {
        killHelpers();
        throw new NestboxError('HYPERVISOR', `QEMU could not start VM "${name}": ${line.replace(/^ERR /, '') || 'the supervisor exited'}.${lastLines(qemuLog) ? '\n' + lastLines(qemuLog) : ''}`, {
          details: { qemu, log: qemuLog },
        });
      }
      pid = Number(m[1]);
    }

    const rt: QemuRuntime = {
      version: 1,
      backend: 'qemu',
      pid,
      startedAt: new Date().toISOString(),
      state: 'starting',
      arch,
      accel,
      macAddress: launch.macAddress,
      runtimeDir: rtDir,
      qmp: launch.qmpSocket,
      vnc: launch.vncSocket,
      ...(vncTcp && launch.vncTcpDisplay !== undefined ? { vncTcp } : {}),
      serialSocket: launch.serialSocket,
      serialLog: launch.serialLog,
      qemuLog,
      pcap: launch.pcap,
      sshPort,
      options: { ...opts, serial: false },
      ...(helpers.length ? { helpers } : {}),
      ...(useSupervisor && child.pid ? { supervisorPid: child.pid } : {}),
      ...(meta?.ip ? { ip: meta.ip } : {}),
      ...(restoring ? { restored: true } : {}),
      ...(launch.clipboard ? { clipboard: true } : {}),
    };
    if (pid) await writeRuntime(dir, rt);

    const fail = async (why: string): Promise<never> => {
      if (pid && isOurQemu(pid, dir)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
      await waitUnlocked(dir, 5000);
      killHelpers();
      const log = lastLines(qemuLog);
      removeRuntime(dir, rt);
      throw new NestboxError('HYPERVISOR', `QEMU could not start VM "${name}": ${why}${log ? `\n${log}` : ''}`, {
        fix: 'Check the message above; the full QEMU output is in ' + qemuLog + '.',
        details: { qemu, log: qemuLog },
      });
    };

    // Wait for QMP (≈0.1 s) or an early exit.
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (proc.error) return fail(proc.error.message);
      if (proc.exited) return fail(`QEMU exited (${proc.exited.code ?? proc.exited.signal}).`);
      if (existsSync(launch.qmpSocket)) {
        try {
          await withQmp(launch.qmpSocket, async (q) => {
            if (vncTcp && launch.vncTcpDisplay !== undefined) {
              await q.execute('set_password', { protocol: 'vnc', password: vncTcp.password, display: 'vnc1' });
            }
            if (restoring) {
              // QEMU listens; this process streams the saved state into it.
              const migSock = path.join(rtDir, 'migrate.sock');
              await fsp.rm(migSock, { force: true });
              await q.execute('migrate-incoming', { uri: `unix:${migSock}` });
              const conn = await new Promise<net.Socket>((resolve, reject) => {
                const c = net.connect(migSock);
                c.once('connect', () => resolve(c));
                c.once('error', reject);
              });
              pipeline(createReadStream(statePath), conn).catch(() => {});
              // QEMU exits if loading fails; once loaded the machine is paused (it was stopped to be saved).
              for (;;) {
                const m = await q.execute<{ status?: string; 'error-desc'?: string }>('query-migrate');
                if (m.status === 'completed') break;
                if (m.status === 'failed' || m.status === 'cancelled') throw new Error(m['error-desc'] ?? `restore ${m.status}`);
                if (proc.exited) throw new Error('QEMU exited while restoring');
                await sleep(POLL_MS);
              }
              const s = await q.execute<{ status: string }>('query-status');
              if (s.status !== 'running' && !meta.paused) await q.execute('cont');
            }
          }, 10_000);
          break;
        } catch (e) {
          if (proc.exited || restoring) return fail((e as Error).message);
        }
      }
      if (Date.now() > deadline) return fail('its control socket did not appear within 30 s.');
      await sleep(20);
    }
    if (restoring) {
      await fsp.rm(statePath, { force: true });
      await fsp.rm(path.join(dir, STATE_META), { force: true });
    }
    await patchRuntime(dir, { state: restoring && meta.paused ? 'paused' : 'running' });
    // While this process lives (a foreground `nestbox run`, the app), a QEMU that dies on its own — a crash or
    // a kill that Nestbox did not ask for — leaves its cause for the UI instead of looking like a clean stop.
    let exitedResolve!: () => void;
    this.exits.set(dir, new Promise<void>((r) => (exitedResolve = r)));
    child.once('exit', (code, signal) => {
      try {
        this.onUnexpectedExit(dir, pid, code, signal, qemuLog);
      } finally {
        this.exits.delete(dir);
        exitedResolve();
      }
    });
  }

  /** Exit promises of the QEMUs this process started (resolve after a crash's cause is recorded). */
  private readonly exits = new Map<string, Promise<void>>();

  /** Resolves when the VM's process has ended (events when this process started it, else a lock poll). */
  async waitForExit(vm: VmHandle): Promise<void> {
    const mine = this.exits.get(vm.dir);
    // Poll the lock (this also keeps the event loop alive: the QEMU child is unref'd).
    while (runningPid(vm.dir) !== 0) await sleep(100);
    if (mine) {
      // Our child: let its exit handler record a crash's cause first (it fires right after the process ends).
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([mine, new Promise<void>((r) => (timer = setTimeout(r, 2000)))]);
      clearTimeout(timer);
    }
  }

  private onUnexpectedExit(dir: string, pid: number, code: number | null, signal: NodeJS.Signals | null, qemuLog: string): void {
    {
      const now = readRuntime(dir);
      // Gone or being stopped/suspended: someone else ended it on purpose.
      if (!now || now.pid !== pid || now.state === 'stopping' || now.state === 'suspending') return;
      if (code === 0 || signal === 'SIGTERM' || signal === 'SIGINT' || signal === 'SIGHUP') return;
      recordFailure(dir, `QEMU ended unexpectedly (${signal ? `killed by ${signal}` : `exit code ${code}`})`, qemuLog);
    }
  }

  async stop(vm: VmHandle, o: StopOptions = {}): Promise<void> {
    const { dir, name } = vm;
    const holder = runningPid(dir);
    const rt = readRuntime(dir);
    if (holder === 0) {
      if (rt) removeRuntime(dir, rt);
      if (readFailure(dir)) {
        // Stopping a failed VM acknowledges the failure.
        await fsp.rm(path.join(dir, ERROR_FILE), { force: true });
        return;
      }
      if (existsSync(path.join(dir, VM_FILES.qemuState))) {
        // Like `tart stop` on a suspended VM: discard the saved state.
        await fsp.rm(path.join(dir, VM_FILES.qemuState), { force: true });
        await fsp.rm(path.join(dir, STATE_META), { force: true });
        return;
      }
      throw notRunning(name);
    }
    if (!rt) {
      // Held by something else (e.g. Tart): ask it like `tart stop` does.
      if (holder > 0) {
        process.kill(holder, 'SIGINT');
        if (await waitUnlocked(dir, o.timeoutMs ?? 30_000)) return;
        process.kill(holder, 'SIGKILL');
        await waitUnlocked(dir, 5000);
        return;
      }
      throw new NestboxError('HYPERVISOR', `VM "${name}" is held by another program that Nestbox cannot stop.`, { details: { name } });
    }
    await patchRuntime(dir, { state: 'stopping' });
    const timeoutMs = o.timeoutMs ?? 30_000;
    if (!o.force && timeoutMs > 0) {
      try {
        await withQmp(rt.qmp, async (q) => {
          const s = await q.execute<{ status: string }>('query-status');
          if (s.status === 'paused') await q.execute('cont');
          await q.execute('system_powerdown');
        }, 5000);
      } catch {}
      if (await waitUnlocked(dir, timeoutMs)) return void removeRuntime(dir, rt);
    }
    try {
      await withQmp(rt.qmp, (q) => q.execute('quit'), 2000);
    } catch {}
    if (await waitUnlocked(dir, 3000)) return void removeRuntime(dir, rt);
    if (isOurQemu(rt.pid, dir)) {
      try {
        process.kill(rt.pid, 'SIGKILL');
      } catch {}
    }
    if (await waitUnlocked(dir, 5000)) return void removeRuntime(dir, rt);
    throw new NestboxError('HYPERVISOR', `VM "${name}" did not stop (QEMU pid ${rt.pid} keeps running).`, { fix: `Kill it: \`kill -9 ${rt.pid}\`.` });
  }

  private async runningRuntime(vm: VmHandle): Promise<QemuRuntime> {
    if (runningPid(vm.dir) === 0) throw notRunning(vm.name);
    const rt = readRuntime(vm.dir);
    if (!rt) throw new NestboxError('HYPERVISOR', `VM "${vm.name}" is running, but not under Nestbox's QEMU backend.`, { details: { name: vm.name } });
    return rt;
  }

  async pause(vm: VmHandle): Promise<void> {
    const rt = await this.runningRuntime(vm);
    await withQmp(rt.qmp, (q) => q.execute('stop'));
    await patchRuntime(vm.dir, { state: 'paused' });
  }

  async resume(vm: VmHandle): Promise<void> {
    const rt = await this.runningRuntime(vm);
    await withQmp(rt.qmp, (q) => q.execute('cont'));
    await patchRuntime(vm.dir, { state: 'running' });
  }

  async suspend(vm: VmHandle): Promise<void> {
    const { dir, name } = vm;
    const rt = await this.runningRuntime(vm);
    const statePath = path.join(dir, VM_FILES.qemuState);
    const tmp = path.join(dir, `.${VM_FILES.qemuState}.tmp`);
    await fsp.rm(tmp, { force: true });
    await patchRuntime(dir, { state: 'suspending' });
    let wasRunning = true;
    // QEMU streams the machine state to a unix socket this process serves and writes to the file, so the file is
    // complete exactly when the stream ends (no helper process that QEMU might kill early).
    const migSock = path.join(rt.runtimeDir, 'migrate.sock');
    await fsp.rm(migSock, { force: true });
    const server = net.createServer();
    let received: Promise<void> | null = null;
    const connected = new Promise<void>((resolve) => {
      server.once('connection', (c) => {
        server.close();
        received = pipeline(c, createWriteStream(tmp, { mode: 0o600 }));
        received.catch(() => {});
        resolve();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(migSock, resolve);
    });
    try {
      await withQmp(rt.qmp, async (q) => {
        const s = await q.execute<{ status: string }>('query-status');
        wasRunning = s.status === 'running';
        await q.execute('stop');
        await q.execute('migrate-set-parameters', { 'max-bandwidth': 64 * 1024 * 1024 * 1024 });
        await q.execute('migrate', { uri: `unix:${migSock}` });
        for (;;) {
          const m = await q.execute<{ status?: string; 'error-desc'?: string }>('query-migrate');
          if (m.status === 'completed') break;
          if (m.status === 'failed' || m.status === 'cancelled') throw new Error(m['error-desc'] ?? `migration ${m.status}`);
          await sleep(POLL_MS);
        }
      });
      await connected;
      await received;
      const fh = await fsp.open(tmp, 'r+');
      await fh.sync();
      await fh.close();
    } catch (e) {
      server.close();
      await fsp.rm(tmp, { force: true });
      await fsp.rm(migSock, { force: true });
      try {
        await withQmp(rt.qmp, (q) => q.execute(wasRunning ? 'cont' : 'stop'), 3000);
      } catch {}
      await patchRuntime(dir, { state: wasRunning ? 'running' : 'paused' });
      throw suspendRefused(name, (e as Error).message);
    }
    // The machine is saved (and synced) and stays paused from here on. Publish the state file before QEMU quits, so
    // other processes see running → suspended with no "stopped" in between (a restore needs the lock QEMU holds).
    const meta: SuspendMeta = {
      version: 1,
      arch: rt.arch,
      accel: rt.accel,
      cpuCount: vm.config.cpuCount,
      memoryBytes: vm.config.memorySize,
      macAddress: rt.macAddress,
      options: rt.options,
      ...(rt.ip ? { ip: rt.ip } : {}),
      ...(wasRunning ? {} : { paused: true }),
      ...(rt.clipboard ? { clipboard: true } : {}),
      savedAt: new Date().toISOString(),
    };
    await writeFileAtomic(path.join(dir, STATE_META), JSON.stringify(meta, null, 2) + '\n');
    await fsp.rename(tmp, statePath);
    try {
      await withQmp(rt.qmp, (q) => q.execute('quit'), 5000);
    } catch {}
    if (!(await waitUnlocked(dir, 30_000)) && isOurQemu(rt.pid, dir)) {
      process.kill(rt.pid, 'SIGKILL');
      await waitUnlocked(dir, 5000);
    }
    removeRuntime(dir, rt);
  }

  async status(vm: VmHandle): Promise<VmStatus> {
    const { dir } = vm;
    const holder = runningPid(dir);
    const rt = readRuntime(dir);
    if (holder !== 0) {
      const pidInfo = rt?.pid ? { pid: rt.pid } : holder > 0 ? { pid: holder } : {};
      // e.g. "KVM internal error": QEMU keeps the process but the machine is dead.
      const why = rt ? failureInLog(rt.qemuLog) : null;
      if (why) return { state: 'error', backend: 'qemu', error: { code: 'HYPERVISOR', message: `The VM failed: ${why}`, fix: `Stop it with \`nestbox stop ${vm.name}\`; the full QEMU output is in ${rt!.qemuLog}.` }, ...pidInfo };
      return { state: rt?.state ?? 'starting', backend: 'qemu', ...pidInfo };
    }
    if (rt?.state === 'suspending' && existsSync(path.join(dir, `.${VM_FILES.qemuState}.tmp`))) {
      // QEMU has ended and the suspending process is finishing the state file: not stopped.
      const st = statSync(path.join(dir, `.${VM_FILES.qemuState}.tmp`));
      if (Date.now() - st.mtimeMs < 120_000) return { state: 'suspending', backend: 'qemu' };
    }
    if (rt) {
      // QEMU ended without Nestbox stopping it: a failure QEMU reported in its log is kept as the cause.
      if (rt.state !== 'stopping' && rt.state !== 'suspending') {
        const why = failureInLog(rt.qemuLog);
        if (why) recordFailure(dir, `QEMU ended unexpectedly: ${why}`, rt.qemuLog);
      }
      removeRuntime(dir, rt);
    }
    const failure = readFailure(dir);
    if (failure) return { state: 'error', backend: 'qemu', error: failure };
    if (existsSync(path.join(dir, VM_FILES.qemuState))) return { state: 'suspended', backend: 'qemu' };
    return { state: 'stopped', backend: 'qemu' };
  }

  async screenshot(vm: VmHandle): Promise<Buffer> {
    const rt = await this.runningRuntime(vm);
    const file = path.join(rt.runtimeDir, `shot-${process.pid}-${randomBytes(4).toString('hex')}.png`);
    try {
      await withQmp(rt.qmp, (q) => q.execute('screendump', { filename: file, format: 'png' }));
      const png = await fsp.readFile(file);
      await writeFileAtomic(path.join(vm.dir, VM_FILES.thumbnail), png).catch(() => {});
      return png;
    } finally {
      await fsp.rm(file, { force: true });
    }
  }

  async display(vm: VmHandle): Promise<DisplayEndpoint> {
    const rt = await this.runningRuntime(vm);
    return { kind: 'vnc-unix', path: rt.vnc };
  }

  async serial(vm: VmHandle): Promise<NodeJS.ReadWriteStream> {
    const rt = await this.runningRuntime(vm);
    return new Promise((resolve, reject) => {
      const s = net.connect(rt.serialSocket);
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
  }

  async ip(vm: VmHandle, o: { waitMs?: number } = {}): Promise<string | null> {
    const deadline = Date.now() + (o.waitMs ?? 0);
    for (;;) {
      const rt = await this.runningRuntime(vm);
      if (rt.ip) return rt.ip;
      const ip = guestIpFromPcapFile(rt.pcap, rt.macAddress);
      if (ip) {
        await patchRuntime(vm.dir, { ip });
        // The capture has served its purpose; stop it so traffic does not grow the file.
        try {
          await withQmp(rt.qmp, (q) => q.execute('object-del', { id: 'dump0' }), 2000);
          await fsp.rm(rt.pcap, { force: true });
        } catch {}
        return ip;
      }
      if (Date.now() >= deadline) return null;
      await sleep(250);
    }
  }

  /** Forgets a kept failure cause (the UI's "dismiss"). */
  async acknowledge(vm: VmHandle): Promise<void> {
    await fsp.rm(path.join(vm.dir, ERROR_FILE), { force: true });
  }

  async connectionInfo(vm: VmHandle): Promise<ConnectionInfo> {
    const rt = readRuntime(vm.dir);
    if (!rt || runningPid(vm.dir) === 0) return { serialLog: path.join(vm.dir, SERIAL_LOG) };
    return {
      ssh: { host: '127.0.0.1', port: rt.sshPort },
      vnc: rt.vncTcp ? { kind: 'vnc-tcp', host: '127.0.0.1', port: rt.vncTcp.port, password: rt.vncTcp.password } : { kind: 'vnc-unix', path: rt.vnc },
      serialLog: rt.serialLog,
      serialSocket: rt.serialSocket,
      clipboard: rt.clipboard === true,
    };
  }
}

export function createBackend(): HypervisorBackend {
  return new QemuBackend();
}

