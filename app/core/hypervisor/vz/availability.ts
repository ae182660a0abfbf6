import type { Availability, HostInfo } from '../backend';
import type { VzAddon } from './types';

export const NEEDS_APPLE_SILICON = 'macOS guests need a Mac with Apple silicon';

/** Lazily loads the addon; the reason when it cannot (not macOS, not built). */
export function loadVzAddon(): { addon: VzAddon } | { error: string } {
  try {
    return { addon: require('@nestbox/native/vz') as VzAddon };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/**
 * Whether Virtualization.framework can be used here. Not a Mac, or an Intel Mac ⇒ unavailable with the reason
 * "macOS guests need a Mac with Apple silicon" (the addon is not even loaded); a Mac without the built addon or
 * where VZVirtualMachine.isSupported is false ⇒ unavailable with what to do.
 */
export function vzAvailability(host: HostInfo, load: () => ReturnType<typeof loadVzAddon> = loadVzAddon): Availability {
  if (host.platform !== 'darwin' || host.arch !== 'arm64') {
    return { ok: false, reason: NEEDS_APPLE_SILICON, fix: 'Use a Mac with an M-series chip; on this host, Linux VMs run with QEMU.' };
  }
  const r = load();
  if ('error' in r) return { ok: false, reason: `the Virtualization.framework addon cannot be loaded (${r.error})`, fix: 'Reinstall Nestbox, or run `npm rebuild @nestbox/native` in a source checkout.' };
  let info;
  try {
    info = r.addon.hostInfo();
  } catch (e) {
    return { ok: false, reason: `Virtualization.framework did not answer (${(e as Error).message})` };
  }
  if (!info.supported) {
    return { ok: false, reason: 'Virtualization.framework reports that this Mac cannot run VMs (VZVirtualMachine.isSupported is false)', fix: 'Check that Nestbox is not itself running inside a VM without nested virtualization.' };
  }
  return { ok: true };
}
