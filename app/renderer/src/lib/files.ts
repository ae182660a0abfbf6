/**
 * Files dropped on or picked in the window become paths on the host. In Electron the preload may expose
 * `window.nestboxFiles.pathForFile` (webUtils.getPathForFile) and `pickFile` (a native open dialog); in the
 * browser on `nestbox serve` the files live on the server, so the user types the server-side path.
 */
export interface NestboxFiles {
  pathForFile(file: File): string;
  pickFile?(opts: { title?: string; extensions?: string[] }): Promise<string | null>;
}

declare global {
  interface Window {
    nestboxFiles?: NestboxFiles;
  }
}

export type SourceKind = 'iso' | 'disk' | 'ipsw';

export function sourceKindOf(path: string): SourceKind | null {
  const p = path.toLowerCase();
  if (p.endsWith('.ipsw')) return 'ipsw';
  if (p.endsWith('.iso')) return 'iso';
  if (/\.(img|raw|qcow2|vmdk|vhdx?)$/.test(p)) return 'disk';
  return null;
}

export function pathOfDroppedFile(file: File): string | null {
  try {
    const p = window.nestboxFiles?.pathForFile(file);
    return p ? p : null;
  } catch {
    return null;
  }
}
