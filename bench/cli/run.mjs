#!/usr/bin/env node
// CLI latency benchmark: `nestbox list` (text and --format json) with 100 VMs in the library, side by side with
// `node -e 0` (the floor: Node's own startup) in the same run. Goal: `nestbox list` < 300 ms.
// Usage: node bench/cli/run.mjs [--vms 100] [--rounds 10]. Needs the Node build: node scripts/build.mjs node
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { Library } = require(path.join(root, 'dist/core/library/library.js'));
const { openHome } = require(path.join(root, 'dist/core/library/home.js'));
const { values } = parseArgs({ options: { vms: { type: 'string', default: '100' }, rounds: { type: 'string', default: '10' } } });
const count = Number(values.vms);
const rounds = Number(values.rounds);

const base = mkdtempSync(path.join(os.tmpdir(), 'nestbox-bench-cli-'));
const env = { ...process.env, TART_HOME: base };
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const time = (args) => {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  return { ms, out: r.stdout };
};
try {
  const lib = new Library(openHome(env));
  for (let i = 0; i < count; i++) await lib.create({ name: `vm-${String(i).padStart(3, '0')}`, diskSizeGB: 50 });
  const bin = path.join(root, 'bin', 'nestbox.js');
  const floor = [];
  const text = [];
  const json = [];
  let lines = 0;
  time([bin, 'list']); // warm the page cache
  for (let r = 0; r < rounds; r++) {
    floor.push(time(['-e', '0']).ms);
    const t = time([bin, 'list']);
    text.push(t.ms);
    lines = t.out.trim().split('\n').length - 1;
    json.push(time([bin, 'list', '--format', 'json']).ms);
  }
  const m = median(text);
  console.log(`library: ${count} VMs; \`nestbox list\` printed ${lines} rows`);
  console.log(`node -e 0 (startup floor): median ${median(floor).toFixed(0)} ms`);
  console.log(`nestbox list:               median ${m.toFixed(0)} ms (min ${Math.min(...text).toFixed(0)}, max ${Math.max(...text).toFixed(0)})`);
  console.log(`nestbox list --format json: median ${median(json).toFixed(0)} ms`);
  console.log(`ratio list/node-startup: ${(m / median(floor)).toFixed(2)}x; goal < 300 ms: ${m < 300 ? 'OK' : 'MISSED'}`);
} finally {
  rmSync(base, { recursive: true, force: true });
}
