import { readFileSync } from 'node:fs';
import { parsePlist, stringAt } from './plist';

/** Compares dotted versions numerically ("14.10" > "14.9"); missing components count as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((x) => parseInt(x, 10) || 0);
  const pb = b.split('.').map((x) => parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

export function majorVersion(v: string): number {
  return parseInt(v.split('.')[0] ?? '', 10) || 0;
}

/**
 * Apple beta/seed builds end in a lowercase letter after a 4-digit number ("24A5264n", "25A5279m");
 * release builds do not ("23A344", "24B83", "22A8380" for hardware-specific releases).
 */
export function isBetaBuild(build: string): boolean {
  return /^\d+[A-Z]\d{4,}[a-z]$/.test(build);
}

/**
 * The oldest host macOS that installs this guest without extra packages: Virtualization.framework installs
 * macOS guests up to the host's own major version; newer ones need the matching device-support (MobileDevice)
 * package or a host update.
 */
export function minimumHostFor(productVersion: string): string {
  const m = majorVersion(productVersion);
  return m > 0 ? `${m}.0` : productVersion;
}

export interface HostInfo {
  platform: NodeJS.Platform;
  arch: string;
  /** macOS product version ("14.6.1") on a Mac, undefined elsewhere or when unknown. */
  macosVersion?: string;
}

let cachedMacos: string | undefined | null = null;

/** Reads the Mac's product version from SystemVersion.plist (an XML plist); undefined when not on macOS. */
export function hostMacosVersion(): string | undefined {
  if (cachedMacos !== null) return cachedMacos;
  cachedMacos = undefined;
  if (process.platform === 'darwin') {
    try {
      cachedMacos = stringAt(parsePlist(readFileSync('/System/Library/CoreServices/SystemVersion.plist')), 'ProductVersion');
    } catch {
      cachedMacos = undefined;
    }
  }
  return cachedMacos;
}

export function currentHost(): HostInfo {
  return { platform: process.platform, arch: process.arch, macosVersion: hostMacosVersion() };
}

/** macOS guests need Virtualization.framework on Apple silicon (tart-format.md §3: "Intel: Linux only"). */
export function canRunMacGuests(h: HostInfo): boolean {
  return h.platform === 'darwin' && h.arch === 'arm64';
}

export const MAC_GUESTS_NEED_APPLE_SILICON = 'macOS guests need a Mac with Apple silicon';
