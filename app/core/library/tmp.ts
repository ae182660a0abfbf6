import { randomUUID } from 'node:crypto';
import { promises as fsp, mkdirSync, statSync } from 'node:fs';
import { errnoCode } from '../errors';
import path from 'node:path';
import type { Home } from './home';
import { FileLock } from './locks';

/**
 * Scratch directories under $TART_HOME/tmp, flocked while in use (Tart's convention). A crashed or killed
 * process releases its flock, so `collectGarbage` can remove what it left; live work is never touched.
 */
export class TempDir {
  private lock: FileLock | null;

  private constructor(
    readonly path: string,
    lock: FileLock,
  ) {
    this.lock = lock;
  }

  /** Creates (or reuses, for deterministic names such as resumable pulls) tmp/<name> and locks it. */
  static async create(home: Home, name: string = randomUUID()): Promise<TempDir> {
    const dir = path.join(home.tmp, name);
    // Another process's collectGarbage may remove the dir between mkdir and flock: retry until the locked
    // directory is the one the path names.
    for (let attempt = 0; ; attempt++) {
      mkdirSync(dir, { recursive: true });
      let lock: FileLock;
      try {
        lock = new FileLock(dir);
      } catch (e) {
        if (attempt < 5 && errnoCode(e) === 'ENOENT') continue;
        throw e;
      }
      await lock.lock();
      let same = false;
      try {
        same = statSync(dir).ino === lock.inode();
      } catch {}
      if (same) return new TempDir(dir, lock);
      lock.close();
      if (attempt >= 5) throw new Error(`cannot hold temp dir ${dir}: it keeps being removed`);
    }
  }

  /** Releases the lock without deleting (e.g. after the directory was renamed into place). */
  release(): void {
    this.lock?.close();
    this.lock = null;
  }

  /** Deletes the directory (if still there) and releases the lock. */
  async dispose(): Promise<void> {
    await fsp.rm(this.path, { recursive: true, force: true });
    this.release();
  }
}

/** Removes every tmp/ entry that nobody holds a lock on. Returns the names removed. */
export async function collectGarbage(home: Home): Promise<string[]> {
  let entries: string[];
  try {
    entries = await fsp.readdir(home.tmp);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of entries) {
    const p = path.join(home.tmp, name);
    let lock: FileLock;
    try {
      lock = new FileLock(p);
    } catch {
      continue;
    }
    try {
      if (!lock.tryLock()) continue;
      await fsp.rm(p, { recursive: true, force: true });
      removed.push(name);
    } finally {
      lock.close();
    }
  }
  return removed;
}
