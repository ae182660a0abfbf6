import { mkdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NestboxError } from '../errors';

/**
 * The Tart home: `$TART_HOME` or `~/.tart` (tart-format.md §1).
 *   vms/<name>/                         local VMs
 *   cache/OCIs/<host>/<ns…>/<ref>       pulled images
 *   cache/IPSWs/sha256:<hex>.ipsw       restore images
 *   tmp/                                scratch dirs (flocked while in use; garbage-collected)
 */
export interface Home {
  readonly root: string;
  readonly vms: string;
  readonly cache: string;
  readonly ocis: string;
  readonly ipsws: string;
  readonly tmp: string;
}

export function homeRoot(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.TART_HOME;
  if (fromEnv && fromEnv.length > 0) return path.resolve(fromEnv.replace(/^~(?=$|\/)/, os.homedir()));
  return path.join(os.homedir(), '.tart');
}

export function homePaths(root: string): Home {
  const cache = path.join(root, 'cache');
  return {
    root,
    vms: path.join(root, 'vms'),
    cache,
    ocis: path.join(cache, 'OCIs'),
    ipsws: path.join(cache, 'IPSWs'),
    tmp: path.join(root, 'tmp'),
  };
}

/**
 * Resolves the home and makes sure `cache/` and `tmp/` exist, as Tart does on every start.
 * Missing components of TART_HOME are created one level at a time.
 */
export function openHome(env: NodeJS.ProcessEnv = process.env): Home {
  const root = homeRoot(env);
  const h = homePaths(root);
  try {
    mkdirSync(root, { recursive: true });
    if (!statSync(root).isDirectory()) throw new Error('not a directory');
    mkdirSync(h.cache, { recursive: true });
    mkdirSync(h.tmp, { recursive: true });
  } catch (e) {
    throw new NestboxError('INVALID_ARGUMENT', `TART_HOME is invalid: cannot use "${root}" (${(e as Error).message}).`, {
      fix: 'Point TART_HOME at a writable directory, or unset it to use ~/.tart.',
      cause: e,
    });
  }
  return h;
}

export function vmDir(home: Home, name: string): string {
  return path.join(home.vms, name);
}

/** Files inside a VM folder. Tart's three plus the extras Nestbox keeps (Tart ignores unknown files). */
export const VM_FILES = {
  config: 'config.json',
  disk: 'disk.img',
  nvram: 'nvram.bin',
  /** Virtualization.framework suspend snapshot (Tart). */
  vzState: 'state.vzvmsave',
  /** Nestbox: QEMU's UEFI variable store (Tart's nvram.bin is VZ's format and is left untouched). */
  qemuVars: 'nestbox-efivars.fd',
  /** Nestbox: QEMU suspend state (distinct from Tart's state.vzvmsave). */
  qemuState: 'nestbox-qemu.state',
  /** Nestbox: last screenshot, used as the library thumbnail. */
  thumbnail: 'nestbox-thumbnail.png',
} as const;
