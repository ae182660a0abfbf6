/**
 * VZErrorDomain codes (VZErrors.h; macOS version that introduced each) → NestboxError codes with a message
 * naming the VM, the framework's reason and a fix. Errors of other domains (NSCocoaErrorDomain file errors,
 * NSPOSIXErrorDomain) and the addon's own checks ("nestbox" domain) are mapped too.
 */
import { NestboxError, type ErrorCode } from '../../errors';
import type { VzErrorInfo } from './types';

export const VZ_ERROR = {
  internal: 1, // macOS 11
  invalidVirtualMachineConfiguration: 2, // macOS 11
  invalidVirtualMachineState: 3, // macOS 11
  invalidVirtualMachineStateTransition: 4, // macOS 11
  invalidDiskImage: 5, // macOS 11
  virtualMachineLimitExceeded: 6, // macOS 12
  networkError: 7, // macOS 13
  outOfDiskSpace: 8, // macOS 13
  operationCancelled: 9, // macOS 13
  notSupported: 10, // macOS 13
  save: 11, // macOS 14
  restore: 12, // macOS 14
  restoreImageCatalogLoadFailed: 10001, // macOS 13
  invalidRestoreImageCatalog: 10002, // macOS 13
  noSupportedRestoreImagesInCatalog: 10003, // macOS 13
  restoreImageLoadFailed: 10004, // macOS 13
  invalidRestoreImage: 10005, // macOS 13
  installationRequiresUpdate: 10006, // macOS 13
  installationFailed: 10007, // macOS 13
  networkBlockDeviceNegotiationFailed: 20001, // macOS 14
  networkBlockDeviceDisconnected: 20002, // macOS 14
} as const;

export const MAC_GUEST_LIMIT = 2;

export function tooManyMacGuests(vmName: string, running: string[] = []): NestboxError {
  return new NestboxError(
    'BUSY',
    `Cannot start ${vmName}: at most ${MAC_GUEST_LIMIT} macOS VMs can run at the same time on one Mac (Apple's licence, enforced by Virtualization.framework)` +
      (running.length ? `; running now: ${running.join(', ')}.` : '.'),
    { fix: `Stop or suspend one of the running macOS VMs first${running.length ? ` (e.g. nestbox stop ${running[0]})` : ''}.`, details: { limit: MAC_GUEST_LIMIT, running } },
  );
}

interface Mapped {
  code: ErrorCode;
  reason: string;
  fix?: string;
}

function mapVzCode(code: number, vmName: string): Mapped | undefined {
  switch (code) {
    case VZ_ERROR.invalidVirtualMachineConfiguration:
      return { code: 'INVALID_ARGUMENT', reason: 'its configuration is not valid for this Mac', fix: `Check CPU, memory and display with nestbox get ${vmName}, and lower them if needed.` };
    case VZ_ERROR.invalidVirtualMachineState:
    case VZ_ERROR.invalidVirtualMachineStateTransition:
      return { code: 'BUSY', reason: 'the VM is not in a state that allows this right now', fix: 'Wait for the current operation to finish and try again.' };
    case VZ_ERROR.invalidDiskImage:
      return { code: 'BROKEN_VM', reason: 'its disk image cannot be used', fix: 'Check that disk.img exists, is readable and is not in use by another program.' };
    case VZ_ERROR.virtualMachineLimitExceeded:
      return { code: 'BUSY', reason: `the Mac's limit of simultaneously running VMs is reached (at most ${MAC_GUEST_LIMIT} macOS VMs)`, fix: 'Stop or suspend another VM first.' };
    case VZ_ERROR.networkError:
      return { code: 'NETWORK', reason: 'the virtual network failed', fix: 'Check the network settings and try again.' };
    case VZ_ERROR.outOfDiskSpace:
      return { code: 'NO_SPACE', reason: 'the host is out of disk space', fix: 'Free some space (e.g. nestbox prune --entries caches) and try again.' };
    case VZ_ERROR.operationCancelled:
      return { code: 'CANCELLED', reason: 'the operation was cancelled', fix: 'Run it again.' };
    case VZ_ERROR.notSupported:
      return { code: 'UNSUPPORTED', reason: 'this Mac or macOS version does not support it', fix: 'Update macOS, or drop the option that needs it.' };
    case VZ_ERROR.save:
      return { code: 'HYPERVISOR', reason: 'its state could not be saved', fix: 'Use a VM run without shared directories, audio or USB devices (Tart: --suspendable), or stop it instead.' };
    case VZ_ERROR.restore:
      return { code: 'HYPERVISOR', reason: 'its saved state could not be restored (it may come from another macOS version or configuration)', fix: `Discard the saved state with nestbox stop ${vmName} and boot it fresh.` };
    case VZ_ERROR.restoreImageCatalogLoadFailed:
    case VZ_ERROR.invalidRestoreImageCatalog:
    case VZ_ERROR.noSupportedRestoreImagesInCatalog:
      return { code: 'NETWORK', reason: "Apple's restore-image catalog could not be used", fix: 'Pass a local .ipsw file or a direct URL.' };
    case VZ_ERROR.restoreImageLoadFailed:
    case VZ_ERROR.invalidRestoreImage:
      return { code: 'INVALID_ARGUMENT', reason: 'the restore image cannot be loaded', fix: 'Download the image again; check it with `nestbox ipsw info FILE`.' };
    case VZ_ERROR.installationRequiresUpdate:
      return {
        code: 'MISSING_DEPENDENCY',
        reason: 'this macOS needs a newer device-support package on the host to install',
        fix: 'Update this Mac, or install the device-support package of the matching Xcode (open that Xcode once, or install MobileDevice.pkg from Xcode.app/Contents/Resources/Packages).',
      };
    case VZ_ERROR.installationFailed:
      return { code: 'HYPERVISOR', reason: 'the macOS installation failed', fix: 'Try again; if it keeps failing, download the restore image again.' };
    case VZ_ERROR.networkBlockDeviceNegotiationFailed:
    case VZ_ERROR.networkBlockDeviceDisconnected:
      return { code: 'NETWORK', reason: 'the network block device is unreachable', fix: 'Check the NBD server and try again.' };
    case VZ_ERROR.internal:
      return { code: 'HYPERVISOR', reason: 'Virtualization.framework hit an internal error', fix: 'Try again; if it repeats, restart the Mac.' };
    default:
      return undefined;
  }
}

/**
 * Turns an addon error (or anything thrown) into a NestboxError about `vmName` doing `what` ("start", "install
 * macOS on", …). Keeps the framework's own words in the message and the raw domain/code in details.
 */
export function mapVzError(e: unknown, vmName: string, what: string): NestboxError {
  if (e instanceof NestboxError) return e;
  const x = (e ?? {}) as Partial<VzErrorInfo> & { message?: string; code?: string };
  const domain = typeof x.domain === 'string' ? x.domain : undefined;
  const code = typeof x.vzCode === 'number' ? x.vzCode : undefined;
  const said = (x.message ?? String(e)).replace(/\.$/, '');
  const details = { vm: vmName, domain, code, failureReason: x.failureReason };
  let m: Mapped | undefined;
  if (domain === 'VZErrorDomain' && code !== undefined) m = mapVzCode(code, vmName);
  else if (domain === 'NSCocoaErrorDomain' && code !== undefined) {
    // NSFileNoSuchFileError 4, NSFileReadNoSuchFileError 260, NSFileReadNoPermissionError 257, NSFileWriteOutOfSpaceError 640
    if (code === 4 || code === 260) m = { code: 'BROKEN_VM', reason: 'a file it needs is missing', fix: 'Check that disk.img and nvram.bin exist in the VM folder.' };
    else if (code === 257 || code === 513) m = { code: 'INVALID_ARGUMENT', reason: 'a file it needs cannot be accessed (permission denied)', fix: 'Check the permissions of the VM folder and of shared directories.' };
    else if (code === 640) m = { code: 'NO_SPACE', reason: 'the host is out of disk space', fix: 'Free some space and try again.' };
  } else if (domain === 'NSPOSIXErrorDomain' && code === 28) {
    m = { code: 'NO_SPACE', reason: 'the host is out of disk space', fix: 'Free some space and try again.' };
  } else if (domain === 'nestbox') {
    m = { code: (x.code as ErrorCode) ?? 'HYPERVISOR', reason: said };
    return new NestboxError(m.code, `Cannot ${what} ${vmName}: ${said}.`, { details, cause: e });
  }
  if (m) return new NestboxError(m.code, `Cannot ${what} ${vmName}: ${m.reason} (${said}).`, { fix: m.fix, details, cause: e });
  return new NestboxError('HYPERVISOR', `Cannot ${what} ${vmName}: ${said}.`, {
    fix: 'Try again; the details name the framework error.',
    details,
    cause: e,
  });
}
