import { promises as fsp, statfsSync } from 'node:fs';
import path from 'node:path';
import { NestboxError, errnoCode } from '../errors';
import { sizes } from '../fsutil';
import type { Home } from '../library/home';
import { parseRemoteNameOrThrow, type RemoteName } from './reference';

/**
 * The OCI cache, laid out exactly as Tart lays it out (tart-format.md §1):
 *   cache/OCIs/<host, ':' as %3A>/<namespace…>/sha256:<manifest digest>/   a pulled image (real directory)
 *   cache/OCIs/<host>/<namespace…>/<tag>  → absolute symlink to the sibling digest directory
 * Digest dirs hold config.json, disk.img, nvram.bin, manifest.json and, for by-digest pulls, `.explicitly-pulled`.
 * GC: dangling symlinks go; digest dirs nobody links to go unless explicitly pulled.
 */
export interface CachedImage {
  /** host/ns:tag or host/ns@sha256:… as Tart lists them. */
  name: string;
  kind: 'tag' | 'digest';
  /** The digest directory (symlinks resolved). */
  dir: string;
  digest: string;
  disk: { apparent: number; allocated: number };
  accessedAt: Date;
}

export const EXPLICITLY_PULLED = '.explicitly-pulled';
export const MANIFEST_FILE = 'manifest.json';
const DIGEST_DIR = /^sha256:[a-f0-9]{64}$/;

export function encodeHost(host: string): string {
  return host.replace(/%/g, '%25').replace(/:/g, '%3A');
}

export function decodeHost(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** cache/OCIs/<host>/<ns…> */
export function repositoryDir(home: Home, r: Pick<RemoteName, 'host' | 'namespace'>): string {
  return path.join(home.ocis, encodeHost(r.host), ...r.namespace.split('/'));
}

/** The directory a digest lives in. */
export function digestDir(home: Home, r: Pick<RemoteName, 'host' | 'namespace'>, digest: string): string {
  return path.join(repositoryDir(home, r), digest);
}

/** The cache entry a name addresses: the tag symlink or the digest dir. */
export function entryPath(home: Home, r: RemoteName): string {
  return path.join(repositoryDir(home, r), r.reference.kind === 'tag' ? r.reference.tag : r.reference.digest);
}

/** The digest dir a name resolves to in the cache, if it is complete (config, disk and nvram present). */
export async function resolveCached(home: Home, r: RemoteName): Promise<{ dir: string; digest: string } | null> {
  let dir: string;
  try {
    dir = await fsp.realpath(entryPath(home, r));
  } catch {
    return null;
  }
  const digest = path.basename(dir);
  if (!DIGEST_DIR.test(digest)) return null;
  for (const f of ['config.json', 'disk.img', 'nvram.bin']) {
    try {
      await fsp.stat(path.join(dir, f));
    } catch {
      return null;
    }
  }
  return { dir, digest };
}

/** Points the tag at a digest dir (absolute symlink, replaced atomically), as Tart does. */
export async function linkTag(home: Home, r: RemoteName, digest: string): Promise<void> {
  if (r.reference.kind !== 'tag') return;
  const link = entryPath(home, r);
  const target = digestDir(home, r, digest);
  const tmp = `${link}.${process.pid}.${Date.now()}.tmp-link`;
  await fsp.mkdir(path.dirname(link), { recursive: true });
  await fsp.rm(tmp, { force: true });
  await fsp.symlink(target, tmp);
  try {
    await fsp.rename(tmp, link);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    // A real directory with the tag's name (should not happen) cannot be replaced by rename.
    if (errnoCode(e) === 'EISDIR' || errnoCode(e) === 'ENOTEMPTY') {
      await fsp.rm(link, { recursive: true, force: true });
      await fsp.symlink(target, link);
    } else throw e;
  }
}

/** Tart's access-date bump: atime = now, mtime = the previous atime (quirk kept for compatibility). */
export async function touchAccess(dir: string): Promise<void> {
  try {
    const st = await fsp.stat(dir);
    await fsp.utimes(dir, new Date(), st.atime);
  } catch {}
}

interface Walked {
  /** Path in the cache (symlink or dir). */
  entry: string;
  host: string;
  namespace: string;
  kind: 'tag' | 'digest';
  ref: string;
}

async function walk(home: Home): Promise<Walked[]> {
  const out: Walked[] = [];
  let hosts: string[];
  try {
    hosts = await fsp.readdir(home.ocis);
  } catch {
    return out;
  }
  const visit = async (dir: string, host: string, ns: string[]): Promise<void> => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fsp.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isSymbolicLink()) {
        if (ns.length > 0) out.push({ entry: p, host, namespace: ns.join('/'), kind: 'tag', ref: e.name });
      } else if (e.isDirectory()) {
        if (DIGEST_DIR.test(e.name)) {
          if (ns.length > 0) out.push({ entry: p, host, namespace: ns.join('/'), kind: 'digest', ref: e.name });
        } else {
          await visit(p, host, [...ns, e.name]);
        }
      }
    }
  };
  for (const h of hosts) await visit(path.join(home.ocis, h), decodeHost(h), []);
  return out;
}

function nameOf(w: Walked): string {
  return w.kind === 'tag' ? `${w.host}/${w.namespace}:${w.ref}` : `${w.host}/${w.namespace}@${w.ref}`;
}

/** Every cached image, tags (symlinks) and digests (dirs), sorted by name — what `list --source oci` shows. */
export async function listCachedImages(home: Home): Promise<CachedImage[]> {
  const out: CachedImage[] = [];
  for (const w of await walk(home)) {
    let dir: string;
    let st: import('node:fs').Stats;
    try {
      dir = w.kind === 'tag' ? await fsp.realpath(w.entry) : w.entry;
      st = await fsp.stat(dir);
    } catch {
      continue; // dangling tag
    }
    const digest = path.basename(dir);
    if (!DIGEST_DIR.test(digest)) continue;
    out.push({ name: nameOf(w), kind: w.kind, dir, digest, disk: await sizes(path.join(dir, 'disk.img')), accessedAt: st.atime });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Removes dangling tag symlinks, then digest dirs no tag points at (unless pulled explicitly by digest). */
export async function gcCache(home: Home): Promise<void> {
  const all = await walk(home);
  const referenced = new Set<string>();
  for (const w of all.filter((x) => x.kind === 'tag')) {
    try {
      referenced.add(await fsp.realpath(w.entry));
    } catch {
      await fsp.rm(w.entry, { force: true });
    }
  }
  for (const w of all.filter((x) => x.kind === 'digest')) {
    let real: string;
    try {
      real = await fsp.realpath(w.entry);
    } catch {
      continue;
    }
    if (referenced.has(real)) continue;
    try {
      await fsp.stat(path.join(w.entry, EXPLICITLY_PULLED));
      continue;
    } catch {}
    await fsp.rm(w.entry, { recursive: true, force: true });
  }
}

/** Deletes the cache entry a remote name addresses (tag link or digest dir), then runs GC. */
export async function deleteCachedImage(home: Home, name: string): Promise<void> {
  const r = parseRemoteNameOrThrow(name);
  const p = entryPath(home, r);
  let st: import('node:fs').Stats;
  try {
    st = await fsp.lstat(p);
  } catch {
    throw new NestboxError('NOT_FOUND', `No cached image named "${name}".`, {
      fix: 'Run `nestbox list --source oci` to see the cached images.',
      details: { name },
    });
  }
  await fsp.rm(p, { recursive: st.isDirectory(), force: true });
  await gcCache(home);
}

export interface Prunable {
  /** What to print: a remote name (host/ns@sha256:…) or the IPSW file name. */
  name: string;
  path: string;
  kind: 'oci' | 'ipsw';
  accessedAt: Date;
  allocated: number;
}

/** Allocated bytes of a digest dir. Known files only: readdir would bump the dir's atime (relatime) = its LRU date. */
async function dirAllocated(dir: string): Promise<number> {
  let total = 0;
  for (const f of ['config.json', 'disk.img', 'nvram.bin', MANIFEST_FILE]) total += (await sizes(path.join(dir, f))).allocated;
  return total;
}

/** OCI digest dirs and IPSW files, the things Tart's prune and auto-prune may delete. */
export async function listPrunables(home: Home): Promise<Prunable[]> {
  const out: Prunable[] = [];
  for (const w of await walk(home)) {
    if (w.kind !== 'digest') continue;
    try {
      const st = await fsp.stat(w.entry);
      out.push({ name: nameOf(w), path: w.entry, kind: 'oci', accessedAt: st.atime, allocated: await dirAllocated(w.entry) });
    } catch {}
  }
  try {
    for (const f of await fsp.readdir(home.ipsws)) {
      if (!f.endsWith('.ipsw')) continue;
      const p = path.join(home.ipsws, f);
      try {
        const st = await fsp.stat(p);
        out.push({ name: f, path: p, kind: 'ipsw', accessedAt: st.atime, allocated: st.blocks * 512 });
      } catch {}
    }
  } catch {}
  return out;
}

async function removePrunable(p: Prunable): Promise<void> {
  await fsp.rm(p.path, { recursive: true, force: true });
}

/**
 * `prune --entries caches`: deletes OCI digest dirs and IPSW files accessed more than `olderThanDays` ago, and/or
 * keeps the most recently accessed entries that fit in `spaceBudgetBytes` and deletes the rest. GC afterwards
 * (removes the tags of deleted digests). Returns the names removed.
 */
export async function pruneCaches(home: Home, o: { olderThanDays?: number; spaceBudgetBytes?: number }): Promise<string[]> {
  const removed: string[] = [];
  let entries = await listPrunables(home);
  if (o.olderThanDays !== undefined) {
    const limit = Date.now() - o.olderThanDays * 86_400_000;
    for (const p of entries.filter((e) => e.accessedAt.getTime() <= limit)) {
      await removePrunable(p);
      removed.push(p.name);
    }
    entries = entries.filter((e) => !removed.includes(e.name));
  }
  if (o.spaceBudgetBytes !== undefined) {
    let used = 0;
    for (const p of entries.sort((a, b) => b.accessedAt.getTime() - a.accessedAt.getTime())) {
      if (used + p.allocated <= o.spaceBudgetBytes) {
        used += p.allocated;
        continue;
      }
      await removePrunable(p);
      removed.push(p.name);
    }
  }
  if (removed.length > 0) await gcCache(home);
  return removed;
}

/** Free bytes on the volume holding `dir` (for non-root users). */
export function freeSpace(dir: string): number {
  const s = statfsSync(dir);
  return Number(s.bavail) * Number(s.bsize);
}

/**
 * Tart's auto-prune: if `required` bytes do not fit in the free space of the cache volume, delete OCI/IPSW cache
 * entries oldest-access-first (skipping `keep`) until they do. Does nothing if the whole cache could not cover the
 * deficit, or when TART_NO_AUTO_PRUNE is set. Returns the names removed.
 */
export async function autoPrune(home: Home, required: number, o: { keep?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string[]> {
  const env = o.env ?? process.env;
  if (env.TART_NO_AUTO_PRUNE !== undefined) return []; // any value, even empty, disables it (as in Tart)
  await fsp.mkdir(home.cache, { recursive: true });
  const free = freeSpace(home.cache);
  if (required < free) return [];
  let deficit = required - free;
  const entries = (await listPrunables(home)).filter((p) => p.path !== o.keep);
  const reclaimable = entries.reduce((s, p) => s + p.allocated, 0);
  if (reclaimable < deficit) return [];
  const removed: string[] = [];
  for (const p of entries.sort((a, b) => a.accessedAt.getTime() - b.accessedAt.getTime())) {
    if (deficit <= 0) break;
    await removePrunable(p);
    removed.push(p.name);
    deficit -= p.allocated;
  }
  await gcCache(home);
  return removed;
}
