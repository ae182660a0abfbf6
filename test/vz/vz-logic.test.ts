import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NestboxError } from '../../app/core/errors';
import { GiB, MiB, parseConfig, serializeConfig, newLinuxConfig, type VMConfig } from '../../app/core/library/config';
import { homePaths } from '../../app/core/library/home';
import { PidLock } from '../../app/core/library/locks';
import { VmStateMachine, type VmHandle } from '../../app/core/hypervisor/backend';
import { buildVzSpec, groupShares, type VzHostFacts } from '../../app/core/hypervisor/vz/spec';
import { vmStateFromVz, canDo, vzStateName } from '../../app/core/hypervisor/vz/state';
import { mapVzError, VZ_ERROR } from '../../app/core/hypervisor/vz/errors';
import { assertMacGuestSlot, runningMacGuests } from '../../app/core/hypervisor/vz/limits';
import { vzAvailability, NEEDS_APPLE_SILICON } from '../../app/core/hypervisor/vz/availability';

const HOST: VzHostFacts = { macosVersion: '14.6', cpus: 10, memory: 32 * GiB, rosetta: 'installed' };

// A config.json exactly as Tart writes it for a macOS VM (values are opaque base64 blobs).
const MAC_CONFIG_JSON = `{
  "version" : 1,
  "os" : "darwin",
  "arch" : "arm64",
  "ecid" : "YnBsaXN0MDDRAQJURUNJRBMAAAAAAAAAAAgLEAAAAAAAAAEBAAAAAAAAAAMAAAAAAAAAAAAAAAAAAAAZ",
  "hardwareModel" : "YnBsaXN0MDDTAQIDBAUGXxAZRGF0YVJlcHJlc2VudGF0aW9uVmVyc2lvbl8QD1BsYXRmb3JtVmVyc2lvbl8QEk1pbmltdW1TdXBwb3J0ZWRPUxQAAAAAAAAAAAAAAAAAAAABEAKjBwgJEA0QAAgPKz1SY2VnaQAAAAAAAAEBAAAAAAAAAAoAAAAAAAAAAAAAAAAAAABr",
  "cpuCountMin" : 4,
  "cpuCount" : 4,
  "memorySizeMin" : 8589934592,
  "memorySize" : 8589934592,
  "macAddress" : "7e:1c:f2:4a:78:30",
  "display" : { "width" : 1024, "height" : 768 },
  "diskFormat" : "raw"
}`;

function macVm(over: Partial<VMConfig> = {}): VmHandle {
  return { name: 'sonoma', dir: '/vms/sonoma', config: { ...parseConfig(MAC_CONFIG_JSON), ...over } };
}
function linuxVm(over: Partial<VMConfig> = {}): VmHandle {
  const c = { ...newLinuxConfig({ arch: 'arm64', host: { cpus: 8, memory: 16 * GiB } }), macAddress: '52:54:00:12:34:56', ...over };
  return { name: 'deb', dir: '/vms/deb', config: c };
}
function err(fn: () => unknown): NestboxError {
  try {
    fn();
  } catch (e) {
    if (e instanceof NestboxError) return e;
    throw e;
  }
  throw new Error('expected a throw');
}

describe('config.json → VZ device spec', () => {
  it('macOS guest: Tart’s devices, platform blobs passed through verbatim, nvram.bin as auxiliary storage', () => {
    const s = buildVzSpec(macVm(), { graphics: true }, HOST);
    expect(s.platform).toEqual({
      kind: 'mac',
      hardwareModel: parseConfig(MAC_CONFIG_JSON).hardwareModel,
      machineIdentifier: parseConfig(MAC_CONFIG_JSON).ecid,
      auxiliaryStorage: '/vms/sonoma/nvram.bin',
    });
    expect(s.cpuCount).toBe(4);
    expect(s.memorySize).toBe(8 * GiB);
    expect(s.disks).toEqual([{ path: '/vms/sonoma/disk.img', readOnly: false, caching: 'automatic', sync: 'full' }]);
    expect(s.network).toEqual({ kind: 'nat', macAddress: '7e:1c:f2:4a:78:30' });
    expect(s.display).toEqual({ kind: 'mac', width: 1024, height: 768, unit: 'pt' });
    expect(s.keyboards).toEqual(['usb', 'mac']);
    expect(s.pointingDevices).toEqual(['usb-screen', 'mac-trackpad']);
    expect(s).toMatchObject({ audio: true, entropy: true, clipboard: true, serial: undefined, saveFile: '/vms/sonoma/state.vzvmsave', startOptions: { recovery: false } });
    // Tart's --no-clipboard; and no SPICE port before macOS 13.
    expect(buildVzSpec(macVm(), { graphics: true, clipboard: false }, HOST).clipboard).toBe(false);
  });

  it('macOS guest on a macOS 13 host: USB keyboard only; px unit gives pixels at 72 ppi', () => {
    const s = buildVzSpec(macVm(), { graphics: true }, { ...HOST, macosVersion: '13.6' });
    expect(s.display).toEqual({ kind: 'mac', width: 1024, height: 768, unit: 'pt' });
    expect(s.keyboards).toEqual(['usb']);
    const px = buildVzSpec(macVm({ display: { width: 1920, height: 1080, unit: 'px' } }), { graphics: true }, HOST);
    expect(px.display).toEqual({ kind: 'mac', width: 1920, height: 1080, unit: 'px', pixelsPerInch: 72 });
  });

  it('suspendable macOS runs keep only savable devices; recovery sets the start option', () => {
    const s = buildVzSpec(macVm(), { graphics: true, suspendable: true, recovery: true }, HOST);
    expect(s).toMatchObject({ keyboards: ['mac'], pointingDevices: ['mac-trackpad'], audio: false, entropy: false, memoryBalloon: false, clipboard: false, startOptions: { recovery: true } });
    expect(err(() => buildVzSpec(macVm(), { graphics: true, suspendable: true }, { ...HOST, macosVersion: '13.5' })).message).toMatch(/macOS 14/);
    expect(err(() => buildVzSpec(macVm(), { graphics: true, recovery: true }, { ...HOST, macosVersion: '12.7' })).message).toMatch(/Recovery needs macOS 13/);
    const e = err(() => buildVzSpec(macVm(), { graphics: true, suspendable: true, sharedDirs: [{ path: '/src', readOnly: false }] }, HOST));
    expect(e.message).toMatch(/shared directories cannot be suspended/);
  });

  it('Linux guest: EFI variable store, virtio graphics in pixels, cached root disk, console log, extra disks, Rosetta', () => {
    const s = buildVzSpec(
      linuxVm(),
      { graphics: true, extraDisks: [{ path: '/isos/debian.iso', readOnly: true }], rosettaTag: 'rosetta', sharedDirs: [{ path: '/home/me/src', readOnly: true }] },
      HOST,
    );
    expect(s.platform).toEqual({ kind: 'linux', efiVariableStore: '/vms/deb/nvram.bin' });
    expect(s.display).toEqual({ kind: 'virtio', width: 1024, height: 768 });
    expect(s.disks).toEqual([
      { path: '/vms/deb/disk.img', readOnly: false, caching: 'cached', sync: 'full' },
      { path: '/isos/debian.iso', readOnly: true, caching: 'automatic', sync: 'full' },
    ]);
    expect(s.serial).toEqual({ outputPath: '/vms/deb/nestbox-serial.log' });
    expect(s.rosetta).toEqual({ tag: 'rosetta' });
    expect(s.shares).toEqual([{ tag: 'com.apple.virtio-fs.automount', kind: 'single', directory: { path: '/home/me/src', readOnly: true } }]);
    expect(s.network.macAddress).toBe('52:54:00:12:34:56');
  });

  it('refuses what the framework would refuse, with the fix', () => {
    expect(err(() => buildVzSpec(linuxVm({ arch: 'amd64' }), { graphics: false }, HOST)).code).toBe('UNSUPPORTED');
    expect(err(() => buildVzSpec(linuxVm(), { graphics: false }, { ...HOST, macosVersion: '12.6' })).message).toMatch(/macOS 13/);
    expect(err(() => buildVzSpec(linuxVm({ cpuCount: 64 }), { graphics: false }, HOST)).fix).toMatch(/--cpu 4/);
    expect(err(() => buildVzSpec(linuxVm({ memorySize: 64 * GiB }), { graphics: false }, HOST)).message).toMatch(/65536 MB of memory; this Mac has 32768 MB/);
    expect(err(() => buildVzSpec(linuxVm(), { graphics: false, rosettaTag: 'r' }, { ...HOST, rosetta: 'notInstalled' })).fix).toMatch(/softwareupdate --install-rosetta/);
    expect(err(() => buildVzSpec(macVm(), { graphics: false, rosettaTag: 'r' }, HOST)).message).toMatch(/Linux guests only/);
    expect(err(() => buildVzSpec(linuxVm(), { graphics: false, recovery: true }, HOST)).message).toMatch(/macOS guests only/);
    expect(err(() => buildVzSpec(macVm({ hardwareModel: undefined }), { graphics: false }, HOST)).code).toBe('BROKEN_VM');
    expect(err(() => buildVzSpec(linuxVm({ memorySize: 64 * MiB }), { graphics: false }, HOST)).code).toBe('INVALID_ARGUMENT');
    expect(err(() => buildVzSpec(linuxVm({ memorySize: 4 * GiB + 1 }), { graphics: false }, HOST)).fix).toMatch(/--memory 4096/);
  });

  it('groups --dir shares by tag with Tart’s naming rules', () => {
    expect(
      groupShares([
        { name: 'src', path: '/a', readOnly: false },
        { name: 'docs', path: '/b', readOnly: true },
        { path: '/c', readOnly: false, tag: 'data' },
      ]),
    ).toEqual([
      { tag: 'com.apple.virtio-fs.automount', kind: 'multiple', directories: { src: { path: '/a', readOnly: false }, docs: { path: '/b', readOnly: true } } },
      { tag: 'data', kind: 'single', directory: { path: '/c', readOnly: false } },
    ]);
    expect(err(() => groupShares([{ path: '/a', readOnly: false }, { name: 'b', path: '/b', readOnly: false }])).message).toMatch(/each needs a name/);
    expect(err(() => groupShares([{ name: 'x', path: '/a', readOnly: false }, { name: 'x', path: '/b', readOnly: false }])).message).toMatch(/used twice/);
    expect(err(() => groupShares([{ path: 'rel', readOnly: false }])).message).toMatch(/absolute/);
    expect(err(() => groupShares([{ path: '/a', readOnly: false, tag: 'x'.repeat(37) }])).message).toMatch(/1–36 bytes/);
  });
});

describe('VZVirtualMachineState mapping', () => {
  it('maps every raw state onto the backend state machine and gates operations', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map(vmStateFromVz)).toEqual([
      'stopped', 'running', 'paused', 'error', 'starting', 'running', 'paused', 'stopping', 'suspending', 'starting',
    ]);
    expect(vmStateFromVz(42)).toBe('error');
    expect(vzStateName(8)).toBe('saving');
    expect(canDo('save', 2)).toBe(true);
    expect(canDo('save', 1)).toBe(false);
    expect(canDo('start', 0)).toBe(true);
    expect(canDo('pause', 2)).toBe(false);
    expect(canDo('showWindow', 0)).toBe(false);
  });

  it('a typical framework sequence is a valid walk of the backend state machine', () => {
    const m = new VmStateMachine('stopped');
    // start → running → pausing → paused → saving → (process exits: suspended)
    for (const raw of [4, 1, 5, 2, 8]) m.to(vmStateFromVz(raw));
    m.to('suspended');
    // restore → resume → running → stopping → stopped
    for (const raw of [9, 2, 6, 1, 7, 0]) m.to(vmStateFromVz(raw));
    expect(m.state).toBe('stopped');
  });
});

describe('VZErrorDomain → NestboxError', () => {
  const vz = (code: number, message = 'The operation couldn’t be completed.') => Object.assign(new Error(message), { domain: 'VZErrorDomain', vzCode: code, code: 'VZ_ERROR' });
  it('maps the codes users meet to codes, reasons and fixes', () => {
    const limit = mapVzError(vz(VZ_ERROR.virtualMachineLimitExceeded, 'The number of VMs exceeds the system limit.'), 'c', 'start');
    expect(limit.code).toBe('BUSY');
    expect(limit.message).toBe("Cannot start c: the Mac's limit of simultaneously running VMs is reached (at most 2 macOS VMs) (The number of VMs exceeds the system limit).");
    expect(limit.details).toMatchObject({ domain: 'VZErrorDomain', code: 6 });
    expect(mapVzError(vz(VZ_ERROR.installationRequiresUpdate), 'v', 'install macOS on').fix).toMatch(/MobileDevice\.pkg/);
    expect(mapVzError(vz(VZ_ERROR.outOfDiskSpace), 'v', 'start').code).toBe('NO_SPACE');
    expect(mapVzError(vz(VZ_ERROR.invalidDiskImage), 'v', 'start').code).toBe('BROKEN_VM');
    expect(mapVzError(vz(VZ_ERROR.restore), 'v', 'restore').fix).toMatch(/nestbox stop v/);
    expect(mapVzError(vz(99999, 'Something new'), 'v', 'start')).toMatchObject({ code: 'HYPERVISOR', message: 'Cannot start v: Something new.' });
    expect(mapVzError(Object.assign(new Error('No such file'), { domain: 'NSCocoaErrorDomain', vzCode: 260 }), 'v', 'start').code).toBe('BROKEN_VM');
    expect(mapVzError(Object.assign(new Error('windows need the app'), { domain: 'nestbox', vzCode: 0, code: 'UNSUPPORTED' }), 'v', 'show the screen of').code).toBe('UNSUPPORTED');
  });
});

describe('availability', () => {
  it('is unavailable off Apple silicon with the reason, without loading the addon', () => {
    let loaded = false;
    const load = () => {
      loaded = true;
      return { error: 'x' };
    };
    expect(vzAvailability({ platform: 'linux', arch: 'amd64' }, load)).toMatchObject({ ok: false, reason: NEEDS_APPLE_SILICON });
    expect(vzAvailability({ platform: 'darwin', arch: 'amd64' }, load)).toMatchObject({ ok: false, reason: 'macOS guests need a Mac with Apple silicon' });
    expect(loaded).toBe(false);
    expect(vzAvailability({ platform: 'darwin', arch: 'arm64' }, load)).toMatchObject({ ok: false, reason: expect.stringMatching(/addon cannot be loaded \(x\)/) });
  });
});

describe('at most two macOS guests', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'nestbox-vz-limit-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const home = homePaths(root);
  const locks: PidLock[] = [];
  afterAll(() => locks.forEach((l) => l.close()));

  function makeVm(name: string, json: string, running: boolean) {
    const d = path.join(home.vms, name);
    mkdirSync(d, { recursive: true });
    writeFileSync(path.join(d, 'config.json'), json);
    writeFileSync(path.join(d, 'disk.img'), '');
    writeFileSync(path.join(d, 'nvram.bin'), '');
    if (running) {
      // An open-file-description lock is seen by F_GETLK from this same process, like another process's lock.
      const l = PidLock.open(path.join(d, 'config.json'));
      expect(l.tryLock(true)).toBe(true);
      locks.push(l);
    }
  }

  it('counts running macOS VMs (not Linux ones, not stopped ones) and refuses a third with their names', async () => {
    makeVm('mac-a', MAC_CONFIG_JSON, true);
    makeVm('mac-b', MAC_CONFIG_JSON, false);
    makeVm('linux-a', serializeConfig(linuxVm().config), true);
    makeVm('broken', '{', true);
    expect(await runningMacGuests(home)).toEqual(['mac-a']);
    await assertMacGuestSlot(home, 'mac-b'); // one running: fine

    makeVm('mac-c', MAC_CONFIG_JSON, true);
    expect(await runningMacGuests(home)).toEqual(['mac-a', 'mac-c']);
    const e = await assertMacGuestSlot(home, 'mac-b').then(
      () => null,
      (x: NestboxError) => x,
    );
    expect(e?.code).toBe('BUSY');
    expect(e?.message).toBe(
      "Cannot start mac-b: at most 2 macOS VMs can run at the same time on one Mac (Apple's licence, enforced by Virtualization.framework); running now: mac-a, mac-c.",
    );
    expect(e?.fix).toMatch(/nestbox stop mac-a/);
    // A running VM restarting itself is not counted against itself.
    await assertMacGuestSlot(home, 'mac-a').catch(() => {
      throw new Error('should not count itself');
    });
  });
});

describe('DHCP leases (tart ip --resolver dhcp rules)', () => {
  it('finds the newest unexpired lease by MAC, with unpadded octets, skipping non-Ethernet and expired ones', async () => {
    const { ipForMac, parseLeases } = await import('../../app/core/hypervisor/vz/leases');
    const now = 0x60000000;
    const text = `{
	name=debian
	ip_address=192.168.64.5
	hw_address=1,7e:1c:f2:4a:78:9
	identifier=1,7e:1c:f2:4a:78:9
	lease=0x60000100
}
{
	name=debian
	ip_address=192.168.64.7
	hw_address=1,7e:1c:f2:4a:78:09
	lease=0x60000200
}
{
	ip_address=192.168.64.9
	hw_address=ff,0:1:2:3:4:5
	lease=0x70000000
}
{
	ip_address=192.168.64.3
	hw_address=1,aa:bb:cc:dd:ee:ff
	lease=0x50000000
}`;
    expect(ipForMac(text, '7e:1c:f2:4a:78:09', now)).toBe('192.168.64.7');
    expect(ipForMac(text, 'aa:bb:cc:dd:ee:ff', now)).toBeNull();
    expect([...parseLeases(text, now).keys()]).toEqual(['7e:1c:f2:4a:78:09']);
  });
});
