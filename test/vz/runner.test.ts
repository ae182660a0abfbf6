/**
 * The VZ runner's own logic (Tart's PIDLock held for the VM's life, control socket, Tart's signals, suspend via a
 * temp file, restore-and-drop of state.vzvmsave) run here against a stand-in for the addon: Virtualization.framework
 * does not exist on Linux, so `standInAddon` plays the framework's documented state machine (VZVirtualMachine.h:
 * start → starting → running; pause → pausing → paused; save only when paused; restore only when stopped → paused).
 * The real addon is checked by the compile check; running it needs a Mac.
 * The VZ backend's host-independent behaviour (availability, status, stop of a suspended VM) runs for real.
 */
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NestboxError } from '../../app/core/errors';
import { homePaths } from '../../app/core/library/home';
import { parseConfig } from '../../app/core/library/config';
import { VzRunner } from '../../app/core/hypervisor/vz/runner';
import { controlCall, RUNTIME_FILE } from '../../app/core/hypervisor/vz/protocol';
import { VzBackend } from '../../app/core/hypervisor/vz';
import type { VzAddon, VzEvent, VzMachine, VzMachineSpec } from '../../app/core/hypervisor/vz/types';
import { run, waitFor as waitUntil } from '../helpers';

const MAC_CONFIG = JSON.stringify({
  version: 1, os: 'darwin', arch: 'arm64', ecid: 'AAAA', hardwareModel: 'BBBB', cpuCountMin: 1, cpuCount: 1,
  memorySizeMin: 536870912, memorySize: 536870912, macAddress: '7e:1c:f2:4a:78:30', display: { width: 1024, height: 768 }, diskFormat: 'raw',
});

const root = mkdtempSync(path.join(os.tmpdir(), 'nestbox-vz-runner-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const home = homePaths(root);

function makeVm(name: string): string {
  const d = path.join(home.vms, name);
  mkdirSync(d, { recursive: true });
  writeFileSync(path.join(d, 'config.json'), MAC_CONFIG);
  writeFileSync(path.join(d, 'disk.img'), '');
  writeFileSync(path.join(d, 'nvram.bin'), '');
  return d;
}

const vzErr = (code: number, message: string) => Object.assign(new Error(message), { domain: 'VZErrorDomain', vzCode: code, code: 'VZ_ERROR' });

function standInAddon(): { addon: VzAddon; specs: VzMachineSpec[] } {
  const specs: VzMachineSpec[] = [];
  const addon = {
    createEfiVariableStore: (p: string) => {
      if (existsSync(p)) throw vzErr(2, 'file exists');
      writeFileSync(p, 'efi-variable-store');
    },
    hostInfo: () => ({ macosVersion: '14.6', supported: true, minimumAllowedCPUCount: 1, maximumAllowedCPUCount: 64, minimumAllowedMemorySize: 1, maximumAllowedMemorySize: 2 ** 40, rosetta: 'notSupported', mainQueueServiced: false }),
    createMachine: async (spec: VzMachineSpec, onEvent: (e: VzEvent) => void) => {
      specs.push(spec);
      let state = 0;
      const set = (s: number) => {
        state = s;
        setImmediate(() => onEvent({ type: 'state', state: s }));
      };
      const m: VzMachine = {
        start: async () => {
          if (state !== 0) throw vzErr(4, 'Invalid state transition');
          set(4);
          set(1);
        },
        stop: async () => {
          set(7);
          set(0);
        },
        requestStop: async () => {
          if (state !== 1) throw vzErr(3, 'Invalid state');
          setImmediate(() => {
            onEvent({ type: 'guestDidStop' });
            set(0);
          });
        },
        pause: async () => {
          if (state !== 1) throw vzErr(4, 'Invalid state transition');
          set(5);
          set(2);
        },
        resume: async () => {
          if (state !== 2) throw vzErr(4, 'Invalid state transition');
          set(6);
          set(1);
        },
        saveState: async (p: string) => {
          if (state !== 2) throw vzErr(3, 'The virtual machine must be paused');
          writeFileSync(p, 'saved');
        },
        restoreState: async (p: string) => {
          if (state !== 0 || !existsSync(p)) throw vzErr(12, 'Restore failed');
          set(9);
          set(2);
        },
        install: async () => {},
        cancelInstall: () => {},
        state: () => state,
        capabilities: () => ({ canStart: state === 0, canPause: state === 1, canResume: state === 2, canRequestStop: state === 1, canStop: state !== 0 }),
        showWindow: () => {
          throw Object.assign(new Error('the screen can only be shown when the VM runs inside the Nestbox app'), { domain: 'nestbox', vzCode: 0, code: 'UNSUPPORTED' });
        },
        closeWindow: () => {},
        dispose: () => {
          if (state !== 0 && state !== 3) throw new Error('not stopped');
        },
      };
      return m;
    },
  } as unknown as VzAddon;
  return { addon, specs };
}

/** Probes the fcntl lock from another process (POSIX locks are per process: this one would not see its own). */
async function lockHolderFromOutside(vmDir: string): Promise<number> {
  const script = `const {runningPid}=require(${JSON.stringify(path.resolve(__dirname, '../../dist/core/library/locks.js'))});process.stdout.write(String(runningPid(${JSON.stringify(vmDir)})))`;
  const r = await run(process.execPath, ['-e', script]);
  return Number(r.stdout);
}

const waitFor = (cond: () => boolean) => waitUntil('the runner state', cond, 5000, 10);

describe('VZ runner (against a stand-in for Virtualization.framework)', () => {
  it('holds Tart’s lock while running, answers the control socket, and suspends on SIGUSR1 like tart run', async () => {
    const dir = makeVm('mac1');
    const { addon, specs } = standInAddon();
    const signals = new EventEmitter();
    const socket = path.join(root, 'mac1.sock');
    const runner = await VzRunner.launch({ vmDir: dir, name: 'mac1', options: { graphics: false }, queue: 'private' }, { addon, home, socketPath: socket, signals });
    expect(specs[0]!.platform).toMatchObject({ kind: 'mac', hardwareModel: 'BBBB', machineIdentifier: 'AAAA' });
    expect(await lockHolderFromOutside(dir)).toBe(process.pid);
    expect(existsSync(path.join(dir, RUNTIME_FILE))).toBe(true);
    await waitFor(() => runner.state.state === 'running');
    expect(await controlCall(socket, 'status')).toMatchObject({ state: 'running', vzState: 1, queue: 'private' });

    await controlCall(socket, 'pause');
    await waitFor(() => runner.state.state === 'paused');
    await controlCall(socket, 'resume');
    await waitFor(() => runner.state.state === 'running');
    const e = await controlCall(socket, 'showWindow').catch((x: NestboxError) => x);
    expect(e).toBeInstanceOf(NestboxError);
    expect((e as NestboxError).code).toBe('UNSUPPORTED');
    expect((e as NestboxError).message).toMatch(/Cannot show the screen of mac1: the screen can only be shown/);

    signals.emit('SIGUSR1');
    expect(await runner.exited).toBe(0);
    expect(runner.state.state).toBe('suspended');
    expect(existsSync(path.join(dir, 'state.vzvmsave'))).toBe(true);
    expect(existsSync(path.join(dir, RUNTIME_FILE))).toBe(false);
    expect(existsSync(socket)).toBe(false);
    expect(await lockHolderFromOutside(dir)).toBe(0);
  });

  it('restores a suspended VM (suspendable devices), drops the snapshot, and ends when the guest shuts down', async () => {
    const dir = path.join(home.vms, 'mac1');
    const { addon, specs } = standInAddon();
    const socket = path.join(root, 'mac1b.sock');
    const runner = await VzRunner.launch({ vmDir: dir, name: 'mac1', options: { graphics: false }, queue: 'private' }, { addon, home, socketPath: socket, signals: new EventEmitter() });
    expect(specs[0]).toMatchObject({ keyboards: ['mac'], pointingDevices: ['mac-trackpad'], audio: false, entropy: false });
    await waitFor(() => runner.state.state === 'running');
    expect(existsSync(path.join(dir, 'state.vzvmsave'))).toBe(false);
    await controlCall(socket, 'requestStop');
    expect(await runner.exited).toBe(0);
    expect(await lockHolderFromOutside(dir)).toBe(0);
  });

  it('a failed start releases the lock and reports the mapped framework error', async () => {
    const dir = makeVm('mac2');
    const { addon } = standInAddon();
    const failing = { ...addon, createMachine: async () => Promise.reject(vzErr(6, 'The number of virtual machines exceeds the limit')) } as unknown as VzAddon;
    const e = await VzRunner.launch({ vmDir: dir, name: 'mac2', options: { graphics: false }, queue: 'private' }, { addon: failing, home, socketPath: path.join(root, 'm2.sock'), signals: new EventEmitter() }).catch((x: NestboxError) => x);
    expect(e).toBeInstanceOf(NestboxError);
    expect((e as NestboxError).code).toBe('BUSY');
    expect(await lockHolderFromOutside(dir)).toBe(0);
  });
});

describe('VZ runner: Linux guests', () => {
  it('replaces an empty placeholder nvram.bin with an EFI variable store, and stops on SIGINT like tart run', async () => {
    const d = path.join(home.vms, 'deb');
    mkdirSync(d, { recursive: true });
    writeFileSync(path.join(d, 'config.json'), MAC_CONFIG.replace('"os":"darwin"', '"os":"linux"'));
    writeFileSync(path.join(d, 'disk.img'), '');
    writeFileSync(path.join(d, 'nvram.bin'), '');
    const { addon, specs } = standInAddon();
    const signals = new EventEmitter();
    const runner = await VzRunner.launch({ vmDir: d, name: 'deb', options: { graphics: false }, queue: 'private' }, { addon, home, socketPath: path.join(root, 'deb.sock'), signals });
    expect(readFileSync(path.join(d, 'nvram.bin'), 'utf8')).toBe('efi-variable-store');
    expect(specs[0]).toMatchObject({ platform: { kind: 'linux', efiVariableStore: path.join(d, 'nvram.bin') }, serial: { outputPath: path.join(d, 'nestbox-serial.log') } });
    await waitFor(() => runner.state.state === 'running');
    signals.emit('SIGINT');
    expect(await runner.exited).toBe(0);
    expect(runner.state.state).toBe('stopped');
    expect(await lockHolderFromOutside(d)).toBe(0);
  });
});

describe('VZ backend on this host', () => {
  const linuxHost = { platform: 'linux' as NodeJS.Platform, arch: 'amd64' };
  it('is unavailable off Apple silicon and refuses to start, with the reason', async () => {
    const b = new VzBackend(linuxHost);
    expect(await b.available()).toMatchObject({ ok: false, reason: 'macOS guests need a Mac with Apple silicon' });
    const dir = makeVm('mac3');
    const vm = { name: 'mac3', dir, config: parseConfig(MAC_CONFIG) };
    expect(b.canRun(vm.config)).toMatchObject({ ok: false });
    const e = await b.start(vm, { graphics: false }).catch((x: NestboxError) => x);
    expect((e as NestboxError).code).toBe('UNSUPPORTED');
    expect((e as NestboxError).message).toMatch(/macOS guests need a Mac with Apple silicon/);
  });

  it('start spawns a real runner process and reports its structured error (here: no framework on Linux)', async () => {
    // Pretend to be a Mac so start() gets past canRun(); the runner itself (dist/…/runner-main.js, a real child
    // process) then fails to load the addon and says so through the readiness pipe (fd 3).
    const b = new VzBackend({ platform: 'darwin', arch: 'arm64' });
    const dir = makeVm('mac5');
    const vm = { name: 'mac5', dir, config: parseConfig(MAC_CONFIG) };
    const prev = process.env.NESTBOX_VZ_RUNNER;
    process.env.NESTBOX_VZ_RUNNER = path.resolve(__dirname, '../../dist/core/hypervisor/vz/runner-main.js');
    try {
      const e = await b.start(vm, { graphics: false }).catch((x: NestboxError) => x);
      expect(e).toBeInstanceOf(NestboxError);
      expect((e as NestboxError).code).toBe('MISSING_DEPENDENCY');
      expect((e as NestboxError).message).toMatch(/Virtualization\.framework addon cannot be loaded \(The Virtualization\.framework addon exists only on macOS\.\)/);
    } finally {
      if (prev === undefined) delete process.env.NESTBOX_VZ_RUNNER;
      else process.env.NESTBOX_VZ_RUNNER = prev;
    }
    expect(readFileSync(path.join(dir, 'nestbox-vz.log'), 'utf8')).toMatch(/error: The Virtualization\.framework addon cannot be loaded/);
    expect(await lockHolderFromOutside(dir)).toBe(0);
    const vnc = await b.start(vm, { graphics: false, vnc: true }).catch((x: NestboxError) => x);
    expect((vnc as NestboxError).message).toMatch(/VNC is not available/);
  });

  it('reports stopped/suspended from the folder, and stop discards a snapshot as Tart does', async () => {
    const b = new VzBackend(linuxHost);
    const dir = makeVm('mac4');
    const vm = { name: 'mac4', dir, config: parseConfig(MAC_CONFIG) };
    expect(await b.status(vm)).toEqual({ state: 'stopped', backend: 'vz' });
    const stopErr = await b.stop(vm).catch((x: NestboxError) => x);
    expect((stopErr as NestboxError).code).toBe('NOT_RUNNING');
    expect((stopErr as NestboxError).exitCode).toBe(2);
    writeFileSync(path.join(dir, 'state.vzvmsave'), 'x');
    expect(await b.status(vm)).toEqual({ state: 'suspended', backend: 'vz' });
    await b.stop(vm);
    expect(existsSync(path.join(dir, 'state.vzvmsave'))).toBe(false);
    expect(await b.status(vm)).toEqual({ state: 'stopped', backend: 'vz' });
  });
});
