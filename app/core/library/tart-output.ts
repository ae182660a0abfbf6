/**
 * Tart's output shapes for `list` and `get` (tart-format.md §3), so scripts written against `tart … --format json`
 * work unchanged. Field names and order are Tart's; text output is Tart's plain table (the deprecated `Running`
 * field is JSON-only).
 */
import { GB, MiB } from './config';
import type { VMInfo } from './library';

export interface TartListEntry {
  Source: 'local' | 'OCI';
  Name: string;
  /** Apparent disk size, whole decimal GB. */
  Disk: number;
  /** Allocated size, whole decimal GB. */
  Size: number;
  /** ISO-8601 in JSON; relative ("3 minutes ago") in text. */
  Accessed: string;
  Running: boolean;
  State: string;
}

export interface TartGetInfo {
  OS: string;
  CPU: number;
  /** MB (memorySize / 1024²). */
  Memory: number;
  /** Apparent disk size, whole decimal GB. */
  Disk: number;
  DiskFormat: string;
  /** Allocated size in decimal GB, "%.3f". */
  Size: string;
  /** "WxH" plus the unit when the config has one. */
  Display: string;
  Running: boolean;
  State: string;
}

export function gbInt(bytes: number): number {
  return Math.floor(bytes / GB);
}

export function listEntry(vm: Pick<VMInfo, 'name' | 'disk' | 'accessedAt' | 'state'>, source: 'local' | 'OCI' = 'local'): TartListEntry {
  return {
    Source: source,
    Name: vm.name,
    Disk: gbInt(vm.disk.apparent),
    Size: gbInt(vm.disk.allocated),
    Accessed: vm.accessedAt.toISOString().replace(/\.\d{3}Z$/, 'Z'), // ISO8601DateFormatter: whole seconds
    Running: vm.state === 'running',
    State: vm.state,
  };
}

export function getInfo(vm: VMInfo): TartGetInfo {
  const c = vm.config;
  return {
    OS: c?.os ?? 'unknown',
    CPU: c?.cpuCount ?? 0,
    Memory: c ? Math.floor(c.memorySize / MiB) : 0,
    Disk: gbInt(vm.disk.apparent),
    DiskFormat: c?.diskFormat ?? 'raw',
    Size: (vm.disk.allocated / GB).toFixed(3),
    Display: c ? `${c.display.width}x${c.display.height}${c.display.unit ?? ''}` : '',
    Running: vm.state === 'running',
    State: vm.state,
  };
}

/** "3 minutes ago", like Foundation's RelativeDateTimeFormatter (full style) that Tart uses. */
export function relativeTime(d: Date, now: Date = new Date()): string {
  const s = Math.round((now.getTime() - d.getTime()) / 1000);
  const future = s < 0;
  const a = Math.abs(s);
  const units: [number, string][] = [
    [365 * 86400, 'year'],
    [30 * 86400, 'month'],
    [7 * 86400, 'week'],
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
    [1, 'second'],
  ];
  for (const [secs, unit] of units) {
    if (a >= secs || unit === 'second') {
      const n = Math.floor(a / secs);
      const phrase = `${n} ${unit}${n === 1 ? '' : 's'}`;
      return future ? `in ${phrase}` : `${phrase} ago`;
    }
  }
  return 'now';
}

/**
 * Tart's plain text table: a header row of field names, left-aligned columns padded to the widest cell, one space
 * between columns, `Running` left out. Empty input renders as an empty string.
 */
export function renderTable(rows: object[], omit: readonly string[] = ['Running']): string {
  if (rows.length === 0) return '';
  const cols = Object.keys(rows[0]!).filter((k) => !omit.includes(k));
  const cells = [cols, ...rows.map((r) => cols.map((c) => String((r as Record<string, unknown>)[c])))];
  const widths = cols.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  return cells.map((row) => row.map((v, i) => v.padEnd(widths[i]!)).join(' ').trimEnd()).join('\n');
}
