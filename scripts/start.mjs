#!/usr/bin/env node
// `npm start`: the desktop app where Electron can run; `nestbox serve` (a browser UI) where it cannot.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const hasDisplay = process.platform === 'darwin' || process.platform === 'win32' || !!(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);

/**
 * The Electron executable, or null. Read from node_modules/electron/path.txt (written by electron's install
 * script after a successful download) — `require('electron')` would try to download it again.
 */
function electronBinary() {
  const dir = path.join(root, 'node_modules', 'electron');
  try {
    const rel = readFileSync(path.join(dir, 'path.txt'), 'utf8').trim();
    const exe = path.join(process.env.ELECTRON_OVERRIDE_DIST_PATH || path.join(dir, 'dist'), rel);
    return rel && existsSync(exe) ? exe : null;
  } catch {
    return null;
  }
}

let electron = electronBinary();
if (!electron && hasDisplay && !process.env.NESTBOX_NO_ELECTRON) {
  console.error('nestbox: fetching the Electron binary…');
  spawnSync(process.execPath, [path.join(root, 'node_modules', 'electron', 'install.js')], {
    cwd: root, stdio: 'inherit', env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '' },
  });
  electron = electronBinary();
}

const args = process.argv.slice(2);
if (electron && hasDisplay && !process.env.NESTBOX_NO_ELECTRON) {
  const child = spawn(electron, [root, ...args], { stdio: 'inherit' });
  child.on('exit', (code) => process.exit(code ?? 0));
} else {
  console.error(
    hasDisplay
      ? 'nestbox: the Electron binary is not available (no download access); opening the web UI instead.'
      : 'nestbox: no display; serving the web UI instead (open the URL below in a browser).',
  );
  const child = spawn(process.execPath, [path.join(root, 'bin', 'nestbox.js'), 'serve', ...(hasDisplay ? ['--open'] : []), ...args], { stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code) => process.exit(code ?? 0));
}
