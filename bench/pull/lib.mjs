// Shared setup for bench/pull and bench/push: a 4 GiB Tart-style VM disk (about a quarter zeros, the rest a mix of
// random and real binary data from /usr), local docker-registry instances, and timed child processes with peak RSS
// (/usr/bin/time). Requires the built CLI (node scripts/build.mjs node).
import { spawn, spawnSync } from 'node:child_process';
import { randomFillSync, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync, ftruncateSync, lstatSync } from 'node:fs';
import net from 'node:net';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = path.join(ROOT, 'bin', 'nestbox.js');
const MiB = 1024 * 1024;

export const DISK_SIZE = Number(process.env.BENCH_DISK_GIB ?? 4) * 1024 * MiB;

function* binaryFiles(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* binaryFiles(p);
    else if (e.isFile()) yield p;
  }
}

/** Writes (or reuses) the benchmark disk: per 4 MiB piece, 25 % zeros (holes), 35 % random, 40 % binaries. */
export function benchDisk(dir) {
  const file = path.join(dir, `disk-${DISK_SIZE}.img`);
  const marker = `${file}.done`;
  if (existsSync(marker) && statSync(file).size === DISK_SIZE) return file;
  mkdirSync(dir, { recursive: true });
  const fd = openSync(file, 'w');
  ftruncateSync(fd, DISK_SIZE);
  const piece = Buffer.alloc(4 * MiB);
  const files = binaryFiles('/usr/lib');
  let cur = null;
  let curOff = 0;
  const fillBinary = (buf) => {
    let o = 0;
    while (o < buf.length) {
      if (!cur || curOff >= cur.length) {
        let n = files.next();
        if (n.done) throw new Error('ran out of binary files');
        try {
          cur = readFileSync(n.value);
        } catch {
          cur = null;
          continue;
        }
        curOff = 0;
        if (cur.length < 4096) continue;
      }
      const k = Math.min(buf.length - o, cur.length - curOff);
      cur.copy(buf, o, curOff, curOff + k);
      o += k;
      curOff += k;
    }
  };
  let seed = 12345;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % 100);
  for (let off = 0; off < DISK_SIZE; off += piece.length) {
    const r = rnd();
    if (r < 25) continue; // hole
    if (r < 60) randomFillSync(piece);
    else fillBinary(piece);
    writeSync(fd, piece, 0, piece.length, off);
  }
  closeSync(fd);
  writeFileSync(marker, '');
  return file;
}

export function makeVm(home, name, diskFile) {
  const vm = path.join(home, 'vms', name);
  mkdirSync(vm, { recursive: true });
  mkdirSync(path.join(home, 'tmp'), { recursive: true });
  writeFileSync(path.join(vm, 'config.json'), JSON.stringify({ version: 1, os: 'linux', arch: 'arm64', cpuCountMin: 4, cpuCount: 4, memorySizeMin: 4294967296, memorySize: 4294967296, macAddress: '7e:1c:f2:4a:78:30', display: { width: 1024, height: 768 } }));
  writeFileSync(path.join(vm, 'nvram.bin'), Buffer.alloc(1024 * 1024, 0));
  // sparse copy (holes kept)
  const r = spawnSync('cp', ['--sparse=always', diskFile, path.join(vm, 'disk.img')]);
  if (r.status !== 0) throw new Error('cp failed');
  return vm;
}

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

export async function startRegistry() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nestbox-bench-registry-'));
  const port = await freePort();
  const cfg = path.join(dir, 'config.yml');
  writeFileSync(cfg, `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/storage\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n  secret: ${randomBytes(8).toString('hex')}\n`);
  const proc = spawn('docker-registry', ['serve', cfg], { stdio: 'ignore' });
  const deadline = Date.now() + 20000;
  for (;;) {
    const ok = await new Promise((resolve) => {
      http.get(`http://127.0.0.1:${port}/v2/`, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      }).on('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) throw new Error('registry did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host: `127.0.0.1:${port}`,
    stop: async () => {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs a command under /usr/bin/time; returns wall seconds and peak RSS (bytes). Throws on failure. */
export function timed(label, cmd, args, env = process.env) {
  return new Promise((resolve, reject) => {
    const out = path.join(os.tmpdir(), `nestbox-bench-time-${process.pid}-${Date.now()}`);
    const t0 = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', '%e %M %U %S', '-o', out, cmd, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err = (err + d).slice(-3000)));
    child.on('exit', (code) => {
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      const [, rssKb, user, sys] = readFileSync(out, 'utf8').trim().split('\n').pop().split(' ');
      rmSync(out, { force: true });
      if (code !== 0) return reject(new Error(`${label} failed (${code}): ${err}`));
      resolve({ label, seconds: wall, rss: Number(rssKb) * 1024, cpu: Number(user) + Number(sys) });
    });
  });
}

export function dirBytes(p) {
  let n = 0;
  const st = lstatSync(p);
  if (st.isFile()) return st.size;
  if (st.isDirectory()) for (const e of readdirSync(p)) n += dirBytes(path.join(p, e));
  return n;
}

export function blobSizes(home, host, repo, tag) {
  const m = JSON.parse(readFileSync(path.join(home, 'cache', 'OCIs', encodeURIComponent(host), ...repo.split('/'), tag, 'manifest.json'), 'utf8'));
  return m.layers.filter((l) => /disk/.test(l.mediaType)).reduce((s, l) => s + l.size, 0);
}

export const mb = (n) => (n / 1e6).toFixed(0);
export function report(rows, base) {
  console.log('');
  console.log(`${'run'.padEnd(34)} ${'time s'.padStart(8)} ${'CPU s'.padStart(7)} ${'disk MB/s'.padStart(10)} ${'peak RSS MB'.padStart(12)} ${'vs ' + base.label}`);
  for (const r of rows) {
    console.log(`${r.label.padEnd(34)} ${r.seconds.toFixed(2).padStart(8)} ${r.cpu.toFixed(2).padStart(7)} ${(DISK_SIZE / 1e6 / r.seconds).toFixed(0).padStart(10)} ${mb(r.rss).padStart(12)} ${(r.seconds / base.seconds).toFixed(2)}×`);
  }
}

export function freshHome(prefix) {
  const h = mkdtempSync(path.join(os.tmpdir(), prefix));
  mkdirSync(path.join(h, 'tmp'));
  mkdirSync(path.join(h, 'cache'));
  return h;
}
