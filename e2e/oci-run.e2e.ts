/**
 * The OCI issue's "done when", end to end with real parts: a bootable VM is pushed to a real docker-registry in
 * Tart's format, cloned back from the registry into a new VM (pull + clone), and that VM boots under QEMU to the
 * guest's banner and stops — all through the built `nestbox` CLI.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runningPid } from '../app/core/library/locks';
import { ensureGuest, GUEST_BANNER, makeGuestVm } from '../test/guests/build';
import { nestbox, processesMatching, tempHome, waitFor, type TempHome } from '../test/helpers';
import { startRegistry, type StartedRegistry } from '../test/helpers/registry';

let home: TempHome;
let registry: StartedRegistry;

function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file, { highWaterMark: 4 << 20 })
      .on('data', (d) => h.update(d))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

/** QEMU processes working on this test's home (found through /proc, so nothing else is touched). */
const qemuPids = () => processesMatching(/qemu-system/, home.root);

beforeAll(async () => {
  home = tempHome('nboci-run-');
  await ensureGuest('amd64');
  registry = await startRegistry();
});

afterAll(async () => {
  for (const pid of qemuPids()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  await registry?.stop();
  const left = await waitFor('leftover QEMU to exit', () => (qemuPids().length === 0 ? [] : null), 10_000).catch(() => qemuPids());
  home.cleanup();
  expect(left).toEqual([]);
});

describe('push → clone from the registry → run', () => {
  const image = () => `${registry.host}/nestbox/test-guest:v1`;

  it('a VM pushed in Tart format clones back byte for byte, keeps its holes, and boots to the banner', async () => {
    const srcDir = await makeGuestVm(home.root, 'golden', 'amd64', { cpu: 1, memoryMiB: 384 });

    const push = await nestbox(['push', 'golden', image(), '--insecure'], home.env);
    expect(push.stderr + push.stdout).not.toMatch(/Error:/);
    expect(push.code).toBe(0);

    const clone = await nestbox(['clone', image(), 'from-registry', '--insecure'], home.env);
    expect(clone.stderr).not.toMatch(/Error:/);
    expect(clone.code).toBe(0);

    // The cache holds the image under Tart's layout, and the new VM is a separate local VM.
    const list = JSON.parse((await nestbox(['list', '--format', 'json'], home.env)).stdout) as { Name: string; Source: string }[];
    expect(list.map((e) => `${e.Source}:${e.Name}`)).toEqual(expect.arrayContaining(['local:from-registry', 'local:golden', `OCI:${image()}`]));

    const dstDir = path.join(home.root, 'vms', 'from-registry');
    const [a, b] = [path.join(srcDir, 'disk.img'), path.join(dstDir, 'disk.img')];
    expect(statSync(b).size).toBe(statSync(a).size);
    expect(await sha256File(b)).toBe(await sha256File(a));
    // Holes stay holes through push, pull and clone (the guest disk is mostly empty).
    expect(statSync(b).blocks * 512).toBeLessThanOrEqual(statSync(a).blocks * 512 + (8 << 20));
    // Tart's rule: the clone of an image whose MAC another local VM already uses gets a fresh one.
    const macOf = (d: string) => (JSON.parse(readFileSync(path.join(d, 'config.json'), 'utf8')) as { macAddress: string }).macAddress;
    expect(macOf(dstDir)).not.toBe(macOf(srcDir));

    const run = await nestbox(['run', 'from-registry', '--no-graphics', '--detach'], home.env);
    expect(run.stderr).not.toMatch(/Error:/);
    expect(run.code).toBe(0);
    const log = path.join(dstDir, 'nestbox-serial.log');
    await waitFor('the guest banner on the serial console', () => {
      try {
        return readFileSync(log, 'utf8').includes(GUEST_BANNER);
      } catch {
        return false;
      }
    }, 240_000);
    expect(runningPid(dstDir)).not.toBe(0);

    const stop = await nestbox(['stop', 'from-registry', '--timeout', '60'], home.env);
    expect(stop.code).toBe(0);
    expect(runningPid(dstDir)).toBe(0);
    expect(qemuPids()).toEqual([]);
  });
});
