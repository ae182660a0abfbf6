import { closeSync, constants, fstatSync, openSync, promises as fsp, readFileSync, readSync } from 'node:fs';
import path from 'node:path';
import { NestboxError, errnoCode } from '../errors';
import { native } from '../native';

/**
 * Tart-compatible locks (tart-format.md §1):
 *  - PIDLock: POSIX fcntl write lock on a VM's config.json, held for the VM's lifetime. "Running" means some
 *    process holds it (F_GETLK reports a pid).
 *  - FileLock: BSD flock on a file or directory (the $TART_HOME dir for clone/import, temp dirs, cache hosts).
 *
 * fcntl locks belong to the process and are dropped when the process closes ANY descriptor of the file. A
 * process that holds a PIDLock must therefore never open that config.json again (read it before locking).
 */
/**
 * PIDLocks this process holds, by config.json path. Probing one of them must not open the file again: closing that
 * descriptor would silently drop a POSIX lock (OFD locks survive, but macOS has none).
 */
const heldHere = new Map<string, PidLock>();

export class PidLock {
  private fd: number | null;

  private constructor(
    readonly file: string,
    fd: number,
  ) {
    this.fd = fd;
  }

  static open(file: string): PidLock {
    try {
      return new PidLock(file, openSync(file, constants.O_RDWR));
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') throw new NestboxError('NOT_FOUND', `${file} does not exist.`, { cause: e });
      throw e;
    }
  }

  get descriptor(): number {
    if (this.fd === null) throw new Error('PidLock is closed');
    return this.fd;
  }

  /** Non-blocking write lock. `ofd` = Linux open-file-description lock (inherited by children that keep the fd). */
  tryLock(ofd = false): boolean {
    const ok = native().fcntlLock(this.descriptor, 'write', ofd);
    if (ok) heldHere.set(path.resolve(this.file), this);
    return ok;
  }

  unlock(ofd = false): void {
    native().fcntlLock(this.descriptor, 'unlock', ofd);
    this.forget();
  }

  /** Pid of the process holding a lock (-1 for an OFD lock), 0 when nobody else does. */
  holderPid(): number {
    return native().fcntlGetLockPid(this.descriptor);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    this.forget();
  }

  private forget(): void {
    const key = path.resolve(this.file);
    if (heldHere.get(key) === this) heldHere.delete(key);
  }
}

/**
 * Probes whether a VM is running: 0 when not, else the pid holding its PIDLock (-1 when the holder is an OFD
 * lock whose pid is unknown). Safe in the process that holds the lock through a PidLock (it answers process.pid).
 */
export function runningPid(vmDirectory: string): number {
  // Held by this very process: answer without opening the file (closing it would drop a POSIX lock).
  if (heldHere.has(path.resolve(vmDirectory, 'config.json'))) return process.pid;
  let lock: PidLock;
  try {
    lock = PidLock.open(path.join(vmDirectory, 'config.json'));
  } catch (e) {
    if (e instanceof NestboxError && e.code === 'NOT_FOUND') return 0;
    if (errnoCode(e) === 'EACCES' || errnoCode(e) === 'EROFS') return 0;
    throw e;
  }
  try {
    return lock.holderPid();
  } finally {
    lock.close();
  }
}

/**
 * Reads a file (config.json) without dropping a POSIX PIDLock this process holds on it: through the lock's own
 * descriptor when held here, else normally. Use it for every read of a config.json that may belong to a VM this
 * process runs.
 */
export async function readFileKeepingLocks(file: string): Promise<string> {
  const held = heldHere.get(path.resolve(file));
  if (!held) return fsp.readFile(file, 'utf8');
  return readHeld(held);
}

/** readFileKeepingLocks without the thread pool (the library listing reads hundreds of small files). */
export function readFileKeepingLocksSync(file: string): string {
  const held = heldHere.get(path.resolve(file));
  return held ? readHeld(held) : readFileSync(file, 'utf8');
}

function readHeld(held: PidLock): string {
  const fd = held.descriptor;
  const buf = Buffer.alloc(fstatSync(fd).size);
  let off = 0;
  while (off < buf.length) {
    const n = readSync(fd, buf, off, buf.length - off, off);
    if (n === 0) break;
    off += n;
  }
  return buf.subarray(0, off).toString('utf8');
}

/** BSD flock on a file or directory, held through an open read-only descriptor. */
export class FileLock {
  private fd: number | null;

  constructor(readonly file: string) {
    this.fd = openSync(file, constants.O_RDONLY);
  }

  tryLock(): boolean {
    return native().flock(this.descr(), 'ex');
  }

  async lock(): Promise<void> {
    if (native().flock(this.descr(), 'ex')) return;
    await native().flockWait(this.descr(), 'ex');
  }

  unlock(): void {
    native().flock(this.descr(), 'un');
  }

  /** Inode number of the locked file (to check that the path still names it). */
  inode(): number {
    return fstatSync(this.descr()).ino;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private descr(): number {
    if (this.fd === null) throw new Error('FileLock is closed');
    return this.fd;
  }
}

/** Runs fn while holding an exclusive flock on `file` (waiting for it), then releases. */
export async function withFileLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const l = new FileLock(file);
  try {
    await l.lock();
    return await fn();
  } finally {
    l.close(); // closing the descriptor releases the flock
  }
}
