#!/usr/bin/env node
// Builds every part: Node side (tsc → dist/), the sandboxed preload (one bundled file), the renderer (Vite).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const run = (label, cmd, args) => {
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`build: ${label} failed`);
    process.exit(r.status ?? 1);
  }
  if (process.env.NESTBOX_BUILD_VERBOSE) console.error(`build: ${label} ${Date.now() - t0} ms`);
};

/** The renderer checks replies and events against JSON Schema generated from the zod contract (app/api/jsonSchema.ts). */
function writeContractSchema() {
  const gen = path.join(root, 'dist', 'api', 'jsonSchema.js');
  if (!existsSync(gen)) return;
  const file = path.join(root, 'app', 'api', 'contract.schema.json');
  const text = createRequire(import.meta.url)(gen).contractSchemaFile();
  if (!existsSync(file) || readFileSync(file, 'utf8') !== text) writeFileSync(file, text);
}

const only = process.argv[2];
if (!only || only === 'node') run('tsc', bin('tsc'), ['-p', 'tsconfig.json']);
if (!only || only === 'node' || only === 'renderer') writeContractSchema();
if (!only || only === 'preload') {
  // A sandboxed preload cannot require() local files, so it is bundled into one CommonJS file.
  run('preload', bin('esbuild'), [
    'app/preload/preload.ts', '--bundle', '--platform=node', '--format=cjs', '--target=node20',
    '--external:electron', '--outfile=dist/preload/preload.js', '--log-level=warning',
  ]);
}
if (!only || only === 'renderer') {
  run('renderer typecheck', bin('tsc'), ['-p', 'app/renderer/tsconfig.json', '--noEmit']);
  run('renderer', bin('vite'), ['build', '--config', 'vite.config.mts', '--logLevel', 'warn']);
}
