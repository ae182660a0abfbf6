#!/usr/bin/env node
// Pull benchmark: Nestbox pull (fetch + decode + verify + write a sparse 4 GiB disk) vs `skopeo copy docker://… dir:…`
// (moves the compressed blobs only) of the same image from a local docker-registry, side by side in one run.
// Usage: node scripts/build.mjs node && node bench/pull/run.mjs     (BENCH_DISK_GIB=1 for a quicker run)
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, DISK_SIZE, benchDisk, blobSizes, dirBytes, freshHome, makeVm, mb, report, startRegistry, timed } from './lib.mjs';

const data = path.join(os.tmpdir(), 'nestbox-bench-data');
console.log(`Preparing a ${(DISK_SIZE / 2 ** 30).toFixed(0)} GiB disk (25 % zeros, 35 % random, 40 % binaries from /usr/lib)…`);
const disk = benchDisk(data);
const src = freshHome('nestbox-bench-src-');
makeVm(src, 'vm', disk);
const reg = await startRegistry();
const homes = [src];
const env = (home) => ({ ...process.env, TART_HOME: home, HOME: home, CI: '1' });
try {
  console.log('Pushing the image to the local registry (lz4 and zstd)…');
  await timed('setup push lz4', process.execPath, [BIN, 'push', 'vm', `${reg.host}/bench/img:lz4`, '--insecure'], env(src));
  await timed('setup push zstd', process.execPath, [BIN, 'push', 'vm', `${reg.host}/bench/img:zstd`, '--insecure', '--compression', 'zstd'], env(src));

  const skoHome = freshHome('nestbox-bench-skopeo-');
  homes.push(skoHome);
  const skoDir = path.join(skoHome, 'dir');
  const rows = [];
  const sko = await timed('skopeo copy docker:// → dir:', 'skopeo', ['copy', '--src-tls-verify=false', `docker://${reg.host}/bench/img:lz4`, `dir:${skoDir}`], env(skoHome));
  rows.push(sko);
  const a = freshHome('nestbox-bench-pull-');
  homes.push(a);
  rows.push(await timed('nestbox pull (lz4, disk.v2)', process.execPath, [BIN, 'pull', `${reg.host}/bench/img:lz4`, '--insecure'], env(a)));
  const z = freshHome('nestbox-bench-pullz-');
  homes.push(z);
  rows.push(await timed('nestbox pull (zstd)', process.execPath, [BIN, 'pull', `${reg.host}/bench/img:zstd`, '--insecure'], env(z)));

  const pulled = path.join(a, 'cache', 'OCIs', encodeURIComponent(reg.host), 'bench', 'img', 'lz4', 'disk.img');
  execFileSync('cmp', [disk, pulled]);
  const lz4 = blobSizes(a, reg.host, 'bench/img', 'lz4');
  const zst = blobSizes(z, reg.host, 'bench/img', 'zstd');
  report(rows, sko);
  console.log('');
  console.log(`disk ${mb(DISK_SIZE)} MB; compressed disk layers: lz4 ${mb(lz4)} MB, zstd ${mb(zst)} MB (zstd ${((1 - zst / lz4) * 100).toFixed(1)} % smaller); skopeo moved ${mb(dirBytes(skoDir))} MB`);
  console.log(`pulled disk.img is byte-identical to the source (cmp); allocated ${mb(Number(execFileSync('stat', ['-c', '%b', pulled]).toString()) * 512)} MB of ${mb(DISK_SIZE)} MB (holes kept)`);
  console.log(`ratio nestbox pull / skopeo: ${(rows[1].seconds / sko.seconds).toFixed(2)}× (goal ≤ 1.0, aim 0.5); zstd pull / lz4 pull: ${(rows[2].seconds / rows[1].seconds).toFixed(2)}×`);
} finally {
  await reg.stop();
  for (const h of homes) rmSync(h, { recursive: true, force: true });
}
