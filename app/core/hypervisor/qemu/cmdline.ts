/**
 * The QEMU command line for a VM, built from its config.json and the start options. Pure: no I/O, so it is unit
 * tested directly. Devices are identical whatever `graphics` says (the display is always served on a VNC unix
 * socket), so a suspended VM restores into the same machine.
 */
import type { Arch } from '../../library/config';
import { DEFAULT_SHARE_TAG, type ExtraDisk, type SharedDir } from '../backend';
import type { Accel, Firmware } from './find';

export interface QemuLaunch {
  name: string;
  arch: Arch;
  accel: Accel;
  firmware: Firmware;
  /** The VM's own UEFI variable store (a copy of firmware.vars kept in the VM folder). */
  varsFile: string;
  disk: string;
  cpuCount: number;
  memoryBytes: number;
  macAddress: string;
  display: { width: number; height: number };
  qmpSocket: string;
  vncSocket: string;
  serialSocket: string;
  serialLog: string;
  /** Append to the serial log (restore) instead of starting it afresh (boot). */
  serialAppend: boolean;
  sshPort: number;
  /** Packet capture used to learn the guest's address (trimmed packets). */
  pcap: string;
  extraDisks: ExtraDisk[];
  sharedDirs: SharedDir[];
  /** Loopback TCP VNC display number (port 5900 + n), password set over QMP after start. */
  vncTcpDisplay?: number;
  /** Start waiting for an incoming migration (restore from a suspend file). */
  incoming: boolean;
  /** The SPICE clipboard agent port (on unless restoring a state saved without it). */
  clipboard: boolean;
  /**
   * Shared folders: virtio-fs through virtiofsd sockets (one per folder, in shareTags order; needs shared guest
   * memory) or virtio-9p served by QEMU itself. Default 9p.
   */
  virtiofsSockets?: string[];
}

/** 9p mount tags per shared folder: Tart's tag, or each folder's name when several share one tag. */
export function shareTags(dirs: SharedDir[]): { dir: SharedDir; tag: string }[] {
  const byTag = new Map<string, SharedDir[]>();
  for (const d of dirs) {
    const t = d.tag ?? DEFAULT_SHARE_TAG;
    byTag.set(t, [...(byTag.get(t) ?? []), d]);
  }
  const out: { dir: SharedDir; tag: string }[] = [];
  for (const [tag, group] of byTag) {
    if (group.length === 1) out.push({ dir: group[0]!, tag });
    else for (const d of group) out.push({ dir: d, tag: d.name ?? tag });
  }
  return out;
}

/** QEMU's -drive/-chardev option values escape ',' by doubling it. */
export function optValue(s: string): string {
  return s.replace(/,/g, ',,');
}

export function buildQemuArgs(l: QemuLaunch): string[] {
  const a: string[] = [];
  const push = (...xs: string[]) => a.push(...xs);
  const v = optValue;
  const kvmLike = l.accel === 'kvm' || l.accel === 'hvf';

  push('-name', v(l.name));
  push('-nodefaults', '-no-user-config');
  const memMiB = Math.max(128, Math.floor(l.memoryBytes / (1024 * 1024)));
  const virtiofs = l.sharedDirs.length > 0 && l.virtiofsSockets !== undefined;
  // virtio-fs needs guest memory that virtiofsd can map.
  const memBackend = virtiofs ? ',memory-backend=mem0' : '';
  if (virtiofs) push('-object', `memory-backend-memfd,id=mem0,size=${memMiB}M,share=on`);
  if (l.arch === 'amd64') {
    push('-machine', `q35${memBackend}`);
  } else {
    push('-machine', `${l.accel === 'kvm' ? 'virt,gic-version=host' : 'virt'}${memBackend}`);
  }
  push('-accel', l.accel);
  if (l.arch === 'arm64') push('-cpu', kvmLike ? 'host' : 'cortex-a57');
  else if (kvmLike) push('-cpu', 'host');
  push('-smp', String(Math.max(1, l.cpuCount)));
  push('-m', `${memMiB}M`);
  push('-rtc', 'base=utc');

  // UEFI: read-only code + the VM's own variable store.
  push('-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${v(l.firmware.code)}`);
  push('-drive', `if=pflash,format=raw,unit=1,file=${v(l.varsFile)}`);

  // Root disk: raw virtio-blk, first in the boot order.
  push('-drive', `if=none,id=disk0,format=raw,cache=writeback,discard=unmap,file=${v(l.disk)}`);
  push('-device', 'virtio-blk-pci,drive=disk0,bootindex=0');

  // Extra disks: ISOs as CD-ROMs on virtio-scsi (installers), other images as virtio-blk.
  let scsi = false;
  l.extraDisks.forEach((d, i) => {
    const id = `disk${i + 1}`;
    if (/\.iso$/i.test(d.path)) {
      if (!scsi) push('-device', 'virtio-scsi-pci,id=scsi0');
      scsi = true;
      push('-drive', `if=none,id=${id},format=raw,media=cdrom,readonly=on,file=${v(d.path)}`);
      push('-device', `scsi-cd,bus=scsi0.0,drive=${id},bootindex=${i + 1}`);
    } else {
      push('-drive', `if=none,id=${id},format=raw,cache=writeback${d.readOnly ? ',readonly=on' : ''},file=${v(d.path)}`);
      push('-device', `virtio-blk-pci,drive=${id},bootindex=${i + 1}`);
    }
  });

  // Network: user-mode NAT with the VM's MAC and SSH forwarded on loopback; trimmed capture for the guest's IP.
  push('-netdev', `user,id=net0,hostfwd=tcp:127.0.0.1:${l.sshPort}-:22`);
  push('-device', `virtio-net-pci,netdev=net0,mac=${l.macAddress},romfile=`);
  push('-object', `filter-dump,id=dump0,netdev=net0,file=${v(l.pcap)},maxlen=384`);
  push('-device', 'virtio-rng-pci');

  // Shared folders: virtio-fs (virtiofsd) or virtio-9p.
  shareTags(l.sharedDirs).forEach(({ dir, tag }, i) => {
    if (virtiofs) {
      push('-chardev', `socket,id=vfs${i},path=${v(l.virtiofsSockets![i]!)}`);
      push('-device', `vhost-user-fs-pci,chardev=vfs${i},tag=${v(tag)}`);
    } else {
      push('-virtfs', `local,id=fs${i},path=${v(dir.path)},mount_tag=${v(tag)},security_model=none${dir.readOnly ? ',readonly=on' : ''}`);
    }
  });

  // Display: VGA (amd64) / virtio-gpu (arm64) at the configured size, served over VNC on a unix socket.
  const { width, height } = l.display;
  if (l.arch === 'amd64') push('-device', `VGA,xres=${width},yres=${height}`);
  else push('-device', `virtio-gpu-pci,xres=${width},yres=${height}`);
  push('-device', 'qemu-xhci,id=usb0', '-device', 'usb-tablet,bus=usb0.0');
  if (l.arch === 'arm64') push('-device', 'usb-kbd,bus=usb0.0');
  push('-display', 'none');
  push('-vnc', `unix:${l.vncSocket}`);
  if (l.vncTcpDisplay !== undefined) push('-vnc', `127.0.0.1:${l.vncTcpDisplay},password=on,id=vnc1`);

  // Serial console: a socket for interactive use, every byte also logged to a file.
  push('-chardev', `socket,id=serial0,path=${v(l.serialSocket)},server=on,wait=off,logfile=${v(l.serialLog)},logappend=${l.serialAppend ? 'on' : 'off'}`);
  push('-serial', 'chardev:serial0');

  // Clipboard: the SPICE agent port (com.redhat.spice.0) served by QEMU's own vdagent, which joins a guest agent's
  // clipboard (spice-vdagent) to the VNC clients' cut text both ways. The pointer stays with the USB tablet.
  if (l.clipboard) {
    push('-device', 'virtio-serial-pci,id=vser0');
    push('-chardev', 'qemu-vdagent,id=vdagent0,name=vdagent,clipboard=on,mouse=off');
    push('-device', 'virtserialport,bus=vser0.0,chardev=vdagent0,name=com.redhat.spice.0');
  }

  // Control.
  push('-qmp', `unix:${l.qmpSocket},server=on,wait=off`);
  push('-monitor', 'none');
  if (l.incoming) push('-incoming', 'defer');
  return a;
}
