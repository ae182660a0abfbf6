/**
 * Files opened with Nestbox (Finder/file manager "Open with", the Dock icon, a drop on the window, the
 * command line of a second launch) are routed by extension to a create flow:
 *   .ipsw          → a macOS VM from the restore image   (vm.createMacos)
 *   .iso           → a Linux VM booting the installer     (vm.create {installerIso})
 *   .img / .raw    → a Linux VM whose disk is a copy      (vm.create {diskImage})
 * The plan is pure; main shows the confirmation and dispatches the request through the contract.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import type { Params } from '../api/contract';
import { URL_SCHEME } from './url-scheme';

export type FileKind = 'ipsw' | 'iso' | 'disk';

const EXTENSIONS: Record<string, FileKind> = { '.ipsw': 'ipsw', '.iso': 'iso', '.img': 'disk', '.raw': 'disk' };

/** The kinds of files Nestbox opens, by lower-case extension (also listed in electron-builder.yml). */
export const OPENABLE_EXTENSIONS = Object.keys(EXTENSIONS);

export function classifyFile(file: string): FileKind | null {
  return EXTENSIONS[path.extname(file).toLowerCase()] ?? null;
}

export type CreatePlan =
  | { kind: 'ipsw'; request: 'vm.createMacos'; params: Params<'vm.createMacos'>; file: string }
  | { kind: 'iso' | 'disk'; request: 'vm.create'; params: Params<'vm.create'>; file: string };

export type PlanResult = { ok: true; plan: CreatePlan } | { ok: false; reason: string; fix: string };

/**
 * Plans the create flow for `file`: checks it is an existing regular file of a known kind and picks a VM
 * name from the file name that is valid and not taken.
 */
export function planCreateFromFile(file: string, existingVmNames: Iterable<string>): PlanResult {
  const kind = classifyFile(file);
  if (!kind) {
    return { ok: false, reason: `Nestbox cannot open "${path.basename(file)}": only ${OPENABLE_EXTENSIONS.join(', ')} files are supported.`, fix: 'Open a macOS restore image (.ipsw), an installer ISO (.iso) or a raw disk image (.img, .raw).' };
  }
  if (!path.isAbsolute(file)) return { ok: false, reason: `"${file}" is not an absolute path.`, fix: 'Open the file from the file manager or pass an absolute path.' };
  let st;
  try {
    st = statSync(file);
  } catch {
    return { ok: false, reason: `"${file}" does not exist or cannot be read.`, fix: 'Check that the file is still there and readable.' };
  }
  if (!st.isFile()) return { ok: false, reason: `"${file}" is not a regular file.`, fix: 'Open the image file itself, not a folder.' };
  if (st.size === 0) return { ok: false, reason: `"${file}" is empty.`, fix: 'The download may have failed; fetch the image again.' };
  const name = uniqueVmName(vmNameFromFile(file), existingVmNames);
  if (kind === 'ipsw') return { ok: true, plan: { kind, request: 'vm.createMacos', params: { name, ipsw: file }, file } };
  if (kind === 'iso') return { ok: true, plan: { kind, request: 'vm.create', params: { name, os: 'linux', installerIso: file }, file } };
  return { ok: true, plan: { kind, request: 'vm.create', params: { name, os: 'linux', diskImage: file }, file } };
}

/**
 * A VM name from a file name: the base name without its extension(s), reduced to letters, digits, '.', '-'
 * and '_' (runs of anything else become one '-'), never starting with '.' or '-', at most 64 characters.
 * "UniversalMac_15.1_24B83_Restore.ipsw" → "UniversalMac_15.1_24B83_Restore"; "debian 12 (netinst).iso" → "debian-12-netinst".
 */
export function vmNameFromFile(file: string): string {
  let base = path.basename(file);
  const ext = path.extname(base);
  if (ext) base = base.slice(0, -ext.length);
  let name = base
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // accents off: "é" → "e"
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/-{2,}/g, '-')
    .replace(/^[.\-_]+|[.\-_]+$/g, '');
  if (name.length > 64) name = name.slice(0, 64).replace(/[.\-_]+$/g, '');
  return name || 'vm';
}

/** `name`, or `name-2`, `name-3`, … — the first one not in `existing`. */
export function uniqueVmName(name: string, existing: Iterable<string>): string {
  const taken = new Set(existing);
  if (!taken.has(name)) return name;
  for (let i = 2; ; i++) {
    const candidate = `${name}-${i}`;
    if (!taken.has(candidate)) return candidate;
  }
}

/** The native confirmation shown before a create starts from an opened file (button 0 creates). */
export function confirmCreate(plan: CreatePlan): { title: string; message: string; detail: string; buttons: string[]; defaultId: number; cancelId: number } {
  const file = path.basename(plan.file);
  const what =
    plan.kind === 'ipsw'
      ? `a macOS virtual machine from ${file}`
      : plan.kind === 'iso'
        ? `a Linux virtual machine that boots the installer ${file}`
        : `a Linux virtual machine from a copy of the disk image ${file}`;
  return {
    title: 'Create Virtual Machine',
    message: `Create "${plan.params.name}"?`,
    detail: `Nestbox will create ${what}, with settings that fit this computer. You can change them before the first start.`,
    buttons: ['Create', 'Cancel'],
    defaultId: 0,
    cancelId: 1,
  };
}

export interface LaunchTargets {
  files: string[];
  urls: string[];
}

/**
 * Files and nestbox:// links on a command line (the first launch's process.argv, or the argv a second
 * launch forwards). Switches (Chromium may add and reorder them) and the app's own path are skipped; a
 * relative path resolves against the launch's working directory; only openable kinds and our scheme count.
 */
export function extractLaunchTargets(argv: readonly string[], cwd: string): LaunchTargets {
  const files: string[] = [];
  const urls: string[] = [];
  for (const arg of argv.slice(1)) {
    if (typeof arg !== 'string' || arg.length === 0 || arg.startsWith('-')) continue;
    if (arg.toLowerCase().startsWith(`${URL_SCHEME}:`)) {
      urls.push(arg);
      continue;
    }
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(arg)) continue; // other URLs are not ours
    if (!classifyFile(arg)) continue;
    files.push(path.resolve(cwd, arg));
  }
  return { files: [...new Set(files)], urls: [...new Set(urls)] };
}
