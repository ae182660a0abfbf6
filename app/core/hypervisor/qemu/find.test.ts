import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NestboxError } from '../../errors';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chooseAccel, findFirmware, findQemu, vdagentSuspendable, type FindEnv } from './find';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'nb-find-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function touch(p: string, mode = 0o644): void {
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, '');
  chmodSync(p, mode);
}

function fe(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = 'linux', distro = 'debian'): FindEnv {
  return { platform, env, distro };
}

function caught(fn: () => unknown): NestboxError {
  try {
    fn();
  } catch (e) {
    return e as NestboxError;
  }
  throw new Error('expected an error');
}

describe('firmware discovery', () => {
  it('finds Debian’s OVMF 4M pair, Fedora’s edk2 layout and Homebrew’s files under the roots', () => {
    const deb = tmp();
    touch(path.join(deb, 'OVMF/OVMF_CODE_4M.fd'));
    touch(path.join(deb, 'OVMF/OVMF_VARS_4M.fd'));
    touch(path.join(deb, 'AAVMF/AAVMF_CODE.fd'));
    touch(path.join(deb, 'AAVMF/AAVMF_VARS.fd'));
    expect(findFirmware('amd64', fe({ NESTBOX_FIRMWARE_DIRS: deb }))).toEqual({ code: path.join(deb, 'OVMF/OVMF_CODE_4M.fd'), vars: path.join(deb, 'OVMF/OVMF_VARS_4M.fd') });
    expect(findFirmware('arm64', fe({ NESTBOX_FIRMWARE_DIRS: deb })).code).toBe(path.join(deb, 'AAVMF/AAVMF_CODE.fd'));

    const fedora = tmp();
    touch(path.join(fedora, 'edk2/ovmf/OVMF_CODE.fd'));
    touch(path.join(fedora, 'edk2/ovmf/OVMF_VARS.fd'));
    touch(path.join(fedora, 'edk2/aarch64/QEMU_EFI-pflash.raw'));
    touch(path.join(fedora, 'edk2/aarch64/vars-template-pflash.raw'));
    expect(findFirmware('amd64', fe({ NESTBOX_FIRMWARE_DIRS: fedora })).vars).toBe(path.join(fedora, 'edk2/ovmf/OVMF_VARS.fd'));
    expect(findFirmware('arm64', fe({ NESTBOX_FIRMWARE_DIRS: fedora })).code).toBe(path.join(fedora, 'edk2/aarch64/QEMU_EFI-pflash.raw'));

    const brew = tmp();
    touch(path.join(brew, 'qemu/edk2-aarch64-code.fd'));
    touch(path.join(brew, 'qemu/edk2-arm-vars.fd'));
    expect(findFirmware('arm64', fe({ NESTBOX_FIRMWARE_DIRS: `${tmp()}:${brew}` }, 'darwin')).vars).toBe(path.join(brew, 'qemu/edk2-arm-vars.fd'));
  });

  it('a code file without its variable template does not count', () => {
    const d = tmp();
    touch(path.join(d, 'OVMF/OVMF_CODE_4M.fd'));
    expect(caught(() => findFirmware('amd64', fe({ NESTBOX_FIRMWARE_DIRS: d }))).code).toBe('MISSING_DEPENDENCY');
  });

  it('missing firmware names the package for this host', () => {
    const empty = tmp();
    const deb = caught(() => findFirmware('amd64', fe({ NESTBOX_FIRMWARE_DIRS: empty })));
    expect(deb.code).toBe('MISSING_DEPENDENCY');
    expect(deb.message).toBe('UEFI firmware for amd64 guests (OVMF) is not installed.');
    expect(deb.fix).toContain('"ovmf"');
    expect(caught(() => findFirmware('arm64', fe({ NESTBOX_FIRMWARE_DIRS: empty }))).fix).toContain('qemu-efi-aarch64');
    expect(caught(() => findFirmware('amd64', fe({ NESTBOX_FIRMWARE_DIRS: empty }, 'linux', 'fedora'))).fix).toContain('sudo dnf install edk2-ovmf');
    expect(caught(() => findFirmware('arm64', fe({ NESTBOX_FIRMWARE_DIRS: empty }, 'darwin'))).fix).toContain('brew install qemu');
  });
});

describe('QEMU discovery', () => {
  it('finds an executable qemu-system-<arch> in the given directory, and names the package when missing', () => {
    const d = tmp();
    touch(path.join(d, 'qemu-system-x86_64'), 0o755);
    touch(path.join(d, 'qemu-system-aarch64'), 0o644); // not executable
    expect(findQemu('amd64', fe({ NESTBOX_QEMU_DIR: d }))).toBe(path.join(d, 'qemu-system-x86_64'));
    const e = caught(() => findQemu('arm64', fe({ NESTBOX_QEMU_DIR: d })));
    expect(e.code).toBe('MISSING_DEPENDENCY');
    expect(e.message).toContain('qemu-system-aarch64');
    expect(e.fix).toContain('qemu-system-arm');
  });

  it('chooses emulation for another architecture and honours NESTBOX_QEMU_ACCEL', async () => {
    const fw = { code: '/x', vars: '/y' };
    const other = process.arch === 'x64' ? 'arm64' : 'amd64';
    expect(await chooseAccel(other, '/nonexistent', fw, fe({}))).toBe('tcg');
    expect(await chooseAccel('amd64', '/nonexistent', fw, fe({ NESTBOX_QEMU_ACCEL: 'tcg' }))).toBe('tcg');
    expect(await chooseAccel('arm64', '/nonexistent', fw, fe({ NESTBOX_QEMU_ACCEL: 'kvm' }))).toBe('kvm');
  });
});

describe('vdagentSuspendable (can a VM with the clipboard agent port be suspended?)', () => {
  /** A stand-in QEMU that answers QMP on stdio the way a QEMU with or without the vdagent migration blocker does. */
  function fakeQemu(blocked: string[]): string {
    const p = path.join(tmp(), 'qemu-system-x86_64');
    const reply = JSON.stringify({ return: { 'blocked-reasons': blocked } });
    writeFileSync(p, `#!/bin/sh\necho '{"QMP": {"version": {}}}'\nread a\necho '{"return": {}}'\nread b\necho '${reply}'\nread c\n`, { mode: 0o755 });
    return p;
  }

  it("QEMU 7.2 (Debian 12's) blocks it: the port stays off unless asked for", async () => {
    const version = execFileSync('qemu-system-x86_64', ['--version'], { encoding: 'utf8' });
    if (!/version 7\.2\./.test(version)) return expect(version).toMatch(/QEMU emulator version/); // another QEMU: nothing to compare with
    expect(await vdagentSuspendable('/usr/bin/qemu-system-x86_64')).toBe(false);
  });

  it('reads blocked-reasons, and caches the answer per binary', async () => {
    const cache = path.join(tmp(), 'vdagent-probe.json');
    const free = fakeQemu([]);
    expect(await vdagentSuspendable(free, cache)).toBe(true);
    expect(JSON.parse(readFileSync(cache, 'utf8'))).toMatchObject({ suspendable: true });
    expect(await vdagentSuspendable(fakeQemu(["The vdagent chardev doesn't yet support migration"]), cache)).toBe(false);
    // A QEMU that cannot start with the chardev at all (no qemu-vdagent): not suspendable, so it is never added.
    const broken = path.join(tmp(), 'qemu-broken');
    writeFileSync(broken, "#!/bin/sh\necho \"qemu: 'qemu-vdagent' is not a valid char driver name\" >&2\nexit 1\n", { mode: 0o755 });
    expect(await vdagentSuspendable(broken)).toBe(false);
  });
});
