#!/usr/bin/env node
// `npm run bench [-- NAME…]`: runs the benchmarks in bench/<NAME>/run.mjs one after another (all when no name is
// given). Each prints its own numbers and the ratio against the peer it runs side by side (cp, skopeo, QEMU, …).
// Benchmarks need a build (dist/) and, for some, the apt packages .ci/run installs.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const all = readdirSync(path.join(root, 'bench')).filter((d) => existsSync(path.join(root, 'bench', d, 'run.mjs'))).sort();
const names = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = names.filter((n) => !all.includes(n));
if (unknown.length) {
  console.error(`bench: no benchmark named ${unknown.join(', ')}. Available: ${all.join(', ')}.`);
  process.exit(1);
}
let failed = 0;
for (const name of names.length ? names : all) {
  console.log(`\n=== bench/${name} ===`);
  const r = spawnSync(process.execPath, [path.join(root, 'bench', name, 'run.mjs')], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.error(`bench/${name} exited with ${r.status ?? r.signal}`);
  }
}
process.exit(failed ? 1 : 0);
