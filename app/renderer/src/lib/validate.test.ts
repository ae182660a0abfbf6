import { describe, expect, it } from 'vitest';
import type { VmDetail } from '../../../api';
import { checkSettings, createDefaults, draftFromVm, isLocalRegistry, referenceQuickProblem, vmNameProblem } from './validate';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function vm(over: Partial<VmDetail> = {}): VmDetail {
  return {
    name: 'mac',
    os: 'darwin',
    arch: 'arm64',
    state: 'stopped',
    cpuCount: 4,
    memorySize: 8 * GiB,
    cpuCountMin: 4,
    memorySizeMin: 4 * GiB,
    disk: { apparent: 50e9, allocated: 20e9 },
    display: { width: 1024, height: 768 },
    accessedAt: '2026-11-29T00:00:00Z',
    canRun: { ok: true },
    limits: { maxCpu: 8, maxMemory: 16 * GiB, minCpu: 1, minMemory: 512 * MiB },
    ...over,
  };
}

describe('settings validation', () => {
  it('accepts the current values as "no changes"', () => {
    const c = checkSettings(draftFromVm(vm()), vm());
    expect(c.errors).toEqual({});
    expect(c.changed).toBe(false);
  });

  it("refuses values below the config's minimums and above the host's limits, saying why", () => {
    const d = { ...draftFromVm(vm()), cpuCount: '2', memoryMB: '2048' };
    const c = checkSettings(d, vm());
    expect(c.errors.cpuCount).toBe("At least 4 CPUs: this guest's configuration requires at least 4 (cpuCountMin).");
    expect(c.errors.memoryMB).toBe("At least 4096 MB: this guest's configuration requires at least 4096 MB (memorySizeMin).");
    expect(c.changed).toBe(false);
    const high = checkSettings({ ...draftFromVm(vm()), cpuCount: '9', memoryMB: '20000' }, vm());
    expect(high.errors.cpuCount).toBe('At most 8 CPUs: this host allows at most 8.');
    expect(high.errors.memoryMB).toBe('At most 16384 MB: this host allows at most 16384 MB.');
  });

  it('refuses non-numbers, shrinking disks and odd displays', () => {
    const c = checkSettings({ ...draftFromVm(vm()), cpuCount: 'four', diskSizeGB: '40', displayWidth: '100' }, vm());
    expect(c.errors.cpuCount).toBe('CPUs must be a whole number.');
    expect(c.errors.diskSizeGB).toMatch(/^Disks can only grow: this disk is already 50 GB, and shrinking/);
    expect(c.errors.display).toBe('The display must be at least 320×240.');
  });

  it('sends only what changed, in vm.set units', () => {
    const c = checkSettings({ ...draftFromVm(vm()), cpuCount: '6', diskSizeGB: '80', displayWidth: '1920', displayHeight: '1080', randomMac: true }, vm());
    expect(c.errors).toEqual({});
    expect(c.changes).toEqual({ cpuCount: 6, diskSizeGB: 80, display: '1920x1080', randomMac: true });
    expect(c.needsStop).toBe(false);
  });

  it('says a running VM must be stopped to apply changes', () => {
    const running = vm({ state: 'running' });
    expect(checkSettings({ ...draftFromVm(running), cpuCount: '5' }, running).needsStop).toBe(true);
  });
});

describe('names, references and defaults', () => {
  it('mirrors the engine\'s VM-name rules', () => {
    expect(vmNameProblem('')).toBe('Enter a name.');
    expect(vmNameProblem('a/b')).toMatch(/cannot contain "\/"/);
    expect(vmNameProblem('.hidden')).toMatch(/cannot start with a dot/);
    expect(vmNameProblem('x'.repeat(129))).toMatch(/at most 128 bytes/);
    expect(vmNameProblem('dev', ['dev'])).toBe('A VM named "dev" already exists.');
    expect(vmNameProblem('sonoma-dev', ['dev'])).toBeNull();
  });

  it('checks references quickly and recognises local registries', () => {
    expect(referenceQuickProblem('')).toMatch(/Enter an image reference/);
    expect(referenceQuickProblem('debian')).toMatch(/registry host/);
    expect(referenceQuickProblem('a b/c')).toMatch(/spaces/);
    expect(referenceQuickProblem('ghcr.io/cirruslabs/debian:latest')).toBeNull();
    expect(isLocalRegistry('127.0.0.1:5000/ns/img:tag')).toBe(true);
    expect(isLocalRegistry('localhost:5000/img')).toBe(true);
    expect(isLocalRegistry('ghcr.io/x/y')).toBe(false);
  });

  it('adapts create defaults to the host', () => {
    expect(createDefaults({ cpus: 2, memory: 4 * GiB, freeDisk: 500e9 })).toEqual({ cpuCount: 2, memoryMB: 2048, diskSizeGB: 50 });
    expect(createDefaults({ cpus: 16, memory: 64 * GiB, freeDisk: 500e9 })).toEqual({ cpuCount: 8, memoryMB: 8192, diskSizeGB: 50 });
    expect(createDefaults({ cpus: 8, memory: 16 * GiB, freeDisk: 20e9 })).toEqual({ cpuCount: 4, memoryMB: 4096, diskSizeGB: 20 });
    expect(createDefaults({ cpus: 2, memory: 24 * GiB, freeDisk: 500e9 }).memoryMB).toBe(4096);
  });
});
