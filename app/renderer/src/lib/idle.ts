/**
 * Runs fn when the page is next idle — at the latest after `timeout` ms when given — or, where there is no
 * requestIdleCallback (happy-dom in tests), after `fallbackMs`. Returns a function that cancels it.
 */
export function whenIdle(fn: () => void, o: { timeout?: number; fallbackMs: number }): () => void {
  if (typeof requestIdleCallback === 'undefined') {
    const t = setTimeout(fn, o.fallbackMs);
    return () => clearTimeout(t);
  }
  const id = requestIdleCallback(fn, o.timeout === undefined ? undefined : { timeout: o.timeout });
  return () => cancelIdleCallback(id);
}
