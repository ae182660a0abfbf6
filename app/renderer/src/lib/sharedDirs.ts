/**
 * Per-run options of vm.start the UI remembers per VM: shared folders (like `tart run --dir`) and clipboard sharing
 * (`--clipboard` / `--no-clipboard`).
 */
export interface SharedDir {
  name?: string;
  path: string;
  readOnly: boolean;
}

const key = (vm: string) => `nestbox.sharedDirs.${vm}`;

export function loadSharedDirs(vm: string): SharedDir[] {
  try {
    const v = JSON.parse(globalThis.localStorage?.getItem(key(vm)) ?? '[]') as unknown;
    return Array.isArray(v) ? (v.filter((d) => d && typeof d.path === 'string') as SharedDir[]) : [];
  } catch {
    return [];
  }
}

export function saveSharedDirs(vm: string, dirs: SharedDir[]): void {
  try {
    globalThis.localStorage?.setItem(key(vm), JSON.stringify(dirs));
  } catch {}
}

/** Clipboard sharing for the next start: auto = on where the VM can still be suspended with it. */
export type ClipboardPref = 'auto' | 'on' | 'off';

const clipKey = (vm: string) => `nestbox.clipboard.${vm}`;

export function loadClipboardPref(vm: string): ClipboardPref {
  try {
    const v = globalThis.localStorage?.getItem(clipKey(vm));
    return v === 'on' || v === 'off' ? v : 'auto';
  } catch {
    return 'auto';
  }
}

export function saveClipboardPref(vm: string, pref: ClipboardPref): void {
  try {
    if (pref === 'auto') globalThis.localStorage?.removeItem(clipKey(vm));
    else globalThis.localStorage?.setItem(clipKey(vm), pref);
  } catch {}
}
