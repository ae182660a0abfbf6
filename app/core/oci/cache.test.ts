import { afterEach, describe, expect, it } from 'vitest';
import { promises as fsp, mkdirSync, writeFileSync, symlinkSync, readlinkSync, existsSync } from 'node:fs';
import path from 'node:path';
import { tempHome, type TempHome } from '../../../test/helpers';
import { openHome, type Home } from '../library/home';
import { deleteCachedImage, digestDir, gcCache, linkTag, listCachedImages, pruneCaches, EXPLICITLY_PULLED } from './cache';
import { parseRemoteNameOrThrow } from './reference';

const hex = (c: string) => c.repeat(64);
let th: TempHome;
afterEach(() => th?.cleanup());

function fakeImage(home: Home, name: string, digestHex: string, diskBytes = 4096, atime?: Date): string {
  const r = parseRemoteNameOrThrow(name);
  const dir = digestDir(home, r, `sha256:${digestHex}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'config.json'), '{}');
  writeFileSync(path.join(dir, 'disk.img'), Buffer.alloc(diskBytes, 1));
  writeFileSync(path.join(dir, 'nvram.bin'), '');
  if (atime) require('node:fs').utimesSync(dir, atime, atime);
  return dir;
}

describe('OCI cache layout (Tart)', () => {
  it('lists tags as host/ns:tag symlinks and digests as dirs, host port percent-encoded', async () => {
    th = tempHome();
    const home = openHome(th.env);
    const dir = fakeImage(home, '127.0.0.1:5000/org/img:v1', hex('b'));
    await linkTag(home, parseRemoteNameOrThrow('127.0.0.1:5000/org/img:v1'), `sha256:${hex('b')}`);
    expect(dir).toBe(path.join(home.ocis, '127.0.0.1%3A5000', 'org', 'img', `sha256:${hex('b')}`));
    const link = path.join(home.ocis, '127.0.0.1%3A5000', 'org', 'img', 'v1');
    expect(readlinkSync(link)).toBe(dir); // absolute target, like Tart
    const list = await listCachedImages(home);
    expect(list.map((i) => [i.name, i.kind])).toEqual([
      [`127.0.0.1:5000/org/img:v1`, 'tag'],
      [`127.0.0.1:5000/org/img@sha256:${hex('b')}`, 'digest'],
    ]);
    expect(list[0]!.dir).toBe(dir);
    expect(list[0]!.disk.apparent).toBe(4096);
  });

  it('GC removes dangling links and unreferenced digests unless explicitly pulled', async () => {
    th = tempHome();
    const home = openHome(th.env);
    const a = fakeImage(home, 'r.io/x:a', hex('1'));
    const b = fakeImage(home, 'r.io/x:b', hex('2'));
    writeFileSync(path.join(b, EXPLICITLY_PULLED), '');
    const c = fakeImage(home, 'r.io/x:c', hex('3'));
    await linkTag(home, parseRemoteNameOrThrow('r.io/x:c'), `sha256:${hex('3')}`);
    symlinkSync(path.join(path.dirname(a), `sha256:${hex('9')}`), path.join(path.dirname(a), 'dangling'));
    await gcCache(home);
    expect(existsSync(a)).toBe(false);
    expect(existsSync(b)).toBe(true);
    expect(existsSync(c)).toBe(true);
    expect(existsSync(path.join(path.dirname(a), 'dangling'))).toBe(false);
    await deleteCachedImage(home, 'r.io/x:c');
    expect(existsSync(c)).toBe(false);
    await expect(deleteCachedImage(home, 'r.io/x:c')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('prunes by age and by space budget, oldest access first', async () => {
    th = tempHome();
    const home = openHome(th.env);
    const day = 86_400_000;
    const old = fakeImage(home, 'r.io/x:old', hex('4'), 8192, new Date(Date.now() - 10 * day));
    const mid = fakeImage(home, 'r.io/x:mid', hex('5'), 8192, new Date(Date.now() - 2 * day));
    const neu = fakeImage(home, 'r.io/x:new', hex('6'), 8192, new Date());
    for (const [t, h] of [['old', '4'], ['mid', '5'], ['new', '6']] as const) await linkTag(home, parseRemoteNameOrThrow(`r.io/x:${t}`), `sha256:${hex(h)}`);
    mkdirSync(home.ipsws, { recursive: true });
    writeFileSync(path.join(home.ipsws, `sha256:${hex('7')}.ipsw`), 'x');
    const oldIpsw = path.join(home.ipsws, `sha256:${hex('7')}.ipsw`);
    require('node:fs').utimesSync(oldIpsw, new Date(Date.now() - 30 * day), new Date(Date.now() - 30 * day));
    const removed = await pruneCaches(home, { olderThanDays: 7 });
    expect(removed.sort()).toEqual([`r.io/x@sha256:${hex('4')}`, `sha256:${hex('7')}.ipsw`]);
    expect(existsSync(old)).toBe(false);
    expect(existsSync(path.join(path.dirname(old), 'old'))).toBe(false); // its tag went with GC
    const alloc = (await fsp.stat(path.join(neu, 'disk.img'))).blocks * 512 + 3 * 4096;
    const removed2 = await pruneCaches(home, { spaceBudgetBytes: alloc });
    expect(removed2).toEqual([`r.io/x@sha256:${hex('5')}`]);
    expect(existsSync(mid)).toBe(false);
    expect(existsSync(neu)).toBe(true);
  });
});
