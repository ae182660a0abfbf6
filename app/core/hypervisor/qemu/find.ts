/**
 * Finding QEMU, UEFI firmware and the accelerator on Linux (Debian/Ubuntu, Fedora, Arch) and macOS (Homebrew).
 * Missing pieces produce a MISSING_DEPENDENCY error that names the package to install on this host.
 */
import { execFile, execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { NestboxError } from '../../errors';
import type { Arch } from '../../library/config';

export interface FindEnv {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  /** Linux distribution family from /etc/os-release ('debian', 'fedora', 'arch', …) for install hints. */
  distro?: string;
}

export function defaultFindEnv(): FindEnv {
  return { platform: process.platform, env: process.env, distro: process.platform === 'linux' ? linuxDistro() : undefined };
}

function linuxDistro(): string | undefined {
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    const id = /^ID=("?)([^"\n]*)\1$/m.exec(text)?.[2];
    const like = /^ID_LIKE=("?)([^"\n]*)\1$/m.exec(text)?.[2] ?? '';
    const all = [id ?? '', ...like.split(/\s+/)];
    if (all.some((x) => x === 'debian' || x === 'ubuntu')) return 'debian';
    if (all.some((x) => x === 'fedora' || x === 'rhel' || x === 'centos')) return 'fedora';
    if (all.includes('arch')) return 'arch';
    return id;
  } catch {
    return undefined;
  }
}

export const QEMU_BINARY: Record<Arch, string> = { amd64: 'qemu-system-x86_64', arm64: 'qemu-system-aarch64' };

/** Package that provides a piece on this host. */
export function installHint(what: 'qemu' | 'firmware', arch: Arch, fe: FindEnv): string {
  if (fe.platform === 'darwin') return 'Install QEMU with Homebrew: `brew install qemu` (it includes the UEFI firmware).';
  const table: Record<string, Record<Arch, Record<'qemu' | 'firmware', string>>> = {
    debian: {
      amd64: { qemu: 'qemu-system-x86', firmware: 'ovmf' },
      arm64: { qemu: 'qemu-system-arm', firmware: 'qemu-efi-aarch64' },
    },
    fedora: {
      amd64: { qemu: 'qemu-system-x86', firmware: 'edk2-ovmf' },
      arm64: { qemu: 'qemu-system-aarch64', firmware: 'edk2-aarch64' },
    },
    arch: {
      amd64: { qemu: 'qemu-system-x86', firmware: 'edk2-ovmf' },
      arm64: { qemu: 'qemu-system-aarch64', firmware: 'edk2-aarch64' },
    },
  };
  const cmd: Record<string, string> = { debian: 'sudo apt install', fedora: 'sudo dnf install', arch: 'sudo pacman -S' };
  const family = fe.distro && table[fe.distro] ? fe.distro : 'debian';
  const pkg = table[family]![arch][what];
  return `Install the "${pkg}" package (e.g. \`${cmd[family]} ${pkg}\`).`;
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Finds qemu-system-<arch>: $NESTBOX_QEMU_DIR, then PATH, then the usual install locations. */
export function findQemu(arch: Arch, fe: FindEnv = defaultFindEnv()): string {
  const bin = QEMU_BINARY[arch];
  const dirs: string[] = [];
  if (fe.env.NESTBOX_QEMU_DIR) dirs.push(fe.env.NESTBOX_QEMU_DIR);
  else {
    dirs.push(...(fe.env.PATH ?? '').split(path.delimiter).filter(Boolean));
    dirs.push('/usr/bin', '/usr/local/bin', '/opt/homebrew/bin', '/usr/libexec');
  }
  for (const d of dirs) {
    const p = path.join(d, bin);
    if (isExecutable(p)) return p;
  }
  throw new NestboxError('MISSING_DEPENDENCY', `QEMU for ${arch} guests (${bin}) is not installed.`, {
    fix: installHint('qemu', arch, fe),
    details: { binary: bin, searched: dirs },
  });
}

export interface Firmware {
  /** Read-only code image. */
  code: string;
  /** Template for the VM's own variable store (copied into the VM folder on first run). */
  vars: string;
}

/** (code, vars) candidate pairs relative to the firmware roots, most specific first. */
const FIRMWARE_PAIRS: Record<Arch, [string, string][]> = {
  amd64: [
    ['OVMF/OVMF_CODE_4M.fd', 'OVMF/OVMF_VARS_4M.fd'], // Debian/Ubuntu
    ['OVMF/OVMF_CODE.fd', 'OVMF/OVMF_VARS.fd'], // older Debian/Ubuntu
    ['edk2/ovmf/OVMF_CODE.fd', 'edk2/ovmf/OVMF_VARS.fd'], // Fedora
    ['edk2/x64/OVMF_CODE.4m.fd', 'edk2/x64/OVMF_VARS.4m.fd'], // Arch
    ['edk2-ovmf/x64/OVMF_CODE.fd', 'edk2-ovmf/x64/OVMF_VARS.fd'], // older Arch
    ['qemu/edk2-x86_64-code.fd', 'qemu/edk2-i386-vars.fd'], // Homebrew / upstream QEMU
  ],
  arm64: [
    ['AAVMF/AAVMF_CODE.fd', 'AAVMF/AAVMF_VARS.fd'], // Debian/Ubuntu
    ['edk2/aarch64/QEMU_EFI-pflash.raw', 'edk2/aarch64/vars-template-pflash.raw'], // Fedora
    ['edk2/aarch64/QEMU_CODE.fd', 'edk2/aarch64/QEMU_VARS.fd'], // Arch
    ['qemu/edk2-aarch64-code.fd', 'qemu/edk2-arm-vars.fd'], // Homebrew / upstream QEMU
  ],
};

export function firmwareRoots(fe: FindEnv): string[] {
  if (fe.env.NESTBOX_FIRMWARE_DIRS !== undefined) return fe.env.NESTBOX_FIRMWARE_DIRS.split(path.delimiter).filter(Boolean);
  return ['/usr/share', '/usr/local/share', '/opt/homebrew/share'];
}

export function findFirmware(arch: Arch, fe: FindEnv = defaultFindEnv()): Firmware {
  const roots = firmwareRoots(fe);
  for (const root of roots) {
    for (const [code, vars] of FIRMWARE_PAIRS[arch]) {
      const c = path.join(root, code);
      const v = path.join(root, vars);
      if (existsSync(c) && existsSync(v)) return { code: c, vars: v };
    }
  }
  throw new NestboxError('MISSING_DEPENDENCY', `UEFI firmware for ${arch} guests (${arch === 'amd64' ? 'OVMF' : 'AAVMF/edk2-aarch64'}) is not installed.`, {
    fix: installHint('firmware', arch, fe),
    details: { searched: roots.flatMap((r) => FIRMWARE_PAIRS[arch].map(([c]) => path.join(r, c))) },
  });
}

export type Accel = 'kvm' | 'hvf' | 'tcg';

/** The host's CPU architecture in Tart's spelling, or null for others. */
export function hostArch(): Arch | null {
  return process.arch === 'x64' ? 'amd64' : process.arch === 'arm64' ? 'arm64' : null;
}

let kvmProbe: Promise<boolean> | undefined;

/**
 * Does KVM actually run a firmware here? /dev/kvm can exist and still fail on real-mode code (some nested
 * setups), so the first use boots OVMF for a moment and checks it is still running. The answer is cached in
 * `cacheFile` per boot of the host and QEMU binary, so later starts do not pay for the probe.
 */
export function kvmWorks(qemu: string, fw: Firmware, cacheFile?: string): Promise<boolean> {
  let key = '';
  try {
    key = `${readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()} ${qemu} ${statSync(qemu).mtimeMs}`;
    if (cacheFile) {
      const c = JSON.parse(readFileSync(cacheFile, 'utf8')) as { key: string; works: boolean };
      if (c.key === key) return Promise.resolve(c.works);
    }
  } catch {}
  kvmProbe ??= probeKvm(qemu, fw).then((works) => {
    if (cacheFile && key) {
      try {
        writeFileSync(cacheFile, JSON.stringify({ key, works }) + '\n', { mode: 0o600 });
      } catch {}
    }
    return works;
  });
  return kvmProbe;
}

const vdagentProbes = new Map<string, Promise<boolean>>();

/**
 * Can this QEMU suspend (migrate) a VM that has the clipboard agent port? QEMU 7.2's qemu-vdagent chardev blocks
 * migration for the whole life of the process; newer releases save its state. Asked of QEMU itself — a machine-less
 * QEMU with the chardev, `query-migrate` → blocked-reasons — in about 30 ms, once per binary (cached in cacheFile).
 */
export function vdagentSuspendable(qemu: string, cacheFile?: string): Promise<boolean> {
  let key = '';
  try {
    key = `${qemu} ${statSync(qemu).mtimeMs} ${statSync(qemu).size}`;
    if (cacheFile) {
      const c = JSON.parse(readFileSync(cacheFile, 'utf8')) as { key: string; suspendable: boolean };
      if (c.key === key) return Promise.resolve(c.suspendable);
    }
  } catch {}
  let probe = vdagentProbes.get(key);
  if (!probe) {
    probe = probeVdagent(qemu).then((suspendable) => {
      if (cacheFile && key) {
        try {
          writeFileSync(cacheFile, JSON.stringify({ key, suspendable }) + '\n', { mode: 0o600 });
        } catch {}
      }
      return suspendable;
    });
    vdagentProbes.set(key, probe);
  }
  return probe;
}

function probeVdagent(qemu: string): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const args = ['-machine', 'none', '-nodefaults', '-display', 'none', '-monitor', 'none', '-chardev', 'qemu-vdagent,id=probe,clipboard=on,mouse=off', '-qmp', 'stdio'];
    const child = execFile(qemu, args, { timeout: 5000 }, () => {});
    let buf = '';
    let answers = 0;
    let done = false;
    const finish = (v: boolean) => {
      if (done) return;
      done = true;
      child.kill('SIGKILL');
      resolve(v);
    };
    // A QEMU that exits at once (no qemu-vdagent in this build) closes stdin: EPIPE is an answer, not a crash.
    child.stdin?.on('error', () => finish(false));
    child.stdin?.write('{"execute":"qmp_capabilities"}\n{"execute":"query-migrate"}\n');
    child.stdout?.on('data', (d) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let msg: { return?: { 'blocked-reasons'?: string[] } };
        try {
          msg = JSON.parse(line) as typeof msg;
        } catch {
          continue;
        }
        // The first answer is qmp_capabilities', the second query-migrate's.
        if (msg.return !== undefined && ++answers === 2) finish(!(msg.return['blocked-reasons'] ?? []).some((r) => /vdagent/i.test(r)));
      }
    });
    // No answer, or a QEMU without qemu-vdagent: "not suspendable", so the port stays off unless asked for.
    child.on('exit', () => finish(false));
    child.on('error', () => finish(false));
  });
}

function probeKvm(qemu: string, fw: Firmware): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const args = ['-accel', 'kvm', '-M', 'q35', '-m', '64', '-nodefaults', '-display', 'none', '-serial', 'none', '-monitor', 'none', '-no-reboot',
      '-drive', `if=pflash,format=raw,readonly=on,file=${fw.code}`, '-drive', `if=pflash,format=raw,readonly=on,file=${fw.vars}`,
      '-qmp', 'stdio'];
    const child = execFile(qemu, args, { timeout: 5000 }, () => {});
    child.stdin?.on('error', () => {}); // QEMU gone before the probe wrote: its exit answers
    let out = '';
    let sent = false;
    const timer = setTimeout(() => {
      sent = true;
      child.stdin?.write('{"execute":"qmp_capabilities"}\n{"execute":"query-status"}\n');
    }, 1200);
    child.stdout?.on('data', (d) => {
      out += d;
      if (sent && /"status": "(running|internal-error|guest-panicked|shutdown)"/.test(out)) {
        const ok = /"status": "running"/.test(out);
        child.kill('SIGKILL');
        resolve(ok);
      }
    });
    child.on('exit', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

/**
 * Accelerator: $NESTBOX_QEMU_ACCEL if set; KVM when the guest matches the host arch, /dev/kvm is usable and
 * works; HVF on macOS for same-arch guests; else TCG (emulation).
 */
export async function chooseAccel(arch: Arch, qemu: string, fw: Firmware, fe: FindEnv = defaultFindEnv(), probeCache?: string): Promise<Accel> {
  const forced = fe.env.NESTBOX_QEMU_ACCEL;
  if (forced === 'kvm' || forced === 'hvf' || forced === 'tcg') return forced;
  if (arch !== hostArch()) return 'tcg';
  if (fe.platform === 'darwin') return 'hvf';
  if (fe.platform === 'linux') {
    try {
      accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    } catch {
      return 'tcg';
    }
    if (arch === 'amd64') return (await kvmWorks(qemu, fw, probeCache)) ? 'kvm' : 'tcg';
    return 'kvm';
  }
  return 'tcg';
}

export interface Virtiofsd {
  path: string;
  /** 'rust': the standalone virtiofsd (unprivileged with --sandbox none, --readonly); 'c': QEMU's old one (root only). */
  flavour: 'rust' | 'c';
}

/** Finds a virtiofsd that can serve these shares as this user (null: use virtio-9p instead). */
export function findVirtiofsd(needReadOnly: boolean, fe: FindEnv = defaultFindEnv()): Virtiofsd | null {
  if (fe.platform !== 'linux' || fe.env.NESTBOX_NO_VIRTIOFS) return null;
  const candidates = [
    ...(fe.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((d) => path.join(d, 'virtiofsd')),
    '/usr/libexec/virtiofsd',
    '/usr/lib/virtiofsd',
    '/usr/lib/qemu/virtiofsd',
  ];
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  for (const p of candidates) {
    if (!isExecutable(p)) continue;
    let help: string;
    try {
      help = execFileSync(p, ['--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 3000 });
    } catch (e) {
      help = String((e as { stdout?: string }).stdout ?? '');
    }
    if (help.includes('--shared-dir')) return { path: p, flavour: 'rust' };
    if (help.includes('-o source=') && root && !needReadOnly) return { path: p, flavour: 'c' };
  }
  return null;
}

export function virtiofsdArgs(v: Virtiofsd, socket: string, dir: string, readOnly: boolean): string[] {
  if (v.flavour === 'rust') {
    const root = typeof process.getuid === 'function' && process.getuid() === 0;
    return [`--socket-path=${socket}`, `--shared-dir=${dir}`, '--cache=auto', `--sandbox=${root ? 'namespace' : 'none'}`, ...(readOnly ? ['--readonly'] : [])];
  }
  return [`--socket-path=${socket}`, '-o', `source=${dir}`, '-o', 'cache=auto'];
}
