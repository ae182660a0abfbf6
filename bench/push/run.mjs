#!/usr/bin/env node
// Push benchmark: Nestbox push (read + compress in worker threads + hash + upload a 4 GiB disk) vs
// `skopeo copy dir:… docker://…` (uploads already-compressed blobs) into fresh local docker-registry instances.
// Usage: node scripts/build.mjs node && node bench/push/run.mjs     (BENCH_DISK_GIB=1 for a quicker run)
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, DISK_SIZE, benchDisk, freshHome, makeVm, report, startRegistry, timed } from '../pull/lib.mjs';

const data = path.join(os.tmpdir(), 'nestbox-bench-data');
console.log(`Preparing a ${(DISK_SIZE / 2 ** 30).toFixed(0)} GiB disk (25 % zeros, 35 % random, 40 % binaries from /usr/lib)…`);
const disk = benchDisk(data);
const src = freshHome('nestbox-bench-src-');
makeVm(src, 'vm', disk);
const homes = [src];
const regs = [];
const env = (home) => ({ ...process.env, TART_HOME: home, HOME: home, CI: '1' });
try {
  const rows = [];
  const r1 = await startRegistry();
  regs.push(r1);
  const nb = await timed('nestbox push (lz4, disk.v2)', process.execPath, [BIN, 'push', 'vm', `${r1.host}/bench/img:v1`, '--insecure'], env(src));
  // skopeo's input: the same image as an OCI dir layout (not timed)
  const skoHome = freshHome('nestbox-bench-skopeo-');
  homes.push(skoHome);
  const skoDir = path.join(skoHome, 'dir');
  await timed('setup skopeo pull', 'skopeo', ['copy', '--src-tls-verify=false', `docker://${r1.host}/bench/img:v1`, `dir:${skoDir}`], env(skoHome));
  const r2 = await startRegistry();
  regs.push(r2);
  const skoHome2 = freshHome('nestbox-bench-skopeo2-'); // fresh blob-info cache: no cross-repo shortcuts
  homes.push(skoHome2);
  const sko = await timed('skopeo copy dir: → docker://', 'skopeo', ['copy', '--dest-tls-verify=false', `dir:${skoDir}`, `docker://${r2.host}/bench/img:v1`], env(skoHome2));
  const r3 = await startRegistry();
  regs.push(r3);
  const z = await timed('nestbox push (zstd)', process.execPath, [BIN, 'push', 'vm', `${r3.host}/bench/img:v1`, '--insecure', '--compression', 'zstd'], env(src));
  rows.push(sko, nb, z);
  report(rows, sko);
  console.log('');
  console.log(`ratio nestbox push / skopeo: ${(nb.seconds / sko.seconds).toFixed(2)}× (goal ≤ 1.3)`);
} finally {
  for (const r of regs) await r.stop();
  for (const h of homes) rmSync(h, { recursive: true, force: true });
}
