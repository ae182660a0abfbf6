// How the tests and benchmarks start Debian's Chromium (playwright-core): one list of switches for all of them.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * Chromium's own browser UI preloads the omnibox (address bar) popup, a WebUI page in a renderer process of its own,
 * for every new window — every Playwright context. Here that costs about 250 ms of CPU per context, on the same two
 * CPUs as the page being tested; the Electron window and a browser tab that is already open never pay it. Passing
 * --disable-features replaces Playwright's own list instead of adding to it, so its list (playwright-core 1.65,
 * chromiumSwitches.ts) is repeated here.
 */
const DISABLED_FEATURES = [
  // Playwright's
  'AvoidUnnecessaryBeforeUnloadCheckSync',
  'DestroyProfileOnBrowserClose',
  'HttpsUpgrades',
  'HttpsFirstBalancedModeAutoEnable',
  'LensOverlay',
  'MediaRouter',
  'PaintHolding',
  'ThirdPartyStoragePartitioning',
  'AvoidCorsURLLoaderRestartOnRedirect',
  'TcpPortRandomizationWin',
  'OptimizationHints',
  'NetworkTimeServiceQuerying',
  'AimEnabled',
  'PreconnectToSearch',
  // the omnibox popup's WebUI
  'WebUIOmniboxPopup',
  'WebUIOmniboxFullPopup',
  'WebUIOmniboxAimPopup',
];

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  `--disable-features=${DISABLED_FEATURES.join(',')}`,
];

/** Launches Debian's Chromium headless with CHROMIUM_ARGS. */
export function launchChromium() {
  const { chromium } = require('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}
