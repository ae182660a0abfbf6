/** Formatting and progress math shared by the views. Pure functions (unit-tested). */
import type { TaskInfo, TaskProgress } from '../../../api';

const DEC = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];

/** Decimal units (as Finder and Tart's --disk-size): 1 GB = 10^9 bytes. */
export function formatBytes(n: number | undefined, digits = 1): string {
  if (n === undefined || !Number.isFinite(n) || n < 0) return '—';
  if (n < 1000) return `${Math.round(n)} B`;
  let i = 0;
  let v = n;
  while (v >= 1000 && i < DEC.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v >= 100 ? Math.round(v) : v.toFixed(digits).replace(/\.0+$/, '')} ${DEC[i]}`;
}

/** Memory is sized in powers of two: 4096 MiB shows as "4 GB", like every VM manager does. */
export function formatMemory(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes) || bytes <= 0) return '—';
  const gib = bytes / 1024 ** 3;
  if (gib >= 1) return `${Number.isInteger(gib) ? gib : gib.toFixed(1).replace(/\.0$/, '')} GB`;
  return `${Math.round(bytes / 1024 ** 2)} MB`;
}

export function formatRate(bytesPerSecond: number | undefined): string {
  if (bytesPerSecond === undefined || !Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) return '';
  return `${formatBytes(bytesPerSecond)}/s`;
}

export function formatEta(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '';
  const s = Math.round(seconds);
  if (s < 5) return 'a few seconds left';
  if (s < 60) return `${s} s left`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60 ? `${s % 60} s ` : ''}left`;
  const h = Math.floor(m / 60);
  return `${h} h ${m % 60} min left`;
}

/** Percent 0..100 (one decimal) or null when the total is unknown. Never exceeds 100, never goes below 0. */
export function percentOf(done: number | undefined, total: number | undefined): number | null {
  if (total === undefined || !Number.isFinite(total) || total <= 0) return null;
  const d = done === undefined || !Number.isFinite(done) ? 0 : done;
  return Math.min(100, Math.max(0, Math.floor((d / total) * 1000) / 10));
}

export function formatCount(done: number | undefined, total: number | undefined, unit: TaskProgress['unit']): string {
  if (unit === 'percent') return done !== undefined ? `${Math.round(done)}%` : '';
  if (unit === 'items') return total ? `${done ?? 0} of ${total}` : `${done ?? 0}`;
  if (done === undefined && total === undefined) return '';
  return total ? `${formatBytes(done ?? 0)} of ${formatBytes(total)}` : formatBytes(done ?? 0);
}

export interface ProgressView {
  /** 0..100, or null for an indeterminate bar. */
  percent: number | null;
  /** "312 MB of 1.2 GB" */
  amount: string;
  /** "45 MB/s" or "" */
  rate: string;
  /** "about 20 s left" or "" */
  eta: string;
  step: string;
}

/** What a progress bar shows for a task. A finished task is full; unknown totals are indeterminate. */
export function progressView(task: Pick<TaskInfo, 'state' | 'progress'>): ProgressView {
  const p = task.progress;
  const unit = p.unit ?? 'bytes';
  let percent = unit === 'percent' ? (p.done !== undefined ? Math.min(100, Math.max(0, p.done)) : null) : percentOf(p.done, p.total);
  if (task.state === 'done') percent = 100;
  const running = task.state === 'running';
  return {
    percent,
    amount: formatCount(p.done, p.total, unit),
    rate: running && unit === 'bytes' ? formatRate(p.rate) : '',
    eta: running ? formatEta(p.etaSeconds) : '',
    step: p.step ?? '',
  };
}

export function formatRelative(iso: string | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return 'never';
  const s = Math.round((now - t) / 1000);
  if (s < 45) return 'just now';
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 24) return `${h} h ago`;
  const d = Math.round(h / 24);
  if (d < 31) return d === 1 ? 'yesterday' : `${d} days ago`;
  return formatDate(t);
}

const pad = (n: number) => String(n).padStart(2, '0');

/**
 * Local date (and time) as 2026-11-28 / 2026-11-28 14:05 — unambiguous everywhere, and without Intl: a cold page
 * pays ~10 ms for its first locale formatter, once per row-rendering start.
 */
export function formatDate(t: number): string {
  const d = new Date(t);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

export function formatDateTime(iso: string | undefined): string {
  const t = iso ? Date.parse(iso) : NaN;
  if (!Number.isFinite(t)) return 'never';
  const d = new Date(t);
  return `${formatDate(t)} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function osLabel(os: string | undefined, arch: string | undefined): string {
  const o = os === 'darwin' ? 'macOS' : os === 'linux' ? 'Linux' : 'Unknown OS';
  return arch ? `${o} · ${arch}` : o;
}
