import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { NestboxError } from '../errors';
import { writeFileAtomic } from '../fsutil';
import type { Home } from '../library/home';
import { NOOP_TASK, throwIfCancelled, type TaskContext } from '../tasks/context';
import { dictAt, isDict, parsePlist, stringAt, type PlistValue } from './plist';
import { VIRTUAL_MAC } from './restore-image';
import { compareVersions, isBetaBuild, minimumHostFor } from './version';

/**
 * The restore-image catalog: Apple's public macOS IPSW feed (an XML plist; releases for VirtualMac2,1) plus
 * any further sources (e.g. a beta feed in the same format), merged, newest first, and cached in
 * `cache/nestbox-ipsw-catalog.json` with the time it was fetched. Parsing is defensive: unknown keys are
 * ignored, entries missing a version/build/URL are skipped (and counted), a failing source does not hide the
 * others, and a failed refresh falls back to the cached copy (marked stale).
 */
export const APPLE_CATALOG_URL = 'https://mesu.apple.com/assets/macos/com_apple_macOSIPSW/com_apple_macOSIPSW.xml';
export const CATALOG_MAX_AGE_MS = 6 * 60 * 60 * 1000;
const CACHE_FILE = 'nestbox-ipsw-catalog.json';

export type Channel = 'release' | 'beta';

export interface CatalogSource {
  id: string;
  url: string;
  /** What the source publishes; individual builds are still classified by their build number. */
  channel: Channel;
}

export interface CatalogEntry {
  version: string;
  build: string;
  channel: Channel;
  url: string;
  device: string;
  /** Lowercase hex, when the source gives one (Apple's feed gives FirmwareSHA1). */
  sha1?: string;
  sha256?: string;
  /** Bytes, when known (from the source or a HEAD request). */
  size?: number;
  /** Oldest host macOS that installs this without a device-support package. */
  minimumHost: string;
  source: string;
}

export interface SourceStatus {
  id: string;
  url: string;
  ok: boolean;
  error?: string;
  entries: number;
  skipped: number;
}

export interface Catalog {
  /** ISO-8601 time the sources were fetched. */
  fetchedAt: string;
  /** True when a refresh failed and this is the older cached copy. */
  stale?: boolean;
  sources: SourceStatus[];
  entries: CatalogEntry[];
}

/** Sources from the environment: NESTBOX_IPSW_CATALOG_URL replaces Apple's feed; NESTBOX_IPSW_BETA_CATALOG_URL adds a beta feed. */
export function defaultSources(env: NodeJS.ProcessEnv = process.env): CatalogSource[] {
  const out: CatalogSource[] = [{ id: 'apple', url: env.NESTBOX_IPSW_CATALOG_URL || APPLE_CATALOG_URL, channel: 'release' }];
  if (env.NESTBOX_IPSW_BETA_CATALOG_URL) out.push({ id: 'beta', url: env.NESTBOX_IPSW_BETA_CATALOG_URL, channel: 'beta' });
  return out;
}

function hex(s: string | undefined, len: number): string | undefined {
  const h = s?.trim().toLowerCase();
  return h && new RegExp(`^[0-9a-f]{${len}}$`).test(h) ? h : undefined;
}

function positiveInt(v: PlistValue | undefined): number | undefined {
  const n = typeof v === 'bigint' ? Number(v) : typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/**
 * Apple's shape: MobileDeviceSoftwareVersionsByVersion → <n> → MobileDeviceSoftwareVersions → <device> →
 * <build> → Restore → {BuildVersion, ProductVersion, FirmwareURL, FirmwareSHA1}. Every <n> is scanned; only
 * VirtualMac2,1 is taken (that is what Virtualization.framework restores).
 */
export function parseAppleCatalog(root: PlistValue, source: CatalogSource, device = VIRTUAL_MAC): { entries: CatalogEntry[]; skipped: number } {
  const entries: CatalogEntry[] = [];
  let skipped = 0;
  const byVersion = dictAt(root, 'MobileDeviceSoftwareVersionsByVersion');
  if (!byVersion) throw new Error('no MobileDeviceSoftwareVersionsByVersion dictionary');
  for (const group of Object.values(byVersion)) {
    const builds = dictAt(dictAt(group, 'MobileDeviceSoftwareVersions'), device);
    if (!builds) continue;
    for (const [buildKey, info] of Object.entries(builds)) {
      const r = dictAt(info, 'Restore');
      const build = stringAt(r, 'BuildVersion') ?? buildKey;
      const version = stringAt(r, 'ProductVersion');
      const url = stringAt(r, 'FirmwareURL');
      if (!r || !version || !url || !/^https?:\/\//.test(url)) {
        skipped++;
        continue;
      }
      const beta = source.channel === 'beta' || isBetaBuild(build) || /beta/i.test(version);
      const e: CatalogEntry = {
        version,
        build,
        channel: beta ? 'beta' : 'release',
        url,
        device,
        minimumHost: stringAt(r, 'MinimumHostVersion') ?? minimumHostFor(version),
        source: source.id,
      };
      const s1 = hex(stringAt(r, 'FirmwareSHA1'), 40);
      if (s1) e.sha1 = s1;
      const s256 = hex(stringAt(r, 'FirmwareSHA256'), 64);
      if (s256) e.sha256 = s256;
      const size = positiveInt(isDict(r) ? (r.FirmwareSize ?? r.Size) : undefined);
      if (size) e.size = size;
      entries.push(e);
    }
  }
  return { entries, skipped };
}

/** Newest first: version, then build (betas of the same version sort after the release). */
export function sortEntries(entries: CatalogEntry[]): CatalogEntry[] {
  return [...entries].sort(
    (a, b) => compareVersions(b.version, a.version) || (a.channel === b.channel ? b.build.localeCompare(a.build) : a.channel === 'release' ? -1 : 1),
  );
}

function dedupe(entries: CatalogEntry[]): CatalogEntry[] {
  const seen = new Map<string, CatalogEntry>();
  for (const e of entries) {
    const prev = seen.get(e.build);
    if (!prev) seen.set(e.build, e);
    else seen.set(e.build, { ...e, ...prev, sha1: prev.sha1 ?? e.sha1, sha256: prev.sha256 ?? e.sha256, size: prev.size ?? e.size });
  }
  return [...seen.values()];
}

export interface FetchCatalogOptions {
  sources?: CatalogSource[];
  /** Use the cached copy when younger than this (default 6 h). 0 forces a refresh. */
  maxAgeMs?: number;
  /** HEAD every entry without a size to fill it in (slower; off by default). */
  withSizes?: boolean;
  task?: TaskContext;
  now?: () => Date;
}

function cachePath(home: Home): string {
  return path.join(home.cache, CACHE_FILE);
}

export async function readCachedCatalog(home: Home): Promise<Catalog | undefined> {
  try {
    const c = JSON.parse(await fsp.readFile(cachePath(home), 'utf8')) as Catalog;
    if (typeof c.fetchedAt !== 'string' || !Array.isArray(c.entries)) return undefined;
    return c;
  } catch {
    return undefined;
  }
}

async function fetchText(url: string, signal: AbortSignal): Promise<string> {
  const res = await fetch(url, { signal, redirect: 'follow' });
  if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
  return await res.text();
}

/** HEAD request → Content-Length (undefined when the server does not say). */
export async function headSize(url: string, signal: AbortSignal): Promise<number | undefined> {
  const res = await fetch(url, { method: 'HEAD', signal, redirect: 'follow' });
  if (!res.ok) return undefined;
  return positiveInt(res.headers.get('content-length') ?? undefined);
}

/** The catalog, from cache when fresh, else fetched from every source. */
export async function fetchCatalog(home: Home, opts: FetchCatalogOptions = {}): Promise<Catalog> {
  const task = opts.task ?? NOOP_TASK;
  const now = opts.now ?? (() => new Date());
  const sources = opts.sources ?? defaultSources();
  const maxAge = opts.maxAgeMs ?? CATALOG_MAX_AGE_MS;
  const cached = await readCachedCatalog(home);
  const sameSources = cached && cached.sources.map((s) => s.url).join('\n') === sources.map((s) => s.url).join('\n');
  if (cached && sameSources && now().getTime() - Date.parse(cached.fetchedAt) < maxAge && (!opts.withSizes || cached.entries.every((e) => e.size))) {
    return cached;
  }

  task.progress({ step: 'Fetching the macOS restore-image catalog' });
  const statuses: SourceStatus[] = [];
  let all: CatalogEntry[] = [];
  for (const s of sources) {
    throwIfCancelled(task.signal, 'Fetching the catalog');
    try {
      const { entries, skipped } = parseAppleCatalog(parsePlist(await fetchText(s.url, task.signal)), s);
      statuses.push({ id: s.id, url: s.url, ok: true, entries: entries.length, skipped });
      all = all.concat(entries);
      if (skipped > 0) task.log(`${s.id}: skipped ${skipped} catalog entries without a version, build or URL`);
    } catch (e) {
      throwIfCancelled(task.signal, 'Fetching the catalog');
      statuses.push({ id: s.id, url: s.url, ok: false, error: (e as Error).message, entries: 0, skipped: 0 });
      task.log(`${s.id}: cannot read the catalog at ${s.url} (${(e as Error).message})`);
    }
  }
  if (statuses.every((s) => !s.ok)) {
    if (cached) return { ...cached, stale: true };
    throw new NestboxError('NETWORK', `Cannot fetch the macOS restore-image catalog: ${statuses.map((s) => `${s.url}: ${s.error}`).join('; ')}.`, {
      fix: 'Check the network connection and try again, or pass a local .ipsw file or a direct URL.',
      details: { sources: statuses },
    });
  }
  let entries = sortEntries(dedupe(all));
  if (opts.withSizes) {
    const known = new Map((cached?.entries ?? []).filter((e) => e.size).map((e) => [e.url, e.size!]));
    entries = await Promise.all(
      entries.map(async (e) => {
        if (e.size) return e;
        const size = known.get(e.url) ?? (await headSize(e.url, task.signal).catch(() => undefined));
        return size ? { ...e, size } : e;
      }),
    );
  }
  const catalog: Catalog = { fetchedAt: now().toISOString(), sources: statuses, entries };
  await fsp.mkdir(home.cache, { recursive: true });
  await writeFileAtomic(cachePath(home), JSON.stringify(catalog, null, 2) + '\n');
  return catalog;
}

/** The newest entry of a channel ("latest" = newest release). */
export function latestEntry(c: Catalog, channel: Channel = 'release'): CatalogEntry | undefined {
  return sortEntries(c.entries).find((e) => e.channel === channel);
}
