/**
 * Lazy access to the native addon (native/). Loaded on first use so that commands that do not need it
 * (e.g. `nestbox --help`) start fast, and so a missing build gives one clear error.
 */
type NativeAddon = typeof import('@nestbox/native');

let cached: NativeAddon | undefined;

export function native(): NativeAddon {
  if (!cached) cached = require('@nestbox/native') as NativeAddon;
  return cached;
}
