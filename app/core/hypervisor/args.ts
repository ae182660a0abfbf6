/** Tart's `--disk` and `--dir` argument syntax (tart-format.md §3), shared by the CLI and the service. */
import os from 'node:os';
import path from 'node:path';
import { NestboxError } from '../errors';
import { DEFAULT_SHARE_TAG, type ExtraDisk, type SharedDir } from './backend';

function expand(p: string): string {
  return path.resolve(p.replace(/^~(?=$|\/)/, os.homedir()));
}

const DISK_OPT = /^(ro|sync=(none|fsync|full)|caching=(automatic|cached|uncached))$/;

/** `path[:ro,sync=…,caching=…]` — sync/caching are accepted for Tart compatibility and left to QEMU's defaults. */
export function parseDiskArg(arg: string): ExtraDisk {
  if (/^nbds?(\+unix)?:\/\//.test(arg)) {
    throw new NestboxError('UNSUPPORTED', `Network block devices (${arg}) are not supported by Nestbox yet.`, { fix: 'Attach a local disk image file instead.' });
  }
  let p = arg;
  let readOnly = false;
  const i = arg.lastIndexOf(':');
  if (i > 0) {
    const opts = arg.slice(i + 1).split(',');
    if (opts.length > 0 && opts.every((o) => DISK_OPT.test(o))) {
      p = arg.slice(0, i);
      readOnly = opts.includes('ro');
    }
  }
  if (!p) throw new NestboxError('INVALID_ARGUMENT', `--disk "${arg}" names no file.`, { fix: 'Use --disk PATH[:ro].' });
  return { path: expand(p), readOnly };
}

const DIR_OPT = /^(ro|tag=[^,]+)$/;

/** `[name:]path[:ro,tag=TAG]`; the default tag is Tart's `com.apple.virtio-fs.automount`. */
export function parseDirArg(arg: string): SharedDir {
  let rest = arg;
  let readOnly = false;
  let tag: string | undefined;
  const last = rest.lastIndexOf(':');
  if (last > 0) {
    const opts = rest.slice(last + 1).split(',');
    if (opts.every((o) => DIR_OPT.test(o))) {
      rest = rest.slice(0, last);
      for (const o of opts) {
        if (o === 'ro') readOnly = true;
        else tag = o.slice('tag='.length);
      }
    }
  }
  let name: string | undefined;
  const first = rest.indexOf(':');
  if (first > 0 && !rest.startsWith('/') && !rest.startsWith('~') && !rest.startsWith('.')) {
    name = rest.slice(0, first);
    rest = rest.slice(first + 1);
  }
  if (!rest) throw new NestboxError('INVALID_ARGUMENT', `--dir "${arg}" names no folder.`, { fix: 'Use --dir [NAME:]PATH[:ro,tag=TAG].' });
  return { ...(name ? { name } : {}), path: expand(rest), readOnly, ...(tag ? { tag } : {}) };
}

/** Tart's rule: several folders on one tag must all be named (they appear as sub-folders). */
export function checkSharedDirs(dirs: SharedDir[]): void {
  const byTag = new Map<string, SharedDir[]>();
  for (const d of dirs) {
    const t = d.tag ?? DEFAULT_SHARE_TAG;
    byTag.set(t, [...(byTag.get(t) ?? []), d]);
  }
  for (const [tag, group] of byTag) {
    if (group.length > 1 && group.some((d) => !d.name)) {
      throw new NestboxError('INVALID_ARGUMENT', `Several --dir folders share the tag "${tag}", so each needs a name.`, {
        fix: 'Name them: --dir src:~/src --dir data:~/data.',
      });
    }
  }
}
