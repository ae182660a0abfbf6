import { describe, expect, it } from 'vitest';
import { newLinuxConfig, type VMConfig } from '../library/config';
import { NestboxError } from '../errors';
import { backendPreference, canTransition, hostRefusal, selectBackend, VmStateMachine, type Availability, type BackendId, type HypervisorBackend } from './backend';

const linux = (arch: 'amd64' | 'arm64' = 'amd64'): VMConfig => newLinuxConfig({ arch, host: { cpus: 4, memory: 8 * 1024 ** 3 } });
const mac: VMConfig = { ...linux('arm64'), os: 'darwin', ecid: 'e', hardwareModel: 'h' };

function fake(id: BackendId, can: Availability = { ok: true }, av: Availability = { ok: true }): HypervisorBackend {
  return { id, canRun: () => can, available: async () => av } as unknown as HypervisorBackend;
}

describe('VM state machine', () => {
  it('allows the documented transitions and refuses the others', () => {
    expect(canTransition('stopped', 'starting')).toBe(true);
    expect(canTransition('running', 'suspending')).toBe(true);
    expect(canTransition('suspending', 'suspended')).toBe(true);
    expect(canTransition('suspended', 'starting')).toBe(true);
    expect(canTransition('stopped', 'running')).toBe(false);
    expect(canTransition('suspended', 'paused')).toBe(false);
    const m = new VmStateMachine();
    const seen: string[] = [];
    m.onChange((s, e) => seen.push(e ? `${s}:${e.message}` : s));
    m.to('starting');
    m.to('error', { code: 'HYPERVISOR', message: 'QEMU exited (1).', fix: 'Check the log.' });
    expect(m.error?.fix).toBe('Check the log.');
    m.to('starting');
    m.to('running');
    m.to('paused');
    m.to('running');
    m.to('stopping');
    m.to('stopped');
    expect(seen).toEqual(['starting', 'error:QEMU exited (1).', 'starting', 'running', 'paused', 'running', 'stopping', 'stopped']);
    expect(m.error).toBeUndefined();
    expect(() => m.to('paused')).toThrow(/stopped → paused/);
  });
});

describe('backend selection', () => {
  it('says plainly that macOS guests need a Mac with Apple silicon', async () => {
    expect(hostRefusal(mac, { platform: 'linux', arch: 'amd64' })?.message).toBe('macOS guests need a Mac with Apple silicon.');
    expect(hostRefusal(mac, { platform: 'darwin', arch: 'amd64' })?.code).toBe('UNSUPPORTED');
    expect(hostRefusal(mac, { platform: 'darwin', arch: 'arm64' })).toBeNull();
    const e = (await selectBackend(mac, { host: { platform: 'linux', arch: 'amd64' }, load: (id) => fake(id) }).catch((x) => x)) as NestboxError;
    expect(e.code).toBe('UNSUPPORTED');
    expect(e.message).toBe('macOS guests need a Mac with Apple silicon.');
  });

  it('prefers VZ for arm64 Linux on Apple silicon, QEMU otherwise', () => {
    expect(backendPreference(linux('arm64'), { platform: 'darwin', arch: 'arm64' })).toEqual(['vz', 'qemu']);
    expect(backendPreference(linux('amd64'), { platform: 'darwin', arch: 'arm64' })).toEqual(['qemu']);
    expect(backendPreference(linux('arm64'), { platform: 'linux', arch: 'amd64' })).toEqual(['qemu']);
    expect(backendPreference(mac, { platform: 'darwin', arch: 'arm64' })).toEqual(['vz']);
  });

  it('falls back to the next backend, and reports the first problem with its fix', async () => {
    const host = { platform: 'darwin' as const, arch: 'arm64' };
    const b = await selectBackend(linux('arm64'), { host, load: (id) => (id === 'vz' ? null : fake('qemu')) });
    expect(b.id).toBe('qemu');
    const e = (await selectBackend(linux('amd64'), {
      host: { platform: 'linux', arch: 'amd64' },
      load: (id) => fake(id, { ok: true }, { ok: false, reason: 'QEMU for amd64 guests (qemu-system-x86_64) is not installed', fix: 'Install the "qemu-system-x86" package.' }),
    }).catch((x) => x)) as NestboxError;
    expect(e.code).toBe('MISSING_DEPENDENCY');
    expect(e.message).toContain('qemu-system-x86_64');
    expect(e.fix).toBe('Install the "qemu-system-x86" package.');
  });
});
