import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, statSync, readlinkSync, existsSync } from 'node:fs';
import path from 'node:path';
import { tempHome, type TempHome } from '../helpers';
import { pushTestImage, startRegistry, type StartedRegistry } from '../helpers/registry';
import { openHome } from '../../app/core/library/home';
import { pull } from '../../app/core/oci/pull';
import { listCachedImages } from '../../app/core/oci/cache';
import { CredentialStore } from '../../app/core/oci/credentials';
import { NOOP_TASK, type ProgressUpdate } from '../../app/core/tasks/context';
import { makeDisk } from './disks';

const MiB = 1024 * 1024;
let reg: StartedRegistry;
const homes: TempHome[] = [];
const anon = new CredentialStore([]);

beforeAll(async () => {
  reg = await startRegistry();
});
afterAll(async () => {
  await reg?.stop();
  for (const h of homes) h.cleanup();
});

function home() {
  const th = tempHome();
  homes.push(th);
  return openHome(th.env);
}

describe('push → pull round trips through a real registry', () => {
  for (const [label, size, layerSize, compression] of [
    ['lz4, several 4 MiB layers, uneven last', 21 * MiB + 12345, 4 * MiB, 'lz4'],
    ['lz4, one layer', 3 * MiB + 7, 8 * MiB, 'lz4'],
    ['zstd, 5 MiB layers', 17 * MiB + 999, 5 * MiB, 'zstd'],
  ] as const) {
    it(label, async () => {
      const disk = makeDisk(size, size);
      const repo = `rt/${compression}-${size}`;
      const { digest } = await pushTestImage(reg.host, `${repo}:v1`, disk, { layerSize, compression });
      const h = home();
      const updates: ProgressUpdate[] = [];
      const res = await pull(h, `${reg.host}/${repo}:v1`, { insecure: true, credentials: anon }, { ...NOOP_TASK, progress: (u) => updates.push(u) });
      expect(res.digest).toBe(digest);
      const got = readFileSync(path.join(res.dir, 'disk.img'));
      expect(got.length).toBe(disk.length);
      expect(got.equals(disk)).toBe(true);
      // zero regions stayed holes
      expect(statSync(path.join(res.dir, 'disk.img')).blocks * 512).toBeLessThan(disk.length);
      // Tart layout: tag symlink → digest dir named sha256:<hex>, port percent-encoded
      const link = path.join(h.ocis, encodeURIComponent(reg.host), ...repo.split('/'), 'v1');
      expect(readlinkSync(link)).toBe(res.dir);
      expect(path.basename(res.dir)).toBe(digest);
      expect(existsSync(path.join(res.dir, 'manifest.json'))).toBe(true);
      expect(JSON.parse(readFileSync(path.join(res.dir, 'config.json'), 'utf8')).os).toBe('linux');
      const last = updates.filter((u) => u.total !== undefined).at(-1)!;
      expect(last.done).toBe(disk.length);
      expect(last.secondary!.done).toBe(last.secondary!.total);
      const listed = await listCachedImages(h);
      expect(listed.map((i) => i.name)).toContain(`${reg.host}/${repo}:v1`);
      // pulling again is a no-op from the cache
      const again = await pull(h, `${reg.host}/${repo}:v1`, { insecure: true, credentials: anon }, NOOP_TASK);
      expect(again.dir).toBe(res.dir);
    });
  }

  it('pulls by digest and marks the entry explicitly pulled', async () => {
    const disk = makeDisk(2 * MiB, 7);
    const { digest } = await pushTestImage(reg.host, 'rt/bydigest:t', disk);
    const h = home();
    const res = await pull(h, `${reg.host}/rt/bydigest@${digest}`, { insecure: true, credentials: anon }, NOOP_TASK);
    expect(existsSync(path.join(res.dir, '.explicitly-pulled'))).toBe(true);
    expect(readFileSync(path.join(res.dir, 'disk.img')).equals(disk)).toBe(true);
  });
});
