import { describe, expect, it } from 'vitest';
import { buildQemuArgs, shareTags, type QemuLaunch } from './cmdline';

function launch(o: Partial<QemuLaunch> = {}): QemuLaunch {
  return {
    name: 'vm',
    arch: 'amd64',
    accel: 'tcg',
    firmware: { code: '/fw/CODE.fd', vars: '/fw/VARS.fd' },
    varsFile: '/vms/vm/nestbox-efivars.fd',
    disk: '/vms/vm/disk.img',
    cpuCount: 2,
    memoryBytes: 512 * 1024 * 1024,
    macAddress: '7e:1c:f2:4a:78:30',
    display: { width: 1024, height: 768 },
    qmpSocket: '/run/x/qmp.sock',
    vncSocket: '/run/x/vnc.sock',
    serialSocket: '/run/x/serial.sock',
    serialLog: '/vms/vm/nestbox-serial.log',
    serialAppend: false,
    sshPort: 40022,
    pcap: '/run/x/net.pcap',
    extraDisks: [],
    sharedDirs: [],
    incoming: false,
    clipboard: true,
    ...o,
  };
}

/** The value following each occurrence of a flag. */
function values(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1]!] : []));
}

describe('buildQemuArgs', () => {
  it('amd64: q35, UEFI with the VM’s own variable store, raw virtio disk, NAT with MAC and SSH forward, VNC/serial/QMP sockets', () => {
    const a = buildQemuArgs(launch());
    expect(values(a, '-machine')).toEqual(['q35']);
    expect(values(a, '-accel')).toEqual(['tcg']);
    expect(values(a, '-cpu')).toEqual([]);
    expect(values(a, '-smp')).toEqual(['2']);
    expect(values(a, '-m')).toEqual(['512M']);
    expect(values(a, '-drive')).toEqual([
      'if=pflash,format=raw,unit=0,readonly=on,file=/fw/CODE.fd',
      'if=pflash,format=raw,unit=1,file=/vms/vm/nestbox-efivars.fd',
      'if=none,id=disk0,format=raw,cache=writeback,discard=unmap,file=/vms/vm/disk.img',
    ]);
    expect(values(a, '-device')).toContain('virtio-blk-pci,drive=disk0,bootindex=0');
    expect(values(a, '-netdev')).toEqual(['user,id=net0,hostfwd=tcp:127.0.0.1:40022-:22']);
    expect(values(a, '-device')).toContain('virtio-net-pci,netdev=net0,mac=7e:1c:f2:4a:78:30,romfile=');
    expect(values(a, '-device')).toContain('virtio-rng-pci');
    expect(values(a, '-device')).toContain('VGA,xres=1024,yres=768');
    expect(values(a, '-vnc')).toEqual(['unix:/run/x/vnc.sock']);
    expect(values(a, '-display')).toEqual(['none']);
    expect(values(a, '-chardev')).toEqual([
      'socket,id=serial0,path=/run/x/serial.sock,server=on,wait=off,logfile=/vms/vm/nestbox-serial.log,logappend=off',
      'qemu-vdagent,id=vdagent0,name=vdagent,clipboard=on,mouse=off',
    ]);
    // The clipboard agent's port, where spice-vdagent in the guest looks for it.
    expect(values(a, '-device')).toContain('virtserialport,bus=vser0.0,chardev=vdagent0,name=com.redhat.spice.0');
    expect(values(a, '-qmp')).toEqual(['unix:/run/x/qmp.sock,server=on,wait=off']);
    expect(a).not.toContain('-incoming');
    expect(a).toContain('-nodefaults');
  });

  it('arm64: virt with cortex-a57 under emulation, host CPU with KVM, virtio-gpu and a USB keyboard', () => {
    const tcg = buildQemuArgs(launch({ arch: 'arm64' }));
    expect(values(tcg, '-machine')).toEqual(['virt']);
    expect(values(tcg, '-cpu')).toEqual(['cortex-a57']);
    expect(values(tcg, '-device')).toContain('virtio-gpu-pci,xres=1024,yres=768');
    expect(values(tcg, '-device')).toContain('usb-kbd,bus=usb0.0');
    const kvm = buildQemuArgs(launch({ arch: 'arm64', accel: 'kvm' }));
    expect(values(kvm, '-cpu')).toEqual(['host']);
    expect(values(kvm, '-machine')).toEqual(['virt,gic-version=host']);
    expect(values(buildQemuArgs(launch({ accel: 'hvf' })), '-cpu')).toEqual(['host']);
  });

  it('extra disks: ISOs become CD-ROMs on virtio-scsi, images virtio-blk (read-only when asked); commas are escaped', () => {
    const a = buildQemuArgs(launch({ extraDisks: [{ path: '/iso/debian,12.iso', readOnly: true }, { path: '/d/data.img', readOnly: true }] }));
    const drives = values(a, '-drive');
    expect(drives).toContain('if=none,id=disk1,format=raw,media=cdrom,readonly=on,file=/iso/debian,,12.iso');
    expect(drives).toContain('if=none,id=disk2,format=raw,cache=writeback,readonly=on,file=/d/data.img');
    expect(values(a, '-device')).toContain('virtio-scsi-pci,id=scsi0');
    expect(values(a, '-device')).toContain('scsi-cd,bus=scsi0.0,drive=disk1,bootindex=1');
    expect(values(a, '-device')).toContain('virtio-blk-pci,drive=disk2,bootindex=2');
  });

  it('shared folders use Tart’s default tag, or each folder’s name when several share a tag', () => {
    expect(shareTags([{ path: '/a', readOnly: false }]).map((x) => x.tag)).toEqual(['com.apple.virtio-fs.automount']);
    expect(shareTags([{ name: 'src', path: '/a', readOnly: false }, { name: 'data', path: '/b', readOnly: true }]).map((x) => x.tag)).toEqual(['src', 'data']);
    const a = buildQemuArgs(launch({ sharedDirs: [{ path: '/share', readOnly: true, tag: 'mine' }] }));
    expect(values(a, '-virtfs')).toEqual(['local,id=fs0,path=/share,mount_tag=mine,security_model=none,readonly=on']);
  });

  it('virtio-fs: shared guest memory and one vhost-user-fs device per folder', () => {
    const a = buildQemuArgs(launch({ sharedDirs: [{ path: '/share', readOnly: false }], virtiofsSockets: ['/run/x/vfs0.sock'] }));
    expect(values(a, '-object')).toContain('memory-backend-memfd,id=mem0,size=512M,share=on');
    expect(values(a, '-machine')).toEqual(['q35,memory-backend=mem0']);
    expect(values(a, '-chardev')).toContain('socket,id=vfs0,path=/run/x/vfs0.sock');
    expect(values(a, '-device')).toContain('vhost-user-fs-pci,chardev=vfs0,tag=com.apple.virtio-fs.automount');
    expect(a).not.toContain('-virtfs');
  });

  it('restore waits for the saved state and appends to the serial log', () => {
    const a = buildQemuArgs(launch({ incoming: true, serialAppend: true }));
    expect(values(a, '-incoming')).toEqual(['defer']);
    expect(values(a, '-chardev')[0]).toContain('logappend=on');
  });

  it('a state saved without the clipboard port restores into a machine without it', () => {
    const a = buildQemuArgs(launch({ incoming: true, clipboard: false }));
    expect(a.join(' ')).not.toMatch(/vdagent|virtio-serial|com\.redhat\.spice/);
  });

  it('the device set does not depend on graphics (a suspended VM restores into the same machine)', () => {
    // StartOptions.graphics is not an input of the command line at all; --vnc only adds a second VNC server.
    const a = buildQemuArgs(launch());
    const b = buildQemuArgs(launch({ vncTcpDisplay: 7 }));
    expect(values(b, '-vnc')).toEqual(['unix:/run/x/vnc.sock', '127.0.0.1:7,password=on,id=vnc1']);
    expect(values(a, '-device')).toEqual(values(b, '-device'));
  });
});
