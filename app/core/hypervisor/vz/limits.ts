import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Home } from '../../library/home';
import { parseConfig } from '../../library/config';
import { runningPid } from '../../library/locks';
import { MAC_GUEST_LIMIT, tooManyMacGuests } from './errors';

/** Names of running macOS VMs in this home (any runner: Nestbox's or Tart's — both hold the config.json lock). */
export async function runningMacGuests(home: Home, except?: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fsp.readdir(home.vms);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const name of names.sort()) {
    if (name === except) continue;
    const dir = path.join(home.vms, name);
    let os: string;
    try {
      os = parseConfig(await fsp.readFile(path.join(dir, 'config.json'), 'utf8')).os;
    } catch {
      continue;
    }
    if (os === 'darwin' && runningPid(dir) !== 0) out.push(name);
  }
  return out;
}

/**
 * Apple's limit: at most two macOS guests at a time per Mac. Checked before starting so the user gets a clear
 * error naming the running VMs (the framework would fail later with VZErrorVirtualMachineLimitExceeded, which
 * mapVzError turns into the same code). VMs in other homes are not visible here; the framework still enforces it.
 */
export async function assertMacGuestSlot(home: Home, vmName: string): Promise<void> {
  const running = await runningMacGuests(home, vmName);
  if (running.length >= MAC_GUEST_LIMIT) throw tooManyMacGuests(vmName, running);
}
