/**
 * Launching the real desktop app under Playwright (`_electron`), modelled on Podman Desktop's electron-runner:
 * an isolated TART_HOME and profile, a virtual display where there is none, and a guaranteed close.
 *
 * The Electron binary is optional: `npm install` with ELECTRON_SKIP_BINARY_DOWNLOAD=1 (what this repository does)
 * leaves node_modules/electron without it, and it cannot be downloaded on machines without internet. The check
 * below is what `require('electron')` does under Node, minus its attempt to download: the binary is there when
 * node_modules/electron/path.txt names a file that exists under node_modules/electron/dist (or under
 * $ELECTRON_OVERRIDE_DIST_PATH). Tests that need it are skipped otherwise, with that reason.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ElectronApplication, Page } from 'playwright-core';

export const ROOT = path.resolve(__dirname, '..', '..');
const ELECTRON_DIR = path.join(ROOT, 'node_modules', 'electron');

/** The Electron executable, or null when it is not installed (see the file comment). */
export function electronBinaryPath(): string | null {
  let rel: string;
  try {
    rel = readFileSync(path.join(ELECTRON_DIR, 'path.txt'), 'utf8').trim();
  } catch {
    return null; // path.txt is written by electron's install script only after a successful download
  }
  const dist = process.env.ELECTRON_OVERRIDE_DIST_PATH || path.join(ELECTRON_DIR, 'dist');
  const exe = path.join(dist, rel);
  return existsSync(exe) ? exe : null;
}

export function electronBinaryAvailable(): boolean {
  return electronBinaryPath() !== null;
}

export const SKIP_REASON = 'the Electron binary is not installed (node_modules/electron/path.txt missing or naming no file; it cannot be downloaded here)';

/** The app needs a built main, preload and renderer (npm test builds them first). */
export function appBuilt(): boolean {
  return ['dist/main/main.js', 'dist/preload/preload.js', 'dist/renderer/index.html'].every((f) => existsSync(path.join(ROOT, f)));
}

export interface LaunchedApp {
  app: ElectronApplication;
  window: Page;
  home: string;
  userData: string;
  close(): Promise<void>;
}

/** Starts Xvfb on a free display when Linux has none; returns the DISPLAY value and a stop function. */
async function virtualDisplay(): Promise<{ display: string | undefined; stop(): void }> {
  if (process.platform !== 'linux' || process.env.DISPLAY || process.env.WAYLAND_DISPLAY) return { display: process.env.DISPLAY, stop: () => {} };
  for (let n = 90 + (process.pid % 50); n < 200; n++) {
    if (existsSync(`/tmp/.X11-unix/X${n}`) || existsSync(`/tmp/.X${n}-lock`)) continue;
    const xvfb: ChildProcess = spawn('Xvfb', [`:${n}`, '-screen', '0', '1440x900x24', '-nolisten', 'tcp'], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (existsSync(`/tmp/.X11-unix/X${n}`)) return { display: `:${n}`, stop: () => xvfb.kill('SIGTERM') };
      if (xvfb.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    xvfb.kill('SIGKILL');
  }
  throw new Error('could not start Xvfb');
}

export async function launchApp(o: { home?: string; env?: NodeJS.ProcessEnv } = {}): Promise<LaunchedApp> {
  const exe = electronBinaryPath();
  if (!exe) throw new Error(SKIP_REASON);
  const { _electron } = await import('playwright-core');
  const home = o.home ?? mkdtempSync(path.join(os.tmpdir(), 'nestbox-e2e-home-'));
  const userData = mkdtempSync(path.join(os.tmpdir(), 'nestbox-e2e-profile-'));
  const x = await virtualDisplay();
  // Chromium refuses to run as root with its OS sandbox (CI containers run as root); the renderer's own
  // sandbox/contextIsolation settings are unaffected by this switch.
  const args = [ROOT, ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])];
  let app: ElectronApplication | null = null;
  try {
    app = await _electron.launch({
      executablePath: exe,
      args,
      cwd: ROOT,
      timeout: 60_000,
      env: {
        ...process.env,
        ...o.env,
        TART_HOME: home,
        HOME: home, // no ~/.docker/config.json of the machine
        NESTBOX_USER_DATA: userData,
        NESTBOX_E2E: '1',
        ...(x.display ? { DISPLAY: x.display } : {}),
        ELECTRON_ENABLE_LOGGING: '1',
      },
    });
    const window = await app.firstWindow({ timeout: 60_000 });
    const launched = app;
    return {
      app: launched,
      window,
      home,
      userData,
      async close() {
        // Quit without the running-VMs question: the test's VMs are stopped; force after 10 s.
        const proc = launched.process();
        await Promise.race([launched.close().catch(() => {}), new Promise((r) => setTimeout(r, 10_000))]);
        if (proc.exitCode === null) proc.kill('SIGKILL');
        x.stop();
        rmSync(userData, { recursive: true, force: true });
        if (!o.home) rmSync(home, { recursive: true, force: true });
      },
    };
  } catch (e) {
    if (app) app.process().kill('SIGKILL');
    x.stop();
    throw e;
  }
}

/** Polls `fn` until it returns a truthy value, or fails with what was awaited. */
import { waitFor } from '../../test/helpers';

export { waitFor };

