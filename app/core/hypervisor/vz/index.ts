/**
 * The Virtualization.framework backend (macOS on Apple silicon). Each running VM lives in its own runner process
 * (./runner.ts) holding Tart's PIDLock on config.json; this object only spawns runners and talks to them (control
 * socket, or Tart's signals — which also work for VMs started by `tart run`). On other hosts it reports itself
 * unavailable with the reason "macOS guests need a Mac with Apple silicon".
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, promises as fsp, readFileSync } from 'node:fs';
import path from 'node:path';
import { NestboxError } from '../../errors';
import type { VMConfig } from '../../library/config';
import { VM_FILES } from '../../library/home';
import { runningPid } from '../../library/locks';
import {
  hostInfo,
  type Availability,
  type ConnectionInfo,
  type DisplayEndpoint,
  type HostInfo,
  type HypervisorBackend,
  type StartOptions,
  type StopOptions,
  type VmHandle,
  type VmStatus,
} from '../backend';
import { NEEDS_APPLE_SILICON, loadVzAddon, vzAvailability } from './availability';
import { DHCPD_LEASES, ipForMac } from './leases';
import { controlCall } from './protocol';
import { readRuntime } from './runner';
import { VZ_RUNNER_FLAG } from './flag';
import type { VzRunOptions } from './spec';
import type { VmState } from '../backend';

/** argv flag the Electron main entry looks for to run as a VZ runner (app/main wires it). */
export { VZ_RUNNER_FLAG };
export const RUNNER_LOG = 'nestbox-vz.log';

export interface RunnerCommand {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

/**
 * How to start a runner: inside Electron, the app's own binary with VZ_RUNNER_FLAG (main queue, windows
 * possible); under Node, `node runner-main.js` (private queue, headless). NESTBOX_VZ_RUNNER overrides the script.
 */
export function runnerCommand(argJson: string, env: NodeJS.ProcessEnv = process.env): RunnerCommand {
  const childEnv = { ...env };
  if (env.NESTBOX_VZ_RUNNER) return { command: process.execPath, args: [env.NESTBOX_VZ_RUNNER, argJson], env: childEnv };
  if (process.versions.electron && !env.ELECTRON_RUN_AS_NODE) {
    return { command: process.execPath, args: [VZ_RUNNER_FLAG, argJson], env: childEnv };
  }
  delete childEnv.ELECTRON_RUN_AS_NODE;
  return { command: process.execPath, args: [path.join(__dirname, 'runner-main.js'), argJson], env: { ...childEnv, ...(process.versions.electron ? { ELECTRON_RUN_AS_NODE: '1' } : {}) } };
}

async function waitUntil(cond: () => boolean, timeoutMs: number, stepMs = 100): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (cond()) return true;
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

function notRunning(name: string): NestboxError {
  return new NestboxError('NOT_RUNNING', `VM "${name}" is not running.`, { fix: `Start it with nestbox run ${name}.` });
}

export class VzBackend implements HypervisorBackend {
  readonly id = 'vz' as const;

  constructor(
    private readonly host: HostInfo = hostInfo(),
    private readonly load: typeof loadVzAddon = loadVzAddon,
  ) {}

  async available(): Promise<Availability> {
    return vzAvailability(this.host, this.load);
  }

  canRun(config: VMConfig): Availability {
    if (this.host.platform !== 'darwin' || this.host.arch !== 'arm64') return { ok: false, reason: NEEDS_APPLE_SILICON };
    if (config.arch !== 'arm64') return { ok: false, reason: 'Virtualization.framework runs arm64 guests only', fix: 'Use the QEMU backend for amd64 VMs.' };
    return { ok: true };
  }

  async start(vm: VmHandle, o: StartOptions & Partial<VzRunOptions>): Promise<void> {
    const can = this.canRun(vm.config);
    if (!can.ok) throw new NestboxError('UNSUPPORTED', `Cannot run ${vm.name} here: ${can.reason}.`, { fix: can.fix });
    if (o.vnc) {
      throw new NestboxError('UNSUPPORTED', 'VNC is not available for Virtualization.framework VMs.', {
        fix: 'Use "Show screen" in the app, or macOS Screen Sharing to the guest\'s IP (nestbox ip NAME).',
      });
    }
    if (runningPid(vm.dir) !== 0) throw new NestboxError('RUNNING', `VM "${vm.name}" is already running!`, { fix: `Stop it first with nestbox stop ${vm.name}.` });
    const cmd = runnerCommand(JSON.stringify({ vmDir: vm.dir, name: vm.name, options: o }));
    const logFd = openSync(path.join(vm.dir, RUNNER_LOG), 'a', 0o644);
    let child;
    try {
      child = spawn(cmd.command, cmd.args, { stdio: ['ignore', logFd, logFd, 'pipe'], detached: true, env: cmd.env });
    } finally {
      closeSync(logFd);
    }
    const ready = await new Promise<{ ready?: boolean; error?: { code: string; message: string; fix?: string } }>((resolve) => {
      let buf = '';
      const pipe = child.stdio[3] as NodeJS.ReadableStream | null;
      const done = (v: { ready?: boolean; error?: { code: string; message: string; fix?: string } }) => resolve(v);
      pipe?.on('data', (d: Buffer) => {
        buf += d.toString('utf8');
        const nl = buf.indexOf('\n');
        if (nl >= 0) {
          try {
            done(JSON.parse(buf.slice(0, nl)));
          } catch {
            done({ error: { code: 'INTERNAL', message: 'the VM runner sent an unreadable status' } });
          }
        }
      });
      // Restoring a large snapshot can take a while; a runner that never reports is killed after 5 minutes.
      const timer = setTimeout(() => {
        try {
          child.kill('SIGKILL');
        } catch {}
        done({ error: { code: 'TIMEOUT', message: `the VM runner did not report within 5 minutes; see ${path.join(vm.dir, RUNNER_LOG)}` } });
      }, 5 * 60_000);
      timer.unref();
      child.on('exit', () => clearTimeout(timer));
      pipe?.on('close', () => clearTimeout(timer));
      child.on('exit', (code) => done({ error: { code: 'HYPERVISOR', message: `the VM runner exited (code ${code}) before the VM started; see ${path.join(vm.dir, RUNNER_LOG)}` } }));
      child.on('error', (e) => done({ error: { code: 'HYPERVISOR', message: `cannot start the VM runner (${e.message})` } }));
    });
    (child.stdio[3] as { destroy?: () => void } | null)?.destroy?.();
    child.unref();
    if (!ready.ready) {
      const e = ready.error!;
      throw new NestboxError((e.code as never) ?? 'HYPERVISOR', e.message, { fix: e.fix });
    }
  }

  async stop(vm: VmHandle, o: StopOptions = {}): Promise<void> {
    const timeoutMs = o.timeoutMs ?? 30_000;
    const pid = runningPid(vm.dir);
    const stopped = () => runningPid(vm.dir) === 0;
    if (pid === 0) {
      const snap = path.join(vm.dir, VM_FILES.vzState);
      if (existsSync(snap)) {
        await fsp.rm(snap, { force: true }); // Tart: stopping a suspended VM discards its snapshot
        return;
      }
      throw notRunning(vm.name);
    }
    const rt = readRuntime(vm.dir);
    if (!o.force && rt) {
      await controlCall(rt.socket, 'requestStop').catch(() => {});
      if (await waitUntil(stopped, timeoutMs)) return;
    }
    // Tart's stop: SIGINT to the lock holder (a Nestbox runner or `tart run`), poll every 100 ms, then SIGKILL.
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGINT');
      } catch {}
    } else if (rt) {
      await controlCall(rt.socket, 'stop', { force: true }).catch(() => {});
    }
    if (await waitUntil(stopped, o.force ? timeoutMs : 5_000)) return;
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    if (!(await waitUntil(stopped, 5_000))) {
      throw new NestboxError('TIMEOUT', `VM "${vm.name}" did not stop.`, { fix: `Check process ${pid} and kill it if needed.` });
    }
  }

  private runtimeOf(vm: VmHandle) {
    if (runningPid(vm.dir) === 0) throw notRunning(vm.name);
    const rt = readRuntime(vm.dir);
    if (!rt) {
      throw new NestboxError('UNSUPPORTED', `VM "${vm.name}" is run by another program (e.g. tart run), so Nestbox cannot control it beyond stop and suspend.`, {
        fix: 'Use that program, or stop the VM and start it with Nestbox.',
      });
    }
    return rt;
  }

  async pause(vm: VmHandle): Promise<void> {
    await controlCall(this.runtimeOf(vm).socket, 'pause');
  }

  async resume(vm: VmHandle): Promise<void> {
    await controlCall(this.runtimeOf(vm).socket, 'resume');
  }

  /** Tart's suspend: SIGUSR1 to the lock holder, which pauses, saves state.vzvmsave and exits (macOS 14+). */
  async suspend(vm: VmHandle): Promise<void> {
    if (vm.config.os !== 'darwin') throw new NestboxError('UNSUPPORTED', 'Only macOS guests can be suspended with Virtualization.framework.', { fix: 'Stop the VM instead.' });
    const pid = runningPid(vm.dir);
    if (pid === 0) throw notRunning(vm.name);
    if (pid > 0) process.kill(pid, 'SIGUSR1');
    else await controlCall(this.runtimeOf(vm).socket, 'suspend', {}, 120_000);
    if (!(await waitUntil(() => runningPid(vm.dir) === 0, 120_000))) {
      throw new NestboxError('TIMEOUT', `VM "${vm.name}" did not finish suspending within 2 minutes.`, { fix: `See ${path.join(vm.dir, RUNNER_LOG)}.` });
    }
    if (!existsSync(path.join(vm.dir, VM_FILES.vzState))) {
      throw new NestboxError('HYPERVISOR', `Suspending ${vm.name} failed; it is still running or was stopped without a snapshot.`, { fix: `See ${path.join(vm.dir, RUNNER_LOG)}.` });
    }
  }

  async status(vm: VmHandle): Promise<VmStatus> {
    const pid = runningPid(vm.dir);
    if (pid === 0) return { state: existsSync(path.join(vm.dir, VM_FILES.vzState)) ? 'suspended' : 'stopped', backend: 'vz' };
    const rt = readRuntime(vm.dir);
    if (rt) {
      try {
        const s = (await controlCall(rt.socket, 'status', {}, 2_000)) as { state: VmState };
        return { state: s.state, pid: pid > 0 ? pid : rt.pid, backend: 'vz' };
      } catch {}
    }
    return { state: 'running', ...(pid > 0 ? { pid } : {}), backend: 'vz' };
  }

  async screenshot(vm: VmHandle): Promise<Buffer> {
    throw new NestboxError('UNSUPPORTED', `Screenshots of Virtualization.framework VMs are not available yet (${vm.name}).`, { fix: 'Use "Show screen".' });
  }

  async display(vm: VmHandle): Promise<DisplayEndpoint> {
    await controlCall(this.runtimeOf(vm).socket, 'showWindow', { width: vm.config.display.width, height: vm.config.display.height });
    return { kind: 'native-window' };
  }

  async serial(vm: VmHandle): Promise<NodeJS.ReadWriteStream> {
    throw new NestboxError('UNSUPPORTED', `An interactive serial console is not available for Virtualization.framework VMs yet; ${vm.name}'s console output is in nestbox-serial.log.`, {
      fix: `Read ${path.join(vm.dir, 'nestbox-serial.log')}.`,
    });
  }

  async ip(vm: VmHandle, o: { waitMs?: number } = {}): Promise<string | null> {
    const read = () => {
      try {
        return ipForMac(readFileSync(DHCPD_LEASES, 'utf8'), vm.config.macAddress);
      } catch {
        return null;
      }
    };
    let ip = read();
    const end = Date.now() + (o.waitMs ?? 0);
    while (!ip && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 1_000));
      ip = read();
    }
    return ip;
  }

  async connectionInfo(vm: VmHandle): Promise<ConnectionInfo> {
    const ip = await this.ip(vm);
    return {
      ...(ip ? { ssh: { host: ip, port: 22 } } : {}),
      vnc: { kind: 'native-window' },
      ...(vm.config.os === 'linux' ? { serialLog: path.join(vm.dir, 'nestbox-serial.log') } : {}),
    };
  }
}

export function createBackend(): HypervisorBackend {
  return new VzBackend();
}
