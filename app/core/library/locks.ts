import { closeSync, constants, openSync } from 'node:fs';
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
    return native().fcntlLock(this.descriptor, 'write', ofd);
  }

  unlock(ofd = false): void {
    native().fcntlLock(this.descriptor, 'unlock', ofd);
  }

  /** Pid of the process holding a lock (-1 for an OFD lock), 0 when nobody else does. */
  holderPid(): number {
    return native().fcntlGetLockPid(this.descriptor);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/**
 * Probes whether a VM is running: 0 when not, else the pid holding its PIDLock (-1 when the holder is an OFD
 * lock whose pid is unknown). Never call this from the process that holds the lock (closing drops it).
 */
export function runningPid(vmDirectory: string): number {
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
