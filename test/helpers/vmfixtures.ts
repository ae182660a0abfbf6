/** Fixtures for library tests: disks with scattered data, lock-holding processes, mountable scratch filesystems. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, statfsSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** Writes a Tart VM folder `dir` (created if needed): config.json (the object, as indented JSON), disk.img, nvram.bin. */
export function writeVmFolder(dir: string, f: { config: object; disk: Uint8Array; nvram: Uint8Array }): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(f.config, null, 2));
  writeFileSync(path.join(dir, 'disk.img'), f.disk);
  writeFileSync(path.join(dir, 'nvram.bin'), f.nvram);
  return dir;
}

/**
 * Makes `file` a sparse file of `apparent` bytes holding `data` bytes of random (non-zero) content in `pieces`
 * evenly spaced runs. Returns the offsets written, for checking the copy.
 */
export function writeScatteredDisk(file: string, apparent: number, data: number, pieces = 16): number[] {
  const fd = openSync(file, 'w');
  const piece = Math.floor(data / pieces);
  const chunk = Math.min(piece, 16 * MiB);
  const buf = randomBytes(chunk);
  const offsets: number[] = [];
  try {
    ftruncateSync(fd, apparent);
    const stride = Math.floor(apparent / pieces / MiB) * MiB;
    for (let i = 0; i < pieces; i++) {
      const off = i * stride + MiB;
      offsets.push(off);
      for (let done = 0; done < piece; done += chunk) {
        buf.writeUInt32LE(i * 1000 + done / chunk + 1, 0); // every chunk differs
        writeSync(fd, buf, 0, Math.min(chunk, piece - done), off + done);
      }
    }
  } finally {
    closeSync(fd);
  }
  return offsets;
}

/** Reads `len` bytes at `off`. */
export function readAt(file: string, off: number, len: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(len);
    readSync(fd, b, 0, len, off);
    return b;
  } finally {
    closeSync(fd);
  }
}

/** A second process (Python, an independent implementation) holding a POSIX fcntl write lock on `file`. */
export function holdFcntlLock(file: string): { child: ChildProcess; ready: Promise<void>; release: () => Promise<void> } {
  const child = spawn('python3', ['-c', `import fcntl,sys\nf=open(sys.argv[1],'r+')\nfcntl.lockf(f,fcntl.LOCK_EX|fcntl.LOCK_NB)\nprint('locked',flush=True)\nsys.stdin.read()`, file], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (c) => reject(new Error(`lock holder exited ${c}`)));
  });
  return {
    child,
    ready,
    release: () =>
      new Promise<void>((r) => {
        if (child.exitCode !== null) return r();
        child.once('exit', () => r());
        child.stdin!.end();
      }),
  };
}

export interface Mounted {
  dir: string;
  unmount(): void;
}

/**
 * Mounts a scratch filesystem (root only): 'tmpfs' of `sizeMiB`, or 'xfs' with reflink on a loop-mounted image.
 * Returns null when this machine does not allow it (not root, no mkfs.xfs, no loop devices, …).
 */
export function tryMount(kind: 'tmpfs' | 'xfs', sizeMiB: number): Mounted | null {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return null;
  const base = mkdtempSync(path.join(os.tmpdir(), `nestbox-${kind}-`));
  const dir = path.join(base, 'mnt');
  const img = path.join(base, 'fs.img');
  const cleanup = () => rmSync(base, { recursive: true, force: true });
  spawnSync('mkdir', ['-p', dir]);
  let r;
  if (kind === 'tmpfs') {
    r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m`, 'tmpfs', dir]);
  } else {
    const t = spawnSync('truncate', ['-s', `${sizeMiB}M`, img]);
    const mk = t.status === 0 ? spawnSync('mkfs.xfs', ['-q', '-f', '-m', 'reflink=1', img]) : t;
    r = mk.status === 0 ? spawnSync('mount', ['-o', 'loop', img, dir]) : mk;
  }
  if (r.status !== 0 || r.error) {
    cleanup();
    return null;
  }
  return {
    dir,
    unmount: () => {
      spawnSync('umount', ['-l', dir]);
      cleanup();
    },
  };
}

/** Kernel-reported free bytes of the filesystem holding `dir`. */
export function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return Number(s.bavail) * Number(s.bsize);
}
