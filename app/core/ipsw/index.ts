import os from 'node:os';
import path from 'node:path';
import { NestboxError } from '../errors';
import type { Home } from '../library/home';
import { NOOP_TASK, type TaskContext } from '../tasks/context';
import { fetchCatalog, latestEntry, type CatalogSource } from './catalog';
import { downloadIpsw } from './download';
import { inspectRestoreImage, type RestoreImageInfo } from './restore-image';
import { MAC_GUESTS_NEED_APPLE_SILICON, canRunMacGuests, currentHost, type HostInfo } from './version';

export * from './catalog';
export * from './download';
export * from './restore-image';
export { compareVersions, isBetaBuild, canRunMacGuests, currentHost, MAC_GUESTS_NEED_APPLE_SILICON, type HostInfo } from './version';

export type IpswSpec = { kind: 'latest' } | { kind: 'url'; url: string } | { kind: 'file'; path: string };

/** `--from-ipsw` argument: `latest`, an http(s) URL, or a local path (`~` expanded), as Tart accepts it. */
export function parseIpswSpec(arg: string): IpswSpec {
  if (arg === 'latest') return { kind: 'latest' };
  if (/^https?:\/\//i.test(arg)) return { kind: 'url', url: arg };
  return { kind: 'file', path: path.resolve(arg.replace(/^~(?=$|\/)/, os.homedir())) };
}

export interface ResolveIpswOptions {
  task?: TaskContext;
  host?: HostInfo;
  sources?: CatalogSource[];
}

export interface ResolvedIpsw {
  info: RestoreImageInfo;
  downloaded: boolean;
}

/**
 * Turns `--from-ipsw` into a validated local restore image: catalog lookup for `latest`, cached/resumable
 * download for URLs, then validation (which also runs for local files before anything else). Warnings
 * (e.g. newer than the host) are logged on the task and returned in `info.warnings`.
 */
export async function resolveIpsw(home: Home, spec: IpswSpec, opts: ResolveIpswOptions = {}): Promise<ResolvedIpsw> {
  const task = opts.task ?? NOOP_TASK;
  const host = opts.host ?? currentHost();
  let file: string;
  let downloaded = false;
  if (spec.kind === 'file') {
    file = spec.path;
  } else {
    let url: string;
    let sha1: string | undefined;
    let sha256: string | undefined;
    let label: string | undefined;
    if (spec.kind === 'latest') {
      const cat = await fetchCatalog(home, { task, sources: opts.sources });
      const e = latestEntry(cat);
      if (!e) {
        throw new NestboxError('NOT_FOUND', 'The macOS restore-image catalog lists no release for virtual Macs.', {
          fix: 'Pass a local .ipsw file or a direct URL instead of `latest`.',
        });
      }
      ({ url, sha1, sha256 } = e);
      label = `macOS ${e.version} (${e.build})`;
    } else url = spec.url;
    const d = await downloadIpsw(home, url, { task, sha1, sha256, label });
    file = d.path;
    downloaded = !d.reused;
  }
  task.progress({ step: 'Checking the restore image' });
  const info = await inspectRestoreImage(file, host);
  for (const w of info.warnings) task.log(`Warning: ${w}`);
  return { info, downloaded };
}

/** The error every non-Apple-silicon host gives for macOS guests (after the image was validated). */
export function macGuestsUnsupported(info?: RestoreImageInfo): NestboxError {
  return new NestboxError(
    'UNSUPPORTED',
    `${MAC_GUESTS_NEED_APPLE_SILICON}${info ? ` (the restore image is fine: macOS ${info.productVersion} (${info.buildVersion}))` : ''}.`,
    {
      fix: 'Create this VM on a Mac with Apple silicon (M1 or later) running macOS 12 or later, then move it here with `nestbox push`/`pull` if you only need to store it.',
      details: info ? { productVersion: info.productVersion, buildVersion: info.buildVersion, path: info.path } : undefined,
    },
  );
}

export function assertCanRunMacGuests(host: HostInfo = currentHost(), info?: RestoreImageInfo): void {
  if (!canRunMacGuests(host)) throw macGuestsUnsupported(info);
}
