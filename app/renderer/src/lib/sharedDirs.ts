/** Shared folders are a per-run option of vm.start (like `tart run --dir`); the UI remembers them per VM. */
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
