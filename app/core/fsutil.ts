import { randomUUID } from 'node:crypto';
import { promises as fsp, constants, lstatSync } from 'node:fs';
import path from 'node:path';
import { mapSpaceError } from './errors';

/** fsync a directory so a rename inside it is durable (no-op where directories cannot be fsynced). */
export async function fsyncDir(dir: string): Promise<void> {
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(dir, constants.O_RDONLY);
    await fh.sync();
  } catch {
    // Some platforms/filesystems refuse fsync on directories; the rename is still atomic.
  } finally {
    await fh?.close();
  }
}

/** Write to a temp sibling, fsync, rename over the target, fsync the directory. Never leaves a half file. */
export async function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${randomUUID()}.tmp`);
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(tmp, 'wx', mode);
    await fh.writeFile(data);
    await fh.sync();
    await fh.close();
    fh = undefined;
    await fsp.rename(tmp, file);
    await fsyncDir(dir);
  } catch (e) {
    await fh?.close().catch(() => {});
    await fsp.rm(tmp, { force: true }).catch(() => {});
    throw mapSpaceError(e, `write ${path.basename(file)}`, dir);
  }
}

export async function exists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** exists() without the thread pool: the entry itself (lstat), whatever a symlink points to. */
export function existsSyncNoFollow(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** Apparent size and allocated bytes (st_blocks × 512) of a file; zeros if absent. */
export async function sizes(file: string): Promise<{ apparent: number; allocated: number }> {
  try {
    const st = await fsp.stat(file);
    return { apparent: st.size, allocated: st.blocks * 512 };
  } catch {
    return { apparent: 0, allocated: 0 };
  }
}
