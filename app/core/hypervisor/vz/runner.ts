/**
 * The per-VM runner: one process per running VZ VM (Tart's `tart run` model), so a crash of the app or CLI does
 * not take VMs down. It holds Tart's PIDLock (fcntl write lock on config.json) for the VM's whole life, so Tart
 * and Nestbox see each other's VMs as running, and it answers Tart's signals the way `tart run` does:
 *   SIGINT/SIGTERM → stop the VM (hard) and exit · SIGUSR1 → pause, save state.vzvmsave, exit · SIGUSR2 → ask the
 *   guest to shut down.
 * Everything else (pause/resume/suspend/show screen/status) comes over the control socket (./protocol.ts).
 *
 * Inside the Electron app the runner is the Electron binary in runner mode (its main thread runs the Cocoa event
 * loop, so the VM uses the main queue and "Show screen" can open a VZVirtualMachineView window); under plain Node
 * (`nestbox run` from a shell) it uses a private queue and is headless.
 */
import { promises as fsp, readFileSync, mkdirSync, rmSync } from 'node:fs';
import type { Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { NestboxError } from '../../errors';
import { writeFileAtomic } from '../../fsutil';
import { parseConfig } from '../../library/config';
import { VM_FILES, type Home } from '../../library/home';
import { PidLock } from '../../library/locks';
import { VmStateMachine, type VmState } from '../backend';
import { mapVzError } from './errors';
import { assertMacGuestSlot } from './limits';
import { RUNTIME_FILE, controlSocketPath, serveControl, type ControlOp, type RuntimeInfo } from './protocol';
import { buildVzSpec, type VzRunOptions } from './spec';
import { vmStateFromVz, vzStateName } from './state';
import type { VzAddon, VzEvent, VzMachine } from './types';

export interface RunnerArgs {
  vmDir: string;
  name: string;
  options: VzRunOptions;
  queue: 'main' | 'private';
}

export interface RunnerDeps {
  addon: VzAddon;
  home: Home;
  socketPath?: string;
  log?: (m: string) => void;
  /** Where signals come from (process by default). */
  signals?: NodeJS.EventEmitter;
}

export class VzRunner {
  readonly state = new VmStateMachine('stopped');
  readonly exited: Promise<number>;
  private resolveExit!: (code: number) => void;
  private machine: VzMachine | undefined;
  private server: Server | undefined;
  private finishing = false;
  private booted = false;
  private suspending = false;
  private readonly onSignal: Record<string, () => void> = {};

  private constructor(
    readonly args: RunnerArgs,
    private readonly deps: RunnerDeps,
    private readonly lock: PidLock,
    readonly socket: string,
  ) {
    this.exited = new Promise((r) => (this.resolveExit = r));
  }

  private log(m: string): void {
    this.deps.log?.(m);
  }

  /** Takes the lock, builds and starts (or restores) the VM, opens the control socket. Throws NestboxErrors. */
  static async launch(args: RunnerArgs, deps: RunnerDeps): Promise<VzRunner> {
    const configPath = path.join(args.vmDir, VM_FILES.config);
    // Read the config BEFORE locking: closing any descriptor of config.json drops this process's fcntl lock.
    let text: string;
    try {
      text = readFileSync(configPath, 'utf8');
    } catch {
      throw new NestboxError('NOT_FOUND', `VM "${args.name}" does not exist.`, { fix: 'Check the name with nestbox list.' });
    }
    const config = parseConfig(text, configPath);
    if (config.os === 'darwin') await assertMacGuestSlot(deps.home, args.name);
    const lock = PidLock.open(configPath);
    if (!lock.tryLock()) {
      lock.close();
      throw new NestboxError('RUNNING', `VM "${args.name}" is already running!`, { fix: `Stop it first with nestbox stop ${args.name}.` });
    }
    const socket = deps.socketPath ?? controlSocketPath(args.vmDir);
    const runner = new VzRunner(args, deps, lock, socket);
    try {
      await runner.boot(config);
    } catch (e) {
      await runner.cleanup();
      throw e;
    }
    return runner;
  }

  private async boot(config: ReturnType<typeof parseConfig>): Promise<void> {
    const { addon } = this.deps;
    const { args } = this;
    const stateFile = path.join(args.vmDir, VM_FILES.vzState);
    const suspended = await fsp.stat(stateFile).then(() => true, () => false);
    const host = addon.hostInfo();
    if (config.os === 'linux') await this.ensureEfiVariableStore();
    const spec = buildVzSpec(
      { name: args.name, dir: args.vmDir, config },
      // Tart: a snapshot implies --suspendable (the devices must match the saved state).
      { ...args.options, suspendable: args.options.suspendable || suspended },
      { macosVersion: host.macosVersion, cpus: os.cpus().length, memory: os.totalmem(), rosetta: host.rosetta },
    );
    try {
      this.machine = await addon.createMachine(spec, (e) => this.onEvent(e), { queue: args.queue });
    } catch (e) {
      throw mapVzError(e, args.name, 'start');
    }
    this.state.to('starting');
    if (suspended) {
      try {
        await this.machine.restoreState(stateFile);
        await this.machine.resume();
      } catch (e) {
        throw mapVzError(e, args.name, 'restore');
      }
      // Tart drops the snapshot once restored: it no longer matches the running VM.
      await fsp.rm(stateFile, { force: true });
    } else {
      try {
        await this.machine.start();
      } catch (e) {
        throw mapVzError(e, args.name, 'start');
      }
    }
    this.state.observe(vmStateFromVz(this.machine.state()));
    mkdirSync(path.dirname(this.socket), { recursive: true, mode: 0o700 });
    rmSync(this.socket, { force: true });
    this.server = serveControl(this.socket, (op, a) => this.handle(op, a));
    const info: RuntimeInfo = { pid: process.pid, socket: this.socket, startedAt: new Date().toISOString(), queue: args.queue };
    await writeFileAtomic(path.join(args.vmDir, RUNTIME_FILE), JSON.stringify(info, null, 2) + '\n');
    this.installSignals();
    this.booted = true;
    this.log(`${args.name} is running (pid ${process.pid}).`);
  }

  /**
   * Linux VMs created on a host without Virtualization.framework carry an empty placeholder nvram.bin (its format
   * can only be written by the framework): replace it with a fresh EFI variable store, as `tart create --linux` does.
   */
  private async ensureEfiVariableStore(): Promise<void> {
    const nvram = path.join(this.args.vmDir, VM_FILES.nvram);
    const size = await fsp.stat(nvram).then((s) => s.size, () => -1);
    if (size > 0) return;
    if (size === 0) await fsp.rm(nvram);
    try {
      this.deps.addon.createEfiVariableStore(nvram);
    } catch (e) {
      throw mapVzError(e, this.args.name, 'create the EFI variable store of');
    }
    this.log('created a new EFI variable store (nvram.bin)');
  }

  private installSignals(): void {
    const sig = this.deps.signals ?? process;
    this.onSignal.SIGINT = () => void this.stop(true).catch((e) => this.log(`stop failed: ${(e as Error).message}`));
    this.onSignal.SIGTERM = this.onSignal.SIGINT;
    this.onSignal.SIGUSR1 = () => void this.suspend().catch((e) => this.log(`suspend failed: ${(e as Error).message}`));
    this.onSignal.SIGUSR2 = () => void this.requestStop().catch((e) => this.log(`shutdown request failed: ${(e as Error).message}`));
    for (const [s, f] of Object.entries(this.onSignal)) sig.on(s, f);
  }

  private onEvent(e: VzEvent): void {
    switch (e.type) {
      case 'state': {
        const s: VmState = vmStateFromVz(e.state);
        if (!this.suspending || s !== 'stopped') this.state.observe(s);
        this.log(`state: ${vzStateName(e.state) ?? e.state}`);
        if (e.state === 0 && !this.suspending) void this.finish(0);
        if (e.state === 3) void this.finish(1);
        break;
      }
      case 'guestDidStop':
        this.log('the guest shut down');
        void this.finish(0);
        break;
      case 'didStopWithError':
        this.log(`the VM stopped with an error: ${e.error.message}`);
        this.state.observe('error', { code: 'HYPERVISOR', message: e.error.message });
        void this.finish(1);
        break;
      case 'networkDisconnected':
        this.log(`network attachment disconnected: ${e.error.message}`);
        break;
      case 'windowClosed':
        break;
    }
  }

  private need(): VzMachine {
    if (!this.machine || this.finishing) throw new NestboxError('NOT_RUNNING', `VM "${this.args.name}" is not running.`);
    return this.machine;
  }

  async handle(op: ControlOp, a: Record<string, unknown>): Promise<unknown> {
    switch (op) {
      case 'status':
        return { state: this.state.state, vzState: this.machine?.state() ?? 0, pid: process.pid, queue: this.args.queue, capabilities: this.machine?.capabilities() };
      case 'stop':
        await this.stop(a.force === true);
        return null;
      case 'requestStop':
        await this.requestStop();
        return null;
      case 'pause':
        await this.need().pause().catch((e) => Promise.reject(mapVzError(e, this.args.name, 'pause')));
        return null;
      case 'resume':
        await this.need().resume().catch((e) => Promise.reject(mapVzError(e, this.args.name, 'resume')));
        return null;
      case 'suspend':
        await this.suspend();
        return null;
      case 'showWindow': {
        const m = this.need();
        try {
          m.showWindow({ title: this.args.name, width: Number(a.width) || 1024, height: Number(a.height) || 768 });
        } catch (e) {
          throw mapVzError(e, this.args.name, 'show the screen of');
        }
        return null;
      }
      case 'closeWindow':
        this.machine?.closeWindow();
        return null;
    }
  }

  /** Hard stop (Tart's SIGINT behaviour) — or a guest shutdown request first when not forced. */
  async stop(force: boolean): Promise<void> {
    const m = this.need();
    this.state.observe('stopping');
    if (!force) {
      try {
        await m.requestStop();
        return; // the guest shuts down; guestDidStop finishes the runner
      } catch {
        // the guest cannot be asked (e.g. still booting): fall through to a hard stop
      }
    }
    try {
      await m.stop();
    } catch (e) {
      throw mapVzError(e, this.args.name, 'stop');
    }
    this.state.observe('stopped');
    await this.finish(0);
  }

  async requestStop(): Promise<void> {
    try {
      await this.need().requestStop();
    } catch (e) {
      throw mapVzError(e, this.args.name, 'shut down');
    }
  }

  /** Tart's suspend: pause, save state.vzvmsave (via a temp name, so a failed save leaves no half snapshot), stop, exit. */
  async suspend(): Promise<void> {
    const m = this.need();
    if (this.suspending) return;
    this.suspending = true;
    const final = path.join(this.args.vmDir, VM_FILES.vzState);
    const tmp = path.join(this.args.vmDir, `.${VM_FILES.vzState}.${process.pid}.tmp`);
    this.state.observe('suspending');
    try {
      if (m.state() !== 2) await m.pause();
      await m.saveState(tmp);
      await fsp.rename(tmp, final);
    } catch (e) {
      this.suspending = false;
      await fsp.rm(tmp, { force: true }).catch(() => {});
      await m.resume().catch(() => {});
      this.state.observe(vmStateFromVz(m.state()));
      throw mapVzError(e, this.args.name, 'suspend');
    }
    await m.stop().catch(() => {});
    this.state.observe('suspended');
    await this.finish(0);
  }

  private async finish(code: number): Promise<void> {
    // Before boot completes, failures are reported by launch() (which cleans up itself).
    if (this.finishing || !this.booted) return;
    this.finishing = true;
    await this.cleanup();
    this.resolveExit(code);
  }

  private async cleanup(): Promise<void> {
    const sig = this.deps.signals ?? process;
    for (const [s, f] of Object.entries(this.onSignal)) sig.removeListener(s, f);
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    rmSync(this.socket, { force: true });
    rmSync(path.join(this.args.vmDir, RUNTIME_FILE), { force: true });
    try {
      this.machine?.dispose();
    } catch {
      // not stopped yet (e.g. boot failed half-way): the process exits anyway
    }
    this.machine = undefined;
    this.lock.close(); // releases Tart's PIDLock
  }
}

/** Reads <vm>/nestbox-vz-runtime.json (undefined when absent or unreadable). */
export function readRuntime(vmDir: string): RuntimeInfo | undefined {
  try {
    const r = JSON.parse(readFileSync(path.join(vmDir, RUNTIME_FILE), 'utf8')) as RuntimeInfo;
    return typeof r.pid === 'number' && typeof r.socket === 'string' ? r : undefined;
  } catch {
    return undefined;
  }
}
