#!/usr/bin/env node
// `npm start`: the desktop app where Electron can run; `nestbox serve` (a browser UI) where it cannot.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const hasDisplay = process.platform === 'darwin' || process.platform === 'win32' || !!(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);

function electronBinary() {
  try {
    const p = require('electron'); // under plain Node this is the binary's path
    return typeof p === 'string' && existsSync(p) ? p : null;
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
