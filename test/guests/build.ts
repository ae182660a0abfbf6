/**
 * Small bootable test guests built from Debian packages at test time and cached (test-infrastructure.md):
 * a raw GPT disk whose EFI system partition holds systemd-boot, a Debian cloud kernel and a busybox initramfs —
 * the same boot path as real cloud images (firmware → disk → bootloader → kernel).
 *
 * The guest's /init mounts proc/sys/devtmpfs, loads evdev + button + virtio_net, runs acpid with a power-button
 * rule that powers off, takes an address by DHCP, prints `NESTBOX-GUEST-READY uptime=… ip=…` on the serial
 * console, draws a large "NESTBOX" on tty1 (something for screenshots to see), and runs shells on the serial
 * console and on tty1 (so `cat /proc/uptime` typed into the serial socket answers).
 * The amd64 guest also carries `nestbox-clip` (clip-agent.c, built statically with the host's gcc): a minimal SPICE
 * clipboard agent, to test the clipboard both ways through QEMU's vdagent.
 *
 * Cache: $NESTBOX_TEST_CACHE or $HOME/.cache/nestbox-test/guests/<arch>-<hash of the recipe>/disk.img; .debs under
 * $HOME/.cache/nestbox-test/debs/<arch>/. Builds are serialised with a file lock (several test files may ask).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withFileLock } from '../../app/core/library/locks';
import { native } from '../../app/core/native';
import { MiB, newLinuxConfig, serializeConfig } from '../../app/core/library/config';

export type GuestArch = 'amd64' | 'arm64';

export const GUEST_BANNER = 'NESTBOX-GUEST-READY';

export interface Guest {
  /** The cached raw disk (treat as read-only; copy it into a VM folder). */
  disk: string;
  kernelVersion: string;
  /** The line prefix the guest prints on its serial console once it is up. */
  banner: string;
  /** The serial console device inside the guest. */
  console: string;
}

const RECIPE_VERSION = 5;

export function cacheRoot(): string {
  return process.env.NESTBOX_TEST_CACHE ?? path.join(os.homedir(), '.cache', 'nestbox-test');
}

const CONSOLE: Record<GuestArch, string> = { amd64: 'ttyS0', arm64: 'ttyAMA0' };
const EFI_NAME: Record<GuestArch, { stub: string; boot: string }> = {
  amd64: { stub: 'systemd-bootx64.efi', boot: 'BOOTX64.EFI' },
  arm64: { stub: 'systemd-bootaa64.efi', boot: 'BOOTAA64.EFI' },
};
/** Loaded at boot. */
const MODULES = ['evdev', 'button', 'virtio_pci', 'virtio_net', 'virtio_console'];
/** Shipped in the initramfs for tests to load (`modprobe virtiofs` for shared folders). */
const EXTRA_MODULES = ['virtiofs'];

function initScript(arch: GuestArch): string {
  const ser = `/dev/${CONSOLE[arch]}`;
  return `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /var/log /var/run /tmp /dev/pts /mnt
for m in ${MODULES.join(' ')}; do modprobe $m 2>/dev/null; done
acpid -c /etc/acpi
i=0; while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
ip link set lo up
udhcpc -i eth0 -n -q -t 5 -T 1 -s /etc/udhcpc.script >/dev/null 2>&1
IP=$(ip -4 -o addr show dev eth0 2>/dev/null | sed -n 's/.* inet \\([0-9.]*\\).*/\\1/p')
printf '\\033[2J\\033[H' >/dev/tty1
cat /etc/bigtext >/dev/tty1
echo "Nestbox test guest on tty1, ip $IP" >/dev/tty1
echo "${GUEST_BANNER} uptime=$(cut -d' ' -f1 /proc/uptime) ip=$IP" >${ser}
(while true; do setsid -c sh -c 'exec sh -i <${ser} >${ser} 2>&1'; done) &
(while true; do setsid -c sh -c 'exec sh -i </dev/tty1 >/dev/tty1 2>&1'; done) &
while true; do sleep 3600; done
`;
}

const UDHCPC_SCRIPT = `#!/bin/sh
case "$1" in
  deconfig) ip link set "$interface" up; ip addr flush dev "$interface" ;;
  bound|renew)
    ifconfig "$interface" "$ip" netmask "\${subnet:-255.255.255.0}" up
    [ -n "$router" ] && route add default gw "\${router%% *}" dev "$interface" ;;
esac
exit 0
`;

const POWER_SCRIPT = `#!/bin/sh
echo "NESTBOX-GUEST-POWEROFF" >/dev/console
sync
poweroff -f
`;

/** A big "NESTBOX" drawn with '#' so a screenshot has plenty of text pixels. */
const BIGTEXT = [
  '',
  '  #    #  ######   ####   #####  #####    ####   #    #',
  '  ##   #  #       #         #    #    #  #    #   #  # ',
  '  # #  #  #####    ####     #    #####   #    #    ##  ',
  '  #  # #  #            #    #    #    #  #    #    ##  ',
  '  #   ##  #       #    #    #    #    #  #    #   #  # ',
  '  #    #  ######   ####     #    #####    ####   #    #',
  '',
].join('\n') + '\n';

function sh(cmd: string, args: string[], cwd?: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * MiB });
}

/** apt-get download with retries (apt's lock may be held by another process for a moment). */
function aptDownload(dir: string, pkgs: string[]): void {
  let last: unknown;
  for (let i = 0; i < 10; i++) {
    try {
      sh('apt-get', ['download', '-q', ...pkgs], dir);
      return;
    } catch (e) {
      last = e;
      execFileSync('sleep', ['2']);
    }
  }
  throw new Error(`apt-get download ${pkgs.join(' ')} failed: ${(last as { stderr?: string }).stderr ?? String(last)}`);
}

function aptUpdate(): void {
  for (let i = 0; i < 10; i++) {
    try {
      sh('apt-get', ['update', '-q']);
      return;
    } catch {
      execFileSync('sleep', ['3']);
    }
  }
  sh('apt-get', ['update', '-q']);
}

/** The concrete kernel package behind the cloud meta-package (e.g. linux-image-6.1.0-57-cloud-amd64). */
function kernelPackage(arch: GuestArch): string {
  const meta = `linux-image-cloud-${arch}`;
  const out = sh('apt-cache', ['depends', arch === 'amd64' ? meta : `${meta}:arm64`]);
  const m = /Depends: (linux-image-[0-9][^\s:]*-cloud-[a-z0-9]+)/.exec(out);
  if (!m) throw new Error(`cannot resolve ${meta}: ${out}`);
  return m[1]!;
}

function findDeb(dir: string, prefix: string): string | undefined {
  return readdirSync(dir).find((f) => f.startsWith(prefix + '_') && f.endsWith('.deb'));
}

/** Downloads (once) the kernel, busybox-static and systemd-boot-efi .debs for arch. */
function ensureDebs(arch: GuestArch): { kernel: string; busybox: string; sdboot: string } {
  const dir = path.join(cacheRoot(), 'debs', arch);
  mkdirSync(dir, { recursive: true });
  const have = () => {
    const kernel = readdirSync(dir).find((f) => /^linux-image-[0-9].*-cloud-.*\.deb$/.test(f) && !f.includes('-dbg') && !f.includes('unsigned'));
    const busybox = findDeb(dir, 'busybox-static');
    const sdboot = findDeb(dir, 'systemd-boot-efi');
    return kernel && busybox && sdboot ? { kernel: path.join(dir, kernel), busybox: path.join(dir, busybox), sdboot: path.join(dir, sdboot) } : null;
  };
  const got = have();
  if (got) return got;
  if (arch === 'amd64') {
    aptDownload(dir, [kernelPackage('amd64'), 'busybox-static', 'systemd-boot-efi']);
  } else {
    const foreign = sh('dpkg', ['--print-foreign-architectures']).split('\n');
    const added = !foreign.includes('arm64');
    if (added) {
      sh('dpkg', ['--add-architecture', 'arm64']);
      aptUpdate();
    }
    try {
      aptDownload(dir, [`${kernelPackage('arm64')}:arm64`, 'busybox-static:arm64', 'systemd-boot-efi:arm64']);
    } finally {
      if (added) {
        sh('dpkg', ['--remove-architecture', 'arm64']);
        aptUpdate();
      }
    }
  }
  const after = have();
  if (!after) throw new Error(`downloading the ${arch} guest packages left ${dir} incomplete`);
  return after;
}

const CLIP_AGENT_SOURCE = path.join(__dirname, 'clip-agent.c');

function recipeHash(arch: GuestArch, debs: string[]): string {
  const h = createHash('sha256');
  h.update(`v${RECIPE_VERSION}\n${arch}\n${initScript(arch)}\n${UDHCPC_SCRIPT}\n${POWER_SCRIPT}\n${BIGTEXT}\n`);
  if (arch === 'amd64') h.update(readFileSync(CLIP_AGENT_SOURCE));
  for (const d of debs) h.update(path.basename(d) + '\n');
  return h.digest('hex').slice(0, 16);
}

/** Copies the modules needed (and their dependencies) into the initramfs tree and indexes them. */
function installModules(kroot: string, kver: string, initRoot: string): void {
  const mdir = path.join(kroot, 'lib', 'modules', kver);
  sh('busybox', ['depmod', '-b', kroot, kver]);
  const dep = new Map<string, string[]>();
  for (const line of readFileSync(path.join(mdir, 'modules.dep'), 'utf8').split('\n')) {
    const [mod, rest] = line.split(':');
    if (!mod || rest === undefined) continue;
    dep.set(mod, rest.trim().split(/\s+/).filter(Boolean));
  }
  const byName = new Map<string, string>();
  for (const k of dep.keys()) byName.set(path.basename(k).replace(/\.ko(\.[a-z]+)?$/, ''), k);
  const want = new Set<string>();
  const add = (rel: string) => {
    if (want.has(rel)) return;
    want.add(rel);
    for (const d of dep.get(rel) ?? []) add(d);
  };
  for (const m of [...MODULES, ...EXTRA_MODULES]) {
    const rel = byName.get(m);
    if (rel) add(rel); // built-in modules (e.g. virtio_pci on some kernels) are not listed
  }
  const dst = path.join(initRoot, 'lib', 'modules', kver);
  for (const rel of want) {
    mkdirSync(path.dirname(path.join(dst, rel)), { recursive: true });
    copyFileSync(path.join(mdir, rel), path.join(dst, rel));
  }
  for (const f of ['modules.order', 'modules.builtin', 'modules.builtin.modinfo']) {
    if (existsSync(path.join(mdir, f))) copyFileSync(path.join(mdir, f), path.join(dst, f));
  }
  sh('busybox', ['depmod', '-b', initRoot, kver]);
}

function buildDisk(arch: GuestArch, debs: { kernel: string; busybox: string; sdboot: string }, out: string, work: string): string {
  const x = (deb: string, name: string) => {
    const d = path.join(work, name);
    mkdirSync(d, { recursive: true });
    sh('dpkg-deb', ['-x', deb, d]);
    return d;
  };
  const kroot = x(debs.kernel, 'kernel');
  const bbroot = x(debs.busybox, 'busybox');
  const sdroot = x(debs.sdboot, 'sdboot');
  const vmlinuz = readdirSync(path.join(kroot, 'boot')).find((f) => f.startsWith('vmlinuz-'));
  if (!vmlinuz) throw new Error(`no vmlinuz in ${debs.kernel}`);
  const kver = vmlinuz.slice('vmlinuz-'.length);

  // initramfs
  const init = path.join(work, 'initramfs');
  for (const d of ['bin', 'sbin', 'etc/acpi/PWRF', 'proc', 'sys', 'dev', 'tmp', 'mnt', 'var/log', 'lib/modules', 'usr/share/udhcpc']) {
    mkdirSync(path.join(init, d), { recursive: true });
  }
  copyFileSync(path.join(bbroot, 'bin', 'busybox'), path.join(init, 'bin', 'busybox'));
  chmodSync(path.join(init, 'bin', 'busybox'), 0o755);
  writeFileSync(path.join(init, 'init'), initScript(arch), { mode: 0o755 });
  writeFileSync(path.join(init, 'etc', 'udhcpc.script'), UDHCPC_SCRIPT, { mode: 0o755 });
  writeFileSync(path.join(init, 'etc', 'acpi', 'PWRF', '00000080'), POWER_SCRIPT, { mode: 0o755 });
  writeFileSync(path.join(init, 'etc', 'bigtext'), BIGTEXT);
  writeFileSync(path.join(init, 'etc', 'passwd'), 'root:x:0:0:root:/:/bin/sh\n');
  // The clipboard agent runs on the host's architecture only (no cross compiler needed).
  if (arch === 'amd64' && process.arch === 'x64') sh('gcc', ['-static', '-Os', '-o', path.join(init, 'bin', 'nestbox-clip'), CLIP_AGENT_SOURCE]);
  installModules(kroot, kver, init);
  const initrd = path.join(work, 'initrd.img');
  execFileSync('sh', ['-c', `cd "${init}" && find . | cpio -o -H newc --quiet | gzip -1 > "${initrd}"`]);

  // EFI system partition (FAT32, 64 MiB) made with mtools — no loop mounts.
  const esp = path.join(work, 'esp.img');
  writeFileSync(esp, '');
  execFileSync('truncate', ['-s', '64M', esp]);
  sh('mformat', ['-i', esp, '-F', '-v', 'NESTBOXESP', '::']);
  sh('mmd', ['-i', esp, '::/EFI', '::/EFI/BOOT', '::/loader', '::/loader/entries']);
  const stub = path.join(sdroot, 'usr', 'lib', 'systemd', 'boot', 'efi', EFI_NAME[arch].stub);
  sh('mcopy', ['-i', esp, stub, `::/EFI/BOOT/${EFI_NAME[arch].boot}`]);
  sh('mcopy', ['-i', esp, path.join(kroot, 'boot', vmlinuz), '::/vmlinuz']);
  sh('mcopy', ['-i', esp, initrd, '::/initrd.img']);
  const loaderConf = path.join(work, 'loader.conf');
  writeFileSync(loaderConf, 'timeout 0\ndefault nestbox.conf\n');
  const entry = path.join(work, 'nestbox.conf');
  writeFileSync(entry, `title Nestbox test guest\nlinux /vmlinuz\ninitrd /initrd.img\noptions console=tty0 console=${CONSOLE[arch]} quiet loglevel=3\n`);
  sh('mcopy', ['-i', esp, loaderConf, '::/loader/loader.conf']);
  sh('mcopy', ['-i', esp, entry, '::/loader/entries/nestbox.conf']);

  // 256 MiB sparse raw disk: GPT, one EFI system partition at 1 MiB, the FAT image written into it.
  const disk = path.join(work, 'disk.img');
  writeFileSync(disk, '');
  execFileSync('truncate', ['-s', '256M', disk]);
  sh('sgdisk', ['-n', '1:2048:+64M', '-t', '1:ef00', '-c', '1:ESP', disk]);
  sh('dd', [`if=${esp}`, `of=${disk}`, 'bs=1M', 'seek=1', 'conv=notrunc,sparse', 'status=none']);
  renameSync(disk, out);
  return kver;
}

/** Builds (once, then cached) the test guest disk for arch. */
export async function ensureGuest(arch: GuestArch): Promise<Guest> {
  const root = cacheRoot();
  mkdirSync(root, { recursive: true });
  const lockFile = path.join(root, `build-${arch}.lock`);
  if (!existsSync(lockFile)) writeFileSync(lockFile, '');
  return withFileLock(lockFile, async () => {
    const debs = ensureDebs(arch);
    const key = `${arch}-${recipeHash(arch, [debs.kernel, debs.busybox, debs.sdboot])}`;
    const dir = path.join(root, 'guests', key);
    const disk = path.join(dir, 'disk.img');
    const meta = path.join(dir, 'guest.json');
    if (existsSync(disk) && existsSync(meta)) {
      const m = JSON.parse(readFileSync(meta, 'utf8')) as { kernelVersion: string };
      return { disk, kernelVersion: m.kernelVersion, banner: GUEST_BANNER, console: CONSOLE[arch] };
    }
    const work = path.join(root, 'work', `${key}-${process.pid}`);
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    mkdirSync(dir, { recursive: true });
    try {
      const kernelVersion = buildDisk(arch, debs, disk, work);
      writeFileSync(meta, JSON.stringify({ kernelVersion, arch, builtAt: new Date().toISOString() }) + '\n');
      // Older recipes of this arch are dead weight now.
      for (const d of readdirSync(path.join(root, 'guests'))) {
        if (d.startsWith(`${arch}-`) && d !== key) rmSync(path.join(root, 'guests', d), { recursive: true, force: true });
      }
      return { disk, kernelVersion, banner: GUEST_BANNER, console: CONSOLE[arch] };
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
}

/**
 * Writes a Tart-style VM folder `<home>/vms/<name>` for the cached test guest: config.json (1 CPU, 384 MiB),
 * disk.img as a sparse copy of the guest disk, an empty nvram.bin placeholder. Returns the VM folder.
 */
export async function makeGuestVm(home: string, name: string, arch: GuestArch = 'amd64', o: { cpu?: number; memoryMiB?: number } = {}): Promise<string> {
  const guest = await ensureGuest(arch);
  const dir = path.join(home, 'vms', name);
  mkdirSync(dir, { recursive: true });
  const config = newLinuxConfig({ arch, host: { cpus: os.cpus().length, memory: os.totalmem() }, cpu: o.cpu ?? 1, memory: (o.memoryMiB ?? 384) * MiB });
  config.cpuCountMin = config.cpuCount;
  config.memorySizeMin = config.memorySize;
  writeFileSync(path.join(dir, 'config.json'), serializeConfig(config));
  rmSync(path.join(dir, 'disk.img'), { force: true });
  await native().sparseCopy(guest.disk, path.join(dir, 'disk.img'));
  writeFileSync(path.join(dir, 'nvram.bin'), '');
  return dir;
}
