import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { coalesce } from './context';

describe('coalesce (progress rate limiting)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('sends at most once per interval and never drops the latest state', () => {
    let state = 0;
    const sent: number[] = [];
    const p = coalesce(() => sent.push(state), 100);
    for (state = 1; state <= 50; state++) {
      p.request();
      vi.advanceTimersByTime(5); // 50 requests over 250 ms
    }
    state = 50;
    vi.advanceTimersByTime(200);
    expect(sent[0]).toBe(1); // the first request goes out at once
    expect(sent.length).toBeLessThanOrEqual(4); // ≤ 10/s over ~0.45 s
    expect(sent.at(-1)).toBe(50); // the last state arrived after the burst
  });

  it('force sends now, and cancel drops a deferred send', () => {
    const sent: string[] = [];
    const p = coalesce(() => sent.push('x'), 100);
    p.request();
    p.request();
    p.request(true);
    expect(sent).toHaveLength(2);
    p.request();
    p.cancel();
    vi.advanceTimersByTime(500);
    expect(sent).toHaveLength(2);
  });
});
