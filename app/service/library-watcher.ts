/**
 * Watches $TART_HOME for library changes made by anyone (this process, a `nestbox`/`tart` CLI in another process,
 * a file manager) and reports them, debounced, within a second:
 *  - vms/ and every vms/<name>/ (config edits, thumbnails, suspend state, runtime files — not the busy disk.img
 *    or logs of a running VM);
 *  - cache/OCIs/ down to the repository directories (tags and digests appearing or going away).
 * inotify/FSEvents only (fs.watch): nothing polls, so an unchanged library costs no CPU.
 */
import { watch, type FSWatcher, promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Home } from '../core/library/home';

export interface LibraryChange {
  scope: 'vms' | 'images';
  /** VM names involved (scope 'vms'); absent when unknown. */
  names?: string[];
}

export interface LibraryWatcher {
  close(): void;
  /** Resolves once the initial watches are in place. */
  ready: Promise<void>;
}

export interface WatchOptions {
  /** Quiet time before a batch of changes is reported (default 100 ms). */
  debounceMs?: number;
  /** Longest a busy stream of changes is held back (default 400 ms). */
  maxWaitMs?: number;
}

/** Files inside a VM folder whose changes are not library changes (they change all the time while it runs). */
const NOISY = /^(disk\.img|nvram\.bin|nestbox-efivars\.fd)$|\.log$|\.sock$|^\./;
const DIGEST_DIR = /^sha256:[a-f0-9]{64}$/;

export function watchLibrary(home: Home, onChange: (c: LibraryChange) => void, o: WatchOptions = {}): LibraryWatcher {
  const debounceMs = o.debounceMs ?? 100;
  const maxWaitMs = o.maxWaitMs ?? 400;
  const watchers = new Map<string, FSWatcher>();
  let closed = false;

  // ---- batching ----
  let vmNames: Set<string> | null = null;
  let vmAll = false;
  let images = false;
  let timer: NodeJS.Timeout | null = null;
  let firstAt = 0;
  const flush = () => {
    timer = null;
    firstAt = 0;
    if (closed) return;
    if (vmNames || vmAll) {
      const names = vmAll ? undefined : [...vmNames!].sort();
      vmNames = null;
      vmAll = false;
      onChange(names ? { scope: 'vms', names } : { scope: 'vms' });
    }
    if (images) {
      images = false;
      onChange({ scope: 'images' });
    }
  };
  const bump = () => {
    const now = Date.now();
    if (firstAt === 0) firstAt = now;
    if (timer) clearTimeout(timer);
    const wait = Math.max(0, Math.min(debounceMs, firstAt + maxWaitMs - now));
    timer = setTimeout(flush, wait);
  };
  const vmChanged = (name: string | null) => {
    if (name === null) vmAll = true;
    else (vmNames ??= new Set()).add(name);
    bump();
  };
  const imagesChanged = () => {
    images = true;
    bump();
  };

  // ---- watches ----
  const add = (dir: string, listener: (event: string, file: string | null) => void): boolean => {
    if (closed || watchers.has(dir)) return watchers.has(dir);
    try {
      const w = watch(dir, { persistent: false }, (event, file) => listener(event, file === null ? null : String(file)));
      w.on('error', () => drop(dir));
      watchers.set(dir, w);
      return true;
    } catch {
      return false; // gone already, or not a directory
    }
  };
  const drop = (dir: string) => {
    for (const [d, w] of watchers) {
      if (d === dir || d.startsWith(dir + path.sep)) {
        w.close();
        watchers.delete(d);
      }
    }
  };

  const watchVm = (name: string) => {
    const dir = path.join(home.vms, name);
    add(dir, (_e, file) => {
      if (file !== null && NOISY.test(file)) return;
      vmChanged(name);
    });
  };

  const watchVms = async () => {
    if (!add(home.vms, (_e, file) => onVmsEvent(file))) return;
    const entries = await fsp.readdir(home.vms, { withFileTypes: true }).catch(() => []);
    for (const d of entries) if (d.isDirectory() && !d.name.startsWith('.')) watchVm(d.name);
  };
  const onVmsEvent = (file: string | null) => {
    if (file === null) {
      vmChanged(null);
      void rescanVms();
      return;
    }
    if (file.startsWith('.')) return;
    const dir = path.join(home.vms, file);
    // Created, renamed in or out, deleted: (re)attach or drop the folder's watch, then report.
    fsp.stat(dir).then(
      (st) => {
        if (st.isDirectory()) watchVm(file);
      },
      () => drop(dir),
    );
    vmChanged(file);
  };
  const rescanVms = async () => {
    const entries = await fsp.readdir(home.vms, { withFileTypes: true }).catch(() => []);
    for (const d of entries) if (d.isDirectory() && !d.name.startsWith('.')) watchVm(d.name);
  };

  /** cache/OCIs/<host>/<ns…>/{tags → digest dirs}: watch every directory except digest directories. */
  const watchTree = async (dir: string): Promise<void> => {
    if (!add(dir, (_e, file) => onTreeEvent(dir, file))) return;
    const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
    await Promise.all(entries.filter((d) => d.isDirectory() && !DIGEST_DIR.test(d.name)).map((d) => watchTree(path.join(dir, d.name))));
  };
  const onTreeEvent = (dir: string, file: string | null) => {
    imagesChanged();
    if (file === null || DIGEST_DIR.test(file)) return;
    const child = path.join(dir, file);
    fsp.lstat(child).then(
      (st) => {
        if (st.isDirectory()) void watchTree(child);
      },
      () => drop(child),
    );
  };

  // Parents: vms/ and cache/OCIs/ may not exist yet (a fresh home); watch for them to appear.
  const watchCache = async () => {
    add(home.cache, (_e, file) => {
      if (file === null || file === path.basename(home.ocis)) void watchTree(home.ocis).then(imagesChanged);
    });
    await watchTree(home.ocis);
  };
  add(home.root, (_e, file) => {
    if (file === null || file === path.basename(home.vms)) {
      void watchVms().then(() => vmChanged(null));
    }
    if (file === null || file === path.basename(home.cache)) void watchCache();
  });

  const ready = Promise.all([watchVms(), watchCache()]).then(() => undefined);

  return {
    ready,
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      for (const w of watchers.values()) w.close();
      watchers.clear();
    },
  };
}
