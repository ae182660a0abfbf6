/** Disk space: pre-check, Tart's auto-prune, and ENOSPC mid-pull, on small real filesystems (tmpfs mounts). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statfsSync, symlinkSync, utimesSync, writeFileSync, writeSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pushTestImage, startRegistry, type StartedRegistry } from '../helpers/registry';
import { homePaths, openHome } from '../../app/core/library/home';
import { pull } from '../../app/core/oci/pull';
import { CredentialStore } from '../../app/core/oci/credentials';
import { NOOP_TASK } from '../../app/core/tasks/context';

const MiB = 1024 * 1024;
/** tmpfs mounts need root (CAP_SYS_ADMIN); checked once by mounting a tiny one. */
const canMount = (() => {
  if (process.platform !== 'linux') return false;
  const d = mkdtempSync(path.join(os.tmpdir(), 'nestbox-mount-probe-'));
  const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', d]).status === 0;
  if (ok) spawnSync('umount', [d]);
  rmSync(d, { recursive: true, force: true });
  return ok;
})();

let reg: StartedRegistry;
const mounts: string[] = [];
const anon = new CredentialStore([]);
const random = (n: number, seed: number) => {
  const b = Buffer.alloc(n);
  let s = seed;
  for (let i = 0; i < n; i += 4) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    b.writeInt32LE(s | 0, i);
  }
  return b;
};

function smallFs(mib: number): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'nestbox-smallfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mib}m`, 'tmpfs', d]);
  mounts.push(d);
  return d;
}

beforeAll(async () => {
  if (!canMount) return;
  reg = await startRegistry();
  await pushTestImage(reg.host, 'space/big:v1', random(64 * MiB, 5), { layerSize: 16 * MiB });
  await pushTestImage(reg.host, 'space/small:v1', random(20 * MiB, 6), { layerSize: 4 * MiB });
});
afterAll(async () => {
  await reg?.stop();
  for (const m of mounts) {
    if (spawnSync('umount', [m]).status !== 0) spawnSync('umount', ['-l', m]);
    rmSync(m, { recursive: true, force: true });
  }
});

describe.skipIf(!canMount)('disk space (tmpfs as TART_HOME; needs root to mount)', () => {
  it('fails before downloading when the disk cannot fit and auto-prune is off', async () => {
    const root = smallFs(48);
    const env = { ...process.env, TART_HOME: root, TART_NO_AUTO_PRUNE: '1' };
    const err = await pull(openHome(env), `${reg.host}/space/big:v1`, { insecure: true, credentials: anon, env }, NOOP_TASK).catch((e) => e);
    expect(err).toMatchObject({ code: 'NO_SPACE', message: expect.stringMatching(/needs 0\.2\d GB .*free/) });
    expect(statfsSync(root).bfree * statfsSync(root).bsize).toBeGreaterThan(40 * MiB); // nothing was written
  });

  it("auto-prunes least recently used cache entries (Tart's rule) to make room", async () => {
    const root = smallFs(240);
    const env: NodeJS.ProcessEnv = { ...process.env, TART_HOME: root };
    delete env.TART_NO_AUTO_PRUNE;
    const home = homePaths(root);
    // an old cached image taking 100 MiB
    const old = path.join(home.ocis, 'old.example', 'img', `sha256:${'c'.repeat(64)}`);
    mkdirSync(old, { recursive: true });
    writeFileSync(path.join(old, 'disk.img'), Buffer.alloc(100 * MiB, 1));
    writeFileSync(path.join(old, 'config.json'), '{}');
    writeFileSync(path.join(old, 'nvram.bin'), '');
    symlinkSync(old, path.join(home.ocis, 'old.example', 'img', 'v1'));
    const day = new Date(Date.now() - 30 * 86_400_000);
    utimesSync(old, day, day);
    const logs: string[] = [];
    const r = await pull(openHome(env), `${reg.host}/space/big:v1`, { insecure: true, credentials: anon, env }, { ...NOOP_TASK, log: (m) => logs.push(m) });
    expect(existsSync(old)).toBe(false);
    expect(logs.join('\n')).toMatch(/Pruned old\.example\/img@sha256:c{64}/);
    expect(readFileSync(path.join(r.dir, 'disk.img')).equals(random(64 * MiB, 5))).toBe(true);
  });

  it('ENOSPC in the middle of a pull becomes a clear NO_SPACE error, and the pull resumes once space is back', async () => {
    const root = smallFs(168); // 20 MiB disk + 128 MiB margin fits
    const env = { ...process.env, TART_HOME: root, TART_NO_AUTO_PRUNE: '1' };
    const filler = path.join(root, 'filler');
    let filled = false;
    const err = await pull(openHome(env), `${reg.host}/space/small:v1`, { insecure: true, credentials: anon, env, concurrency: 1 }, {
      ...NOOP_TASK,
      progress: (u) => {
        if (!filled && (u.done ?? 0) > 0) {
          filled = true;
          // fill the filesystem up (the pull keeps writing meanwhile, so write until ENOSPC)
          const fd = openSync(filler, 'w');
          const chunk = Buffer.alloc(MiB);
          try {
            for (;;) writeSync(fd, chunk);
          } catch {}
          closeSync(fd);
        }
      },
    }).catch((e) => e);
    expect(filled).toBe(true);
    expect(err).toMatchObject({ code: 'NO_SPACE', message: expect.stringMatching(/Not enough disk space/) });
    rmSync(filler);
    const r = await pull(openHome(env), `${reg.host}/space/small:v1`, { insecure: true, credentials: anon, env }, NOOP_TASK);
    expect(readFileSync(path.join(r.dir, 'disk.img')).equals(random(20 * MiB, 6))).toBe(true);
  });
});
