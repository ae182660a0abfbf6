#!/usr/bin/env node
// Boot benchmark: time from `nestbox run NAME --no-graphics` to the test guest's banner on the serial console,
// side by side (alternating, same run) with the equivalent hand-written QEMU command booting a copy of the same
// disk. Prints the ratio (goal ≤ 1.05×), and how long `nestbox stop` returns after QEMU has exited (goal ≤ 1 s).
// Usage: node bench/boot/run.mjs [--rounds N] [--arch amd64|arm64]
// Needs the Node build (node scripts/build.mjs node), QEMU + OVMF/AAVMF, and apt access on the first run (guest build).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, arch: { type: 'string', default: 'amd64' } } });
const rounds = Number(values.rounds);
const arch = values.arch;

// The guest builder is TypeScript (test/guests/build.ts): bundle it once with esbuild.
const cacheDir = path.join(root, '.cache');
mkdirSync(cacheDir, { recursive: true });
const builder = path.join(cacheDir, 'bench-boot-guests.cjs');
const esb = spawnSync(path.join(root, 'node_modules', '.bin', 'esbuild'), [
  path.join(root, 'test/guests/build.ts'), '--bundle', '--platform=node', '--format=cjs', '--external:@nestbox/native',
  `--outfile=${builder}`, '--log-level=warning',
], { stdio: 'inherit' });
if (esb.status !== 0) process.exit(1);
const { makeGuestVm, ensureGuest, GUEST_BANNER } = require(builder);
const { findQemu, findFirmware } = require(path.join(root, 'dist/core/hypervisor/qemu/find.js'));

const home = mkdtempSync(path.join(os.tmpdir(), 'nestbox-bench-boot-'));
const env = { ...process.env, TART_HOME: home, CI: 'true' };
const NESTBOX = path.join(root, 'bin', 'nestbox.js');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (ms) => (ms / 1000).toFixed(2) + ' s';

function hasBanner(file) {
  try {
    return readFileSync(file, 'utf8').includes(GUEST_BANNER);
  } catch {
    return false;
  }
}

async function until(what, pred, timeoutMs = 300_000, stepMs = 10) {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(stepMs);
  }
  return performance.now();
}

function alive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z /.test(stat); // a zombie has exited
  } catch {
    return false;
  }
}

// When a process started, in ms since the host booted (/proc/<pid>/stat start ticks; 10 ms resolution), and the
// same clock now (/proc/uptime).
const uptimeMs = () => Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 1000;
const clkTck = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
function startedAtMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[19]) * 1000) / clkTck;
}

// CPU time (user + system, ms) a process has used: robust against other load on the host, unlike wall time.
function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / clkTck;
  } catch {
    return NaN;
  }
}

const cleanup = [];
process.on('exit', () => cleanup.forEach((f) => f()));

async function main() {
  await ensureGuest(arch);
  const vmDir = await makeGuestVm(home, 'bench', arch);
  const cfg = JSON.parse(readFileSync(path.join(vmDir, 'config.json'), 'utf8'));
  const handDir = path.join(home, 'hand');
  mkdirSync(handDir);
  spawnSync('cp', ['--sparse=always', path.join(vmDir, 'disk.img'), path.join(handDir, 'disk.img')]);
  const qemu = findQemu(arch);
  const fw = findFirmware(arch);
  spawnSync('cp', ['--sparse=always', fw.vars, path.join(handDir, 'vars.fd')]);
  const mem = `${Math.floor(cfg.memorySize / 1048576)}M`;
  const serialLog = path.join(handDir, 'serial.log');
  // What a person would type to boot this disk with UEFI, user networking and a serial log.
  // Same accelerator as Nestbox picked (learned from its warm-up run).
  let accel = 'tcg';
  const handArgs = () => [
    ...(arch === 'amd64' ? ['-machine', 'q35'] : ['-machine', 'virt', '-cpu', accel === 'tcg' ? 'cortex-a57' : 'host']),
    ...(arch === 'amd64' && accel !== 'tcg' ? ['-cpu', 'host'] : []),
    '-accel', accel, '-smp', String(cfg.cpuCount), '-m', mem,
    '-drive', `if=pflash,format=raw,readonly=on,file=${fw.code}`,
    '-drive', `if=pflash,format=raw,file=${path.join(handDir, 'vars.fd')}`,
    '-drive', `file=${path.join(handDir, 'disk.img')},format=raw,if=virtio`,
    '-nic', 'user,model=virtio-net-pci',
    '-display', 'none', '-serial', `file:${serialLog}`,
  ];

  async function bootHand() {
    rmSync(serialLog, { force: true });
    const e0 = uptimeMs();
    const t0 = performance.now();
    const p = spawn(qemu, handArgs(), { stdio: 'ignore' });
    const kill = () => p.exitCode === null && p.kill('SIGKILL');
    cleanup.push(kill);
    const qemuStart = startedAtMs(p.pid);
    const t1 = await until('hand-written QEMU banner', () => hasBanner(serialLog));
    const cpu = cpuMs(p.pid);
    kill();
    await new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once('exit', r)));
    return { boot: t1 - t0, pre: qemuStart - e0, cpu };
  }

  async function bootNestbox() {
    const log = path.join(vmDir, 'nestbox-serial.log');
    rmSync(log, { force: true });
    const e0 = uptimeMs();
    const t0 = performance.now();
    const p = spawn(process.execPath, [NESTBOX, 'run', 'bench', '--no-graphics'], { env, stdio: 'ignore' });
    cleanup.push(() => p.exitCode === null && p.kill('SIGKILL'));
    const rtFile = path.join(vmDir, 'nestbox-runtime.json');
    const wall0 = Date.now() - 1000;
    const fresh = () => {
      try {
        const r = JSON.parse(readFileSync(rtFile, 'utf8'));
        return Date.parse(r.startedAt) >= wall0 ? r : null;
      } catch {
        return null;
      }
    };
    await until('the runtime file of this run', () => fresh() !== null);
    const rt = fresh();
    accel = rt.accel;
    const qemuStart = startedAtMs(rt.pid);
    const t1 = await until('nestbox banner', () => hasBanner(log));
    const cpu = cpuMs(rt.pid);
    cleanup.push(() => {
      try {
        process.kill(rt.pid, 'SIGKILL');
      } catch {}
    });
    // `nestbox stop`: measure when QEMU exits and when the command returns.
    const stopT0 = performance.now();
    const stop = spawn(process.execPath, [NESTBOX, 'stop', 'bench'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stopErr = '';
    stop.stderr.on('data', (d) => (stopErr += d));
    stop.once('exit', (code) => code !== 0 && console.error(`nestbox stop exited ${code}: ${stopErr.trim()}`));
    let qemuExit = 0;
    const watch = (async () => {
      qemuExit = await until('QEMU exit', () => !alive(rt.pid), 120_000, 2);
    })();
    const stopReturn = await new Promise((r) => stop.once('exit', () => r(performance.now())));
    await watch;
    await new Promise((r) => (p.exitCode !== null ? r() : p.once('exit', r)));
    return { boot: t1 - t0, pre: qemuStart - e0, cpu, stopTotal: stopReturn - stopT0, afterExit: stopReturn - qemuExit };
  }

  console.log(`boot benchmark (${arch}, ${cfg.cpuCount} CPU, ${mem}); warm-up…`);
  await bootNestbox();
  await bootHand();
  console.log(`accelerator: ${accel}`);
  const hand = [];
  const nb = [];
  for (let i = 0; i < rounds; i++) {
    const h = await bootHand();
    const n = await bootNestbox();
    hand.push(h);
    nb.push(n);
    console.log(
      `round ${i + 1}: hand-written QEMU ${fmt(h.boot)} (QEMU up after ${Math.round(h.pre)} ms, CPU ${fmt(h.cpu)})   ` +
        `nestbox run ${fmt(n.boot)} (QEMU up after ${Math.round(n.pre)} ms, CPU ${fmt(n.cpu)})   ` +
        `nestbox stop ${fmt(n.stopTotal)}, returned ${Math.round(n.afterExit)} ms after QEMU exited`,
    );
  }
  const mh = median(hand.map((x) => x.boot));
  const mn = median(nb.map((x) => x.boot));
  const added = median(nb.map((x) => x.pre)) - median(hand.map((x) => x.pre));
  const after = Math.max(...nb.map((x) => x.afterExit));
  console.log(`median run → banner: hand-written QEMU ${fmt(mh)}, nestbox run ${fmt(mn)} → ratio ${(mn / mh).toFixed(3)}× (goal ≤ 1.05×)`);
  const ch = median(hand.map((x) => x.cpu));
  const cn = median(nb.map((x) => x.cpu));
  console.log(`median QEMU CPU time to the banner: hand-written ${fmt(ch)}, nestbox ${fmt(cn)} → ratio ${(cn / ch).toFixed(3)}× (guest work for the machine each builds; insensitive to host load)`);
  console.log(`time Nestbox adds before QEMU starts (median, ±10 ms): ${Math.round(added)} ms → ratio from the fixed overhead ${((mh + added) / mh).toFixed(3)}×`);
  console.log(`nestbox stop returned at most ${Math.round(after)} ms after QEMU exited (goal ≤ 1000 ms)`);
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`host load average ${load} on ${os.cpus().length} CPUs (TCG boot times swing with load; compare the fixed overhead)`);
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => {
    if (existsSync(home) && statSync(home).isDirectory()) rmSync(home, { recursive: true, force: true });
  });
