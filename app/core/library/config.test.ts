import { describe, expect, it } from 'vitest';
import { NestboxError } from '../errors';
import { checkResources, GiB, MiB, newLinuxConfig, parseConfig, randomMac, serializeConfig, validateVmName } from './config';

const tartLinux = {
  version: 1,
  os: 'linux',
  arch: 'arm64',
  cpuCountMin: 4,
  cpuCount: 4,
  memorySizeMin: 4294967296,
  memorySize: 4294967296,
  macAddress: '7e:1c:f2:4a:78:30',
  display: { width: 1024, height: 768 },
  diskFormat: 'raw',
};

describe('config.json', () => {
  it('round-trips a Tart config with exactly Tart keys', () => {
    const c = parseConfig(JSON.stringify(tartLinux));
    expect(JSON.parse(serializeConfig(c))).toEqual(tartLinux);
    expect(Object.keys(JSON.parse(serializeConfig(c)))).toEqual(Object.keys(tartLinux));
  });

  it('preserves unknown keys on rewrite', () => {
    const c = parseConfig(JSON.stringify({ ...tartLinux, futureKey: { a: [1, 2] }, displayRefit: true }));
    c.cpuCount = 2;
    const out = JSON.parse(serializeConfig(c));
    expect(out.futureKey).toEqual({ a: [1, 2] });
    expect(out.displayRefit).toBe(true);
    expect(out.cpuCount).toBe(2);
  });

  it('applies Tart read defaults (os darwin, arch arm64, display 1024x768, unknown diskFormat = raw)', () => {
    const { os: _os, arch: _arch, display: _d, ...rest } = tartLinux;
    const c = parseConfig(JSON.stringify({ ...rest, ecid: 'AAA=', hardwareModel: 'BBB=', diskFormat: 'qcow9' }));
    expect(c.os).toBe('darwin');
    expect(c.arch).toBe('arm64');
    expect(c.display).toEqual({ width: 1024, height: 768 });
    expect(c.diskFormat).toBe('raw');
  });

  it('lists every problem of a broken config', () => {
    try {
      parseConfig(JSON.stringify({ os: 'windows', cpuCount: 'four', macAddress: 'nope' }), '/x/config.json');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(NestboxError);
      const err = e as NestboxError;
      expect(err.code).toBe('BROKEN_VM');
      expect(err.message).toContain('/x/config.json');
      expect(err.message).toContain('"version"');
      expect(err.message).toContain('"os" must be');
      expect(err.message).toContain('"cpuCount"');
      expect(err.message).toContain('"macAddress"');
    }
  });

  it('rejects invalid JSON and partial files with the path', () => {
    expect(() => parseConfig('{"version": 1, "os": "li', '/vm/config.json')).toThrow(/\/vm\/config.json is not valid JSON/);
    expect(() => parseConfig('[]')).toThrow(/must hold a JSON object/);
  });

  it('requires ecid and hardwareModel for macOS guests', () => {
    expect(() => parseConfig(JSON.stringify({ ...tartLinux, os: 'darwin' }))).toThrow(/"ecid" is required/);
  });
});

describe('defaults and limits', () => {
  it('never gives a new VM more CPUs or memory than the host', () => {
    const c = newLinuxConfig({ arch: 'amd64', host: { cpus: 2, memory: 3 * GiB } });
    expect(c.cpuCount).toBe(2);
    expect(c.memorySize).toBeLessThanOrEqual(1.5 * GiB);
    expect(c.os).toBe('linux');
    expect(c.macAddress).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    const big = newLinuxConfig({ arch: 'arm64', host: { cpus: 16, memory: 64 * GiB } });
    expect(big.cpuCount).toBe(4);
    expect(big.memorySize).toBe(4 * GiB);
  });

  it('makes locally administered unicast MACs', () => {
    for (let i = 0; i < 50; i++) {
      const first = parseInt(randomMac().slice(0, 2), 16);
      expect(first & 0x01).toBe(0);
      expect(first & 0x02).toBe(2);
    }
  });

  it('enforces macOS minimums and host limits per backend', () => {
    const mac = { os: 'darwin' as const, cpuCountMin: 4, memorySizeMin: 8 * GiB };
    const host = { cpus: 8, memory: 16 * GiB };
    expect(checkResources(mac, 2, 8 * GiB, host, 'vz').errors.join()).toMatch(/at least 4 CPUs/);
    expect(checkResources(mac, 4, 4 * GiB, host, 'vz').errors.join()).toMatch(/8192 MB/);
    expect(checkResources(mac, 12, 8 * GiB, host, 'vz').errors.join()).toMatch(/more than this host has/);
    const linux = { os: 'linux' as const, cpuCountMin: 4, memorySizeMin: 4 * GiB };
    const q = checkResources(linux, 12, 1 * GiB, host, 'qemu');
    expect(q.errors).toEqual([]);
    expect(q.warnings.join()).toMatch(/12 CPUs is more than this host has/);
    expect(checkResources(linux, 0, 64 * MiB, host, 'qemu').errors).toHaveLength(2);
  });
});

describe('VM names', () => {
  it.each([
    ['', /empty/],
    ['a/b', /path separator/],
    ['..', /relative path/],
    ['x..y', /".."/],
    ['.hidden', /starts with a dot/],
    ['a\u0001b', /control characters/],
    ['x'.repeat(129), /longer than 128 bytes/],
  ])('rejects %j', (name, why) => {
    expect(() => validateVmName(name)).toThrow(why);
  });

  it('accepts ordinary names', () => {
    for (const n of ['sonoma', 'debian-12_arm64', 'ci.runner.1', 'debian:latest']) expect(() => validateVmName(n)).not.toThrow();
  });
});
