import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { NestboxError, errnoCode } from '../errors';
import { arrayAt, dictAt, isDict, parsePlist, stringAt, type PlistValue } from './plist';
import { compareVersions, majorVersion, minimumHostFor, isBetaBuild, type HostInfo } from './version';
import { ZipError, ZipReader } from './zip';

/** The device type Virtualization.framework presents to macOS guests. */
export const VIRTUAL_MAC = 'VirtualMac2,1';
/** BuildManifest DeviceClass of the virtual Mac (board "vma2"). */
const VIRTUAL_MAC_DEVICE_CLASS = 'vma2macosap';

export interface RestoreImageInfo {
  path: string;
  /** Apparent size in bytes. */
  size: number;
  productVersion: string;
  buildVersion: string;
  beta: boolean;
  /** Every product type the image restores (Macs and, for usable images, VirtualMac2,1). */
  supportedProductTypes: string[];
  /** The oldest host macOS that installs it without a device-support package. */
  minimumHost: string;
  /** Things the user should know before installing (e.g. image newer than the host). */
  warnings: string[];
}

const FIX_GET_IMAGE =
  'Use a macOS restore image for Apple silicon (UniversalMac_<version>_<build>_Restore.ipsw), e.g. `nestbox create NAME --from-ipsw latest`.';

function notAnImage(file: string, reason: string, details: Record<string, unknown> = {}, cause?: unknown): NestboxError {
  return new NestboxError('INVALID_ARGUMENT', `${path.basename(file)} is not a usable macOS restore image: ${reason}.`, {
    fix: FIX_GET_IMAGE,
    details: { path: file, ...details },
    cause,
  });
}

const MAC_PRODUCT = /^(VirtualMac|Mac|MacBook|MacBookAir|MacBookPro|Macmini|MacPro|iMac|iMacPro)\d+,\d+$/;

function describeNonMac(types: string[]): string {
  const t = types[0] ?? '';
  if (/^(iPhone|iPod)/.test(t)) return 'iOS';
  if (/^iPad/.test(t)) return 'iPadOS';
  if (/^Watch/.test(t)) return 'watchOS';
  if (/^AppleTV/.test(t)) return 'tvOS';
  if (/^AudioAccessory/.test(t)) return 'audioOS';
  if (/^RealityDevice/.test(t)) return 'visionOS';
  return 'non-macOS';
}

function strings(v: PlistValue[] | undefined): string[] {
  return (v ?? []).filter((x): x is string => typeof x === 'string');
}

/**
 * Validates a local IPSW before anything else uses it: it must be a zip holding BuildManifest.plist (and
 * usually Restore.plist) for macOS with VirtualMac2,1 among its devices. Reads a few kilobytes, never the
 * whole image. `host` (optional) adds the "newer than this Mac" warning.
 */
export async function inspectRestoreImage(file: string, host?: HostInfo): Promise<RestoreImageInfo> {
  let st;
  try {
    st = await fsp.stat(file);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') {
      throw new NestboxError('NOT_FOUND', `The restore image ${file} does not exist.`, {
        fix: 'Check the path, or pass a URL or `latest` to download one.',
        details: { path: file },
      });
    }
    throw e;
  }
  if (!st.isFile()) throw notAnImage(file, 'it is not a regular file');

  let zip: ZipReader;
  try {
    zip = await ZipReader.open(file);
  } catch (e) {
    if (e instanceof ZipError) {
      throw notAnImage(file, `it is not a zip archive, or it is incomplete (${e.message})`, {}, e);
    }
    throw e;
  }
  let manifest: PlistValue;
  let restore: PlistValue | undefined;
  try {
    const m = zip.find('BuildManifest.plist');
    if (!m) throw notAnImage(file, 'the archive has no BuildManifest.plist');
    try {
      manifest = parsePlist(await zip.read(m, 32 * 1024 * 1024));
    } catch (e) {
      throw notAnImage(file, `its BuildManifest.plist cannot be read (${(e as Error).message})`, {}, e);
    }
    const r = zip.find('Restore.plist');
    if (r) {
      try {
        restore = parsePlist(await zip.read(r, 16 * 1024 * 1024));
      } catch {
        restore = undefined; // optional: BuildManifest.plist is authoritative
      }
    }
  } finally {
    await zip.close();
  }
  if (!isDict(manifest)) throw notAnImage(file, 'its BuildManifest.plist is not a dictionary');

  const productVersion = stringAt(manifest, 'ProductVersion') ?? stringAt(restore, 'ProductVersion');
  const buildVersion = stringAt(manifest, 'ProductBuildVersion') ?? stringAt(restore, 'ProductBuildVersion');
  if (!productVersion || !buildVersion) throw notAnImage(file, 'its BuildManifest.plist names no ProductVersion/ProductBuildVersion');

  const types = [...new Set([...strings(arrayAt(manifest, 'SupportedProductTypes')), ...strings(arrayAt(restore, 'SupportedProductTypes'))])];
  const identities = arrayAt(manifest, 'BuildIdentities') ?? [];
  const deviceClasses = identities.map((b) => stringAt(dictAt(b, 'Info'), 'DeviceClass')).filter((x): x is string => !!x);
  const isMac = types.some((t) => MAC_PRODUCT.test(t)) || deviceClasses.some((c) => c.endsWith('macosap'));
  const details = { productVersion, buildVersion, supportedProductTypes: types };
  if (!isMac) {
    const kind = describeNonMac(types);
    throw notAnImage(file, `it holds ${kind} ${productVersion} (${buildVersion}) for ${types.slice(0, 3).join(', ') || 'unknown devices'}, not macOS`, details);
  }
  const virtual = types.includes(VIRTUAL_MAC) || deviceClasses.includes(VIRTUAL_MAC_DEVICE_CLASS);
  if (!virtual) {
    throw notAnImage(
      file,
      `macOS ${productVersion} (${buildVersion}) in this image does not support virtual machines (${VIRTUAL_MAC} is not among its devices; macOS 12 or later is needed)`,
      details,
    );
  }

  const minimumHost = minimumHostFor(productVersion);
  const warnings: string[] = [];
  if (host?.macosVersion && compareVersions(productVersion, host.macosVersion) > 0) {
    warnings.push(newerThanHostWarning(productVersion, buildVersion, host.macosVersion));
  }
  return {
    path: file,
    size: st.size,
    productVersion,
    buildVersion,
    beta: isBetaBuild(buildVersion),
    supportedProductTypes: types,
    minimumHost,
    warnings,
  };
}

/**
 * The device-support trap peers' users fall into: Virtualization.framework installs macOS guests through the
 * host's MobileDevice framework, which must know the guest's version.
 */
export function newerThanHostWarning(productVersion: string, build: string, hostVersion: string): string {
  const major = majorVersion(productVersion) > majorVersion(hostVersion);
  return (
    `macOS ${productVersion} (${build}) is newer than this Mac (macOS ${hostVersion}). ` +
    (major
      ? `The installer will most likely fail with a device-support error. Update this Mac to macOS ${majorVersion(productVersion)} or later, or install the matching device-support package: `
      : 'If the installer fails with a device-support error, update this Mac or install the matching device-support package: ') +
    'open the Xcode release (or beta, for beta images) that supports it once so it installs its components, ' +
    'or install MobileDevice.pkg from Xcode.app/Contents/Resources/Packages.'
  );
}
