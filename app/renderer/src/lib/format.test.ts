import { describe, expect, it } from 'vitest';
import { formatBytes, formatDateTime, formatEta, formatMemory, formatRelative, percentOf, progressView } from './format';

describe('progress math', () => {
  it('percent is clamped to 0..100, floored to one decimal, and null without a total', () => {
    expect(percentOf(0, 100)).toBe(0);
    expect(percentOf(1, 3)).toBe(33.3);
    expect(percentOf(999, 1000)).toBe(99.9); // never shows 100 before it is done
    expect(percentOf(150, 100)).toBe(100);
    expect(percentOf(-5, 100)).toBe(0);
    expect(percentOf(5, 0)).toBeNull();
    expect(percentOf(5, undefined)).toBeNull();
    expect(percentOf(undefined, 10)).toBe(0);
  });

  it('a running byte task shows amount, percent, rate and ETA; a finished one is full and quiet', () => {
    const running = progressView({ state: 'running', progress: { done: 250e6, total: 1e9, unit: 'bytes', rate: 50e6, etaSeconds: 15, step: 'Downloading' } });
    expect(running).toEqual({ percent: 25, amount: '250 MB of 1 GB', rate: '50 MB/s', eta: '15 s left', step: 'Downloading' });
    const done = progressView({ state: 'done', progress: { done: 999, total: 1000, unit: 'bytes', rate: 1, etaSeconds: 1 } });
    expect(done.percent).toBe(100);
    expect(done.rate).toBe('');
    expect(done.eta).toBe('');
  });

  it('unknown totals are indeterminate; percent units are taken as is', () => {
    expect(progressView({ state: 'running', progress: { done: 10, unit: 'bytes' } }).percent).toBeNull();
    expect(progressView({ state: 'running', progress: {} }).percent).toBeNull();
    expect(progressView({ state: 'running', progress: { done: 42, unit: 'percent' } }).percent).toBe(42);
    expect(progressView({ state: 'running', progress: { done: 3, total: 12, unit: 'items' } })).toMatchObject({ percent: 25, amount: '3 of 12' });
  });

  it('formats sizes, memory, ETA and relative dates for people', () => {
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1_500_000)).toBe('1.5 MB');
    expect(formatBytes(50e9)).toBe('50 GB');
    expect(formatBytes(123.4e9)).toBe('123 GB');
    expect(formatMemory(4096 * 1024 * 1024)).toBe('4 GB');
    expect(formatMemory(512 * 1024 * 1024)).toBe('512 MB');
    expect(formatEta(3)).toBe('a few seconds left');
    expect(formatEta(125)).toBe('2 min 5 s left');
    expect(formatEta(3 * 3600 + 120)).toBe('3 h 2 min left');
    const now = Date.parse('2026-11-29T12:00:00Z');
    expect(formatRelative('2026-11-29T11:59:50Z', now)).toBe('just now');
    expect(formatRelative('2026-11-29T09:00:00Z', now)).toBe('3 h ago');
    expect(formatRelative('2026-11-28T12:00:00Z', now)).toBe('yesterday');
    expect(formatRelative(undefined, now)).toBe('never');
    // Older than a month: the local date, year first.
    const old = new Date(2026, 0, 5, 9, 7).getTime();
    expect(formatRelative(new Date(old).toISOString(), now)).toBe('2026-01-05');
    expect(formatDateTime(new Date(old).toISOString())).toBe('2026-01-05 09:07');
    expect(formatDateTime('not a date')).toBe('never');
  });
});
