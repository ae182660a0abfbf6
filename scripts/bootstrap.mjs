#!/usr/bin/env node
// Installs dependencies when they are missing or stale, with ELECTRON_SKIP_BINARY_DOWNLOAD=1 so the install
// works on machines that cannot reach Electron's download (CI, headless hosts). `npm start` fetches the
// Electron binary afterwards where it can (scripts/start.mjs).
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const marker = path.join(root, 'node_modules', '.package-lock.json');
const lock = path.join(root, 'package-lock.json');
const addon = path.join(root, 'native', 'build', 'Release', 'nestbox_native.node');

const stale =
  !existsSync(marker) ||
  !existsSync(addon) ||
  (existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs + 1000);

if (stale) {
  const cmd = existsSync(lock) ? 'ci' : 'install';
  console.error(`nestbox: installing dependencies (npm ${cmd}, Electron binary download skipped)…`);
  const r = spawnSync('npm', [cmd, '--no-audit', '--no-fund'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1', JOBS: process.env.JOBS ?? '2' },
  });
  if (r.status !== 0) {
    console.error(`nestbox: npm ${cmd} failed (exit ${r.status}). Fix the error above, then run the command again.`);
    process.exit(r.status ?? 1);
  }
}
