import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { tempHome, type TempHome } from '../helpers';
import { blobDataPath, pushTestImage, startRegistry, type StartedRegistry } from '../helpers/registry';
import { openHome } from '../../app/core/library/home';
import { pull } from '../../app/core/oci/pull';
import { CredentialStore } from '../../app/core/oci/credentials';
import { NOOP_TASK, type TaskContext } from '../../app/core/tasks/context';
import * as MT from '../../app/core/oci/mediatypes';
import { makeDisk, sha256 } from './disks';
import { appleLayer, appleLz4WithBackrefs, pushRawImage } from './images';

const MiB = 1024 * 1024;
let reg: StartedRegistry;
const homes: TempHome[] = [];
const anon = new CredentialStore([]);
const opts = { insecure: true, credentials: anon };

beforeAll(async () => {
  reg = await startRegistry();
});
afterAll(async () => {
  await reg?.stop();
  for (const h of homes) h.cleanup();
});

function home(env: Record<string, string> = {}) {
  const th = tempHome();
  homes.push(th);
  Object.assign(th.env, env);
  return { home: openHome(th.env), env: th.env };
}

function logging(): TaskContext & { logs: string[] } {
  const logs: string[] = [];
  return { ...NOOP_TASK, log: (m) => logs.push(m), logs };
}

describe('pulling images laid out as Tart lays them out', () => {
  it('Apple LZ4 blocks that refer back into earlier blocks, uneven layer sizes (offsets from annotations)', async () => {
    const disk = makeDisk(5 * MiB + 4097, 42);
    const cuts = [0, 1_500_003, 1_500_003 + 2 * MiB, disk.length]; // uneven, not multiples of anything
    const layers = cuts.slice(0, -1).map((c, i) => appleLayer(disk.subarray(c, cuts[i + 1]!)));
    const digest = await pushRawImage(reg.host, 'apple/backrefs', 'v1', layers);
    const { home: h, env } = home();
    const r = await pull(h, `${reg.host}/apple/backrefs:v1`, { ...opts, env }, NOOP_TASK);
    expect(r.digest).toBe(digest);
    expect(readFileSync(path.join(r.dir, 'disk.img')).equals(disk)).toBe(true);
  });

  it('refuses a legacy disk.v1 image with the fix', async () => {
    const data = Buffer.alloc(1000, 1);
    await pushRawImage(reg.host, 'apple/legacy', 'v1', [{ ...appleLayer(data), mediaType: MT.DISK_V1 }]);
    const { home: h, env } = home();
    await expect(pull(h, `${reg.host}/apple/legacy:v1`, { ...opts, env }, NOOP_TASK)).rejects.toMatchObject({ code: 'NOT_A_VM_IMAGE', message: expect.stringMatching(/legacy disk format/), fix: expect.stringMatching(/Re-push/) });
  });

  it('refuses a container image and lists the media types it found', async () => {
    await pushRawImage(reg.host, 'apple/container', 'v1', [], { skipConfig: true, extraLayers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', blob: Buffer.from('not a vm') }] });
    const { home: h, env } = home();
    await expect(pull(h, `${reg.host}/apple/container:v1`, { ...opts, env }, NOOP_TASK)).rejects.toMatchObject({
      code: 'NOT_A_VM_IMAGE',
      message: expect.stringMatching(/application\/vnd\.oci\.image\.layer\.v1\.tar\+gzip/),
    });
  });

  it('tells a missing tag from a missing repository', async () => {
    await pushTestImage(reg.host, 'apple/exists:v1', makeDisk(MiB, 1));
    const { home: h, env } = home();
    await expect(pull(h, `${reg.host}/apple/exists:nope`, { ...opts, env }, NOOP_TASK)).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringMatching(/has no image "nope"/) });
    await expect(pull(h, `${reg.host}/apple/never-pushed:v1`, { ...opts, env }, NOOP_TASK)).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringMatching(/Repository .* does not exist/) });
  });

  it('names an unknown host and a refused connection', async () => {
    const { home: h, env } = home();
    await expect(pull(h, 'no-such-host.invalid/a/b:v1', { ...opts, env }, NOOP_TASK)).rejects.toMatchObject({ code: 'NETWORK', message: expect.stringMatching(/Unknown registry host/) });
    await expect(pull(h, '127.0.0.1:1/a/b:v1', { ...opts, env }, NOOP_TASK)).rejects.toMatchObject({ code: 'NETWORK', message: expect.stringMatching(/connection refused/) });
  });

  it('rejects a corrupted blob: discarded and fetched once more, then a hard error; nothing lands in the cache', async () => {
    const disk = makeDisk(3 * MiB, 77);
    const layer = appleLayer(disk);
    await pushRawImage(reg.host, 'apple/corrupt', 'v1', [layer]);
    const file = blobDataPath(reg.storage, sha256(layer.blob));
    const bytes = readFileSync(file);
    // flip bytes inside a stored region (keeps the framing valid, changes content)
    for (let i = 100_000; i < 100_100; i++) bytes[i] = bytes[i]! ^ 0x5a;
    writeFileSync(file, bytes);
    const { home: h, env } = home();
    const ctx = logging();
    const err = await pull(h, `${reg.host}/apple/corrupt:v1`, { ...opts, env }, ctx).catch((e) => e);
    expect(err).toMatchObject({ code: 'DIGEST_MISMATCH', message: expect.stringMatching(/corrupt.*fetched twice/) });
    expect(ctx.logs.some((l) => /failed verification.*fetching it again/.test(l))).toBe(true);
    expect(readdirSync(h.ocis).length === 0 || !existsSync(path.join(h.ocis, encodeURIComponent(reg.host), 'apple', 'corrupt', 'v1'))).toBe(true);
  });

  it('fails early with a clear message when the disk cannot fit (space pre-check), before downloading', async () => {
    const data = Buffer.alloc(MiB, 3);
    await pushRawImage(reg.host, 'apple/huge', 'v1', [appleLayer(data)], { diskSizeAnnotation: 2 ** 52 });
    const { home: h, env } = home({ TART_NO_AUTO_PRUNE: '1' });
    const err = await pull(h, `${reg.host}/apple/huge:v1`, { ...opts, env }, NOOP_TASK).catch((e) => e);
    expect(err).toMatchObject({ code: 'NO_SPACE', message: expect.stringMatching(/Not enough disk space to pull: it needs .* GB .* free/), fix: expect.stringMatching(/TART_NO_AUTO_PRUNE/) });
  });

  it('copies layers shared with an image already in the cache instead of downloading them', async () => {
    const base = makeDisk(12 * MiB, 5);
    const changed = Buffer.from(base);
    changed.fill(9, 10 * MiB, 11 * MiB); // only the last layer differs
    await pushTestImage(reg.host, 'share/a:v1', base, { layerSize: 4 * MiB });
    await pushTestImage(reg.host, 'share/b:v1', changed, { layerSize: 4 * MiB });
    const { home: h, env } = home();
    await pull(h, `${reg.host}/share/a:v1`, { ...opts, env }, NOOP_TASK);
    const ctx = logging();
    const r = await pull(h, `${reg.host}/share/b:v1`, { ...opts, env }, ctx);
    expect(ctx.logs.filter((l) => /copied from the local cache/.test(l)).length).toBe(2);
    expect(readFileSync(path.join(r.dir, 'disk.img')).equals(changed)).toBe(true);
  });

  it('decodes Apple streams whose stored (bv4-) blocks are referenced by later blocks', () => {
    const data = makeDisk(MiB, 8);
    const s = appleLz4WithBackrefs(data, 32 * 1024, 2);
    expect(s.length).toBeLessThan(data.length);
  });
});
