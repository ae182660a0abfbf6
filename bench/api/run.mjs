#!/usr/bin/env node
// API benchmark: `nestbox serve` (the real CLI, in its own process) over a TART_HOME holding 200 VMs.
//  - 1,000 sequential `vm.list` round trips over the authenticated WebSocket: p50 / p99 / max latency (goal p99 < 20 ms);
//  - side by side, the same listing the way a script would get it without the server: `nestbox list --format json`
//    (a process per call) — printed as a ratio;
//  - the server's CPU while idle (a client connected and subscribed, nothing changing) over --idle seconds, from
//    /proc/<pid>/stat (goal ~0 %), with no VM running and again right after a burst of requests.
// Usage: node bench/api/run.mjs [--vms 200] [--calls 1000] [--idle 10]
// Needs the Node build (node scripts/build.mjs node).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, ftruncateSync, closeSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({ options: { vms: { type: 'string', default: '200' }, calls: { type: 'string', default: '1000' }, idle: { type: 'string', default: '10' } } });
const nVms = Number(values.vms);
const nCalls = Number(values.calls);
const idleSeconds = Number(values.idle);

const { newLinuxConfig, serializeConfig, MiB } = require(path.join(root, 'dist/core/library/config.js'));
const { connectBridge } = require(path.join(root, 'dist/server/node-client.js'));
const { createClient } = require(path.join(root, 'dist/api/wire.js'));

const NESTBOX = path.join(root, 'bin', 'nestbox.js');
const home = mkdtempSync(path.join(os.tmpdir(), 'nestbox-bench-api-'));
const env = { ...process.env, TART_HOME: home, CI: 'true' };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
const ms = (x) => `${x.toFixed(2)} ms`;

// ---- a library of nVms Tart-format VMs (config.json, sparse 20 GB disk.img, nvram.bin) ----
const t0 = Date.now();
for (let i = 0; i < nVms; i++) {
  const dir = path.join(home, 'vms', `vm-${String(i).padStart(3, '0')}`);
  mkdirSync(dir, { recursive: true });
  const c = newLinuxConfig({ arch: 'amd64', host: { cpus: os.cpus().length, memory: os.totalmem() }, cpu: 2, memory: 2048 * MiB });
  writeFileSync(path.join(dir, 'config.json'), serializeConfig(c));
  const fd = openSync(path.join(dir, 'disk.img'), 'w');
  ftruncateSync(fd, 20e9);
  closeSync(fd);
  writeFileSync(path.join(dir, 'nvram.bin'), '');
}
console.log(`library: ${nVms} VMs in ${home} (${Date.now() - t0} ms to make)`);

// ---- the server, as users run it ----
const server = spawn(process.execPath, [NESTBOX, 'serve', '--listen', '127.0.0.1:0', '--quiet'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
let stderr = '';
server.stderr.on('data', (d) => (stderr += d));
const url = await new Promise((resolve, reject) => {
  let out = '';
  server.stdout.on('data', (d) => {
    out += d;
    const m = /Nestbox is serving at (\S+)/.exec(out);
    if (m) resolve(m[1]);
  });
  server.on('exit', (code) => reject(new Error(`nestbox serve exited (${code}): ${stderr}`)));
});

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
const cpuTicks = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]); // utime + stime
};
const measureIdle = async (seconds) => {
  const a = cpuTicks(server.pid);
  const w0 = process.hrtime.bigint();
  await sleep(seconds * 1000);
  const b = cpuTicks(server.pid);
  const wall = Number(process.hrtime.bigint() - w0) / 1e9;
  return ((b - a) / CLK_TCK / wall) * 100;
};

try {
  const bridge = await connectBridge({ url });
  const client = createClient(bridge);
  let events = 0;
  bridge.subscribe(() => events++);

  // Warm-up (JIT, page cache), then the measured round trips.
  for (let i = 0; i < 20; i++) await client.request('vm.list', {});
  const lat = [];
  let items = 0;
  const cpu0 = cpuTicks(server.pid);
  const myCpu0 = process.cpuUsage();
  const tAll = process.hrtime.bigint();
  for (let i = 0; i < nCalls; i++) {
    const s = process.hrtime.bigint();
    const r = await client.request('vm.list', {});
    lat.push(Number(process.hrtime.bigint() - s) / 1e6);
    items = r.length;
  }
  const total = Number(process.hrtime.bigint() - tAll) / 1e6;
  const serverCpuPerCall = (((cpuTicks(server.pid) - cpu0) / CLK_TCK) * 1000) / nCalls;
  const cu = process.cpuUsage(myCpu0);
  const clientCpuPerCall = (cu.user + cu.system) / 1000 / nCalls;
  if (items !== nVms) throw new Error(`vm.list returned ${items} VMs, expected ${nVms}`);
  const bytes = JSON.stringify(await client.request('vm.list', {})).length;
  // Control: the smallest request, same socket — its tail is the machine's scheduling noise, not vm.list's work.
  const floor = [];
  for (let i = 0; i < nCalls; i++) {
    const s = process.hrtime.bigint();
    await client.request('image.checkReference', { reference: 'ghcr.io/a/b:c' });
    floor.push(Number(process.hrtime.bigint() - s) / 1e6);
  }

  // The peer: the same listing through the CLI, one process per call (what a script does without the server).
  const cli = [];
  for (let i = 0; i < 10; i++) {
    const s = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [NESTBOX, 'list', '--format', 'json'], { env, encoding: 'utf8' });
    cli.push(Number(process.hrtime.bigint() - s) / 1e6);
    if (r.status !== 0) throw new Error(`nestbox list failed: ${r.stderr}`);
  }

  const idleAfterBurst = await measureIdle(2);
  await sleep(500);
  const idle = await measureIdle(idleSeconds);

  console.log('');
  console.log(`host: ${os.cpus().length} cores, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' / ')} (other work on a shared machine inflates the tail)`);
  console.log(`vm.list over the WebSocket, ${nVms} VMs, ${nCalls} sequential round trips (${(bytes / 1024).toFixed(0)} KiB each):`);
  console.log(`  p50 ${ms(pct(lat, 50))}   p99 ${ms(pct(lat, 99))}   max ${ms(Math.max(...lat))}   throughput ${((nCalls / total) * 1000).toFixed(0)}/s   (goal p99 < 20 ms: ${pct(lat, 99) < 20 ? 'met' : 'NOT met'})`);
  console.log(`  control (smallest request, same socket): p50 ${ms(pct(floor, 50))}   p99 ${ms(pct(floor, 99))}`);
  console.log(`  CPU per round trip: server ${serverCpuPerCall.toFixed(2)} ms, client (parse + contract validation) ${clientCpuPerCall.toFixed(2)} ms — the rest of the tail is waiting for a core`);
  console.log(`  peer: \`nestbox list --format json\` (a process per call) median ${ms(pct(cli, 50))} → the server answers ${(pct(cli, 50) / pct(lat, 50)).toFixed(1)}× faster at p50`);
  console.log(`server CPU while idle (client connected, nothing changing): ${idle.toFixed(2)} % of one core over ${idleSeconds} s (goal ~0 %); first 2 s after the burst: ${idleAfterBurst.toFixed(2)} %`);
  console.log(`events received while idle: ${events}`);
  await bridge.close();
} finally {
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  rmSync(home, { recursive: true, force: true });
}
