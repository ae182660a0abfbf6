#!/usr/bin/env node
// Clone benchmark: Nestbox's clone of an 8 GiB raw disk holding 1 GiB of scattered data, side by side with
// `cp --sparse=always --reflink=auto` in the same run (alternating, warm page cache for both). Nestbox fsyncs the
// copy before renaming it into vms/ (crash safety), so `cp` + `sync FILE` is printed too: the same durability.
// Usage: node bench/clone/run.mjs [--dir DIR] [--rounds N] [--disk-gib 8] [--data-gib 1]
// Needs the Node build: node scripts/build.mjs node
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { Library } = require(path.join(root, 'dist/core/library/library.js'));
const { openHome } = require(path.join(root, 'dist/core/library/home.js'));

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: os.tmpdir() },
    rounds: { type: 'string', default: '3' },
    'disk-gib': { type: 'string', default: '8' },
    'data-gib': { type: 'string', default: '1' },
  },
});
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const rounds = Number(values.rounds);
const diskBytes = Number(values['disk-gib']) * GiB;
const dataBytes = Number(values['data-gib']) * GiB;

const base = mkdtempSync(path.join(values.dir, 'nestbox-bench-clone-'));
const fmtS = (ms) => (ms / 1000).toFixed(3) + ' s';
const fmtB = (b) => (b / MiB).toFixed(1) + ' MiB';
const alloc = (f) => statSync(f).blocks * 512;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  const lib = new Library(openHome({ TART_HOME: path.join(base, 'home') }));
  await lib.create({ name: 'src', diskSizeGB: 1 });
  const src = path.join(lib.dirOf('src'), 'disk.img');

  // 8 GiB sparse disk, 1 GiB of random data in 256 runs of 4 MiB spread evenly (like a fresh OS install's extents).
  const t0 = Date.now();
  const fd = openSync(src, 'w');
  ftruncateSync(fd, diskBytes);
  const runs = 256;
  const run = dataBytes / runs;
  const buf = randomBytes(run);
  const stride = Math.floor(diskBytes / runs / MiB) * MiB;
  for (let i = 0; i < runs; i++) {
    buf.writeUInt32LE(i + 1, 0);
    writeSync(fd, buf, 0, run, i * stride + (i % 7) * 64 * 1024);
  }
  closeSync(fd);
  console.log(`source: ${(diskBytes / GiB).toFixed(0)} GiB apparent, ${fmtB(alloc(src))} allocated (made in ${fmtS(Date.now() - t0)}) on ${values.dir}`);
  const cpVersion = spawnSync('cp', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0];

  const nb = [];
  const cp = [];
  const cpSync = [];
  let nbAlloc = 0;
  let cpAlloc = 0;
  let method = '';
  for (let r = 0; r < rounds; r++) {
    // cp
    const out = path.join(base, `cp-${r}.img`);
    let t = process.hrtime.bigint();
    const c = spawnSync('cp', ['--sparse=always', '--reflink=auto', src, out]);
    if (c.status !== 0) throw new Error(`cp failed: ${c.stderr}`);
    cp.push(Number(process.hrtime.bigint() - t) / 1e6);
    cpAlloc = alloc(out);
    rmSync(out);
    // cp + fsync of the copy: the same durability Nestbox gives (it fsyncs before renaming into vms/)
    t = process.hrtime.bigint();
    const c2 = spawnSync('sh', ['-c', 'cp --sparse=always --reflink=auto "$1" "$2" && sync "$2"', 'sh', src, out]);
    if (c2.status !== 0) throw new Error(`cp+sync failed: ${c2.stderr}`);
    cpSync.push(Number(process.hrtime.bigint() - t) / 1e6);
    rmSync(out);
    // nestbox (engine in-process: tmp dir, home lock, disk + nvram + config, MAC check, rename into vms/)
    t = process.hrtime.bigint();
    const res = await lib.clone('src', `dst-${r}`);
    nb.push(Number(process.hrtime.bigint() - t) / 1e6);
    method = res.method;
    nbAlloc = res.vm.disk.allocated;
    await lib.delete(`dst-${r}`);
  }
  const ratio = median(nb) / median(cp);
  console.log(`cp (${cpVersion}): ${cp.map(fmtS).join(', ')}  median ${fmtS(median(cp))}  allocated ${fmtB(cpAlloc)}`);
  console.log(`cp + sync FILE (same durability as nestbox): ${cpSync.map(fmtS).join(', ')}  median ${fmtS(median(cpSync))}`);
  console.log(`nestbox clone (${method}): ${nb.map(fmtS).join(', ')}  median ${fmtS(median(nb))}  allocated ${fmtB(nbAlloc)}`);
  console.log(`ratio nestbox/cp: ${ratio.toFixed(2)}x (goal <= 1.10x) ${ratio <= 1.1 ? 'OK' : 'MISSED'}; allocated ${nbAlloc === cpAlloc ? 'identical' : `differs by ${fmtB(nbAlloc - cpAlloc)}`}`);
  console.log(`ratio nestbox/(cp + sync): ${(median(nb) / median(cpSync)).toFixed(2)}x`);
} finally {
  rmSync(base, { recursive: true, force: true });
}
