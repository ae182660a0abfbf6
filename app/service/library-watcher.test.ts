import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { homePaths } from '../core/library/home';
import { tempHome, waitFor, type TempHome } from '../../test/helpers';
import { watchLibrary, type LibraryChange, type LibraryWatcher } from './library-watcher';

const until = <T>(what: string, f: () => T | undefined | false, timeoutMs = 5000) => waitFor(what, f, timeoutMs, 10);

const settle = () => new Promise((r) => setTimeout(r, 400));

describe('library watcher', () => {
  let home: TempHome;
  let w: LibraryWatcher | null = null;
  afterEach(() => {
    w?.close();
    w = null;
    home?.cleanup();
  });

  function start(o: { mkVms?: boolean } = {}) {
    home = tempHome();
    const h = homePaths(home.root);
    mkdirSync(h.cache, { recursive: true });
    if (o.mkVms !== false) mkdirSync(h.vms, { recursive: true });
    const changes: LibraryChange[] = [];
    w = watchLibrary(h, (c) => changes.push(c));
    return { h, changes };
  }

  const hasVm = (changes: LibraryChange[], name: string) => changes.some((c) => c.scope === 'vms' && (c.names === undefined || c.names.includes(name)));

  it('reports VM folders appearing, changing, renamed and removed — by name, batched', async () => {
    const { h, changes } = start();
    await w!.ready;
    const dir = path.join(h.vms, 'a');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'config.json'), '{}');
    writeFileSync(path.join(dir, 'disk.img'), '');
    await until('the new VM', () => hasVm(changes, 'a'));
    // One burst of file operations is one report.
    expect(changes.filter((c) => c.scope === 'vms')).toHaveLength(1);

    changes.length = 0;
    writeFileSync(path.join(dir, 'config.json'), '{"cpuCount":2}');
    await until('the config edit', () => hasVm(changes, 'a'));

    changes.length = 0;
    renameSync(dir, path.join(h.vms, 'b'));
    await until('the rename', () => hasVm(changes, 'a') && hasVm(changes, 'b'));

    changes.length = 0;
    rmSync(path.join(h.vms, 'b'), { recursive: true });
    await until('the delete', () => hasVm(changes, 'b'));
  });

  it('does not report a running VM writing its disk or logs', async () => {
    const { h, changes } = start();
    const dir = path.join(h.vms, 'busy');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'disk.img'), '');
    await w!.ready;
    await settle();
    changes.length = 0;
    const fd = openSync(path.join(dir, 'disk.img'), 'r+');
    for (let i = 0; i < 50; i++) writeSync(fd, Buffer.alloc(4096, i), 0, 4096, i * 4096);
    closeSync(fd);
    writeFileSync(path.join(dir, 'nestbox-serial.log'), 'boot…');
    // A change that matters, after the noise: it is the only thing reported.
    writeFileSync(path.join(dir, 'nestbox-runtime.json'), '{}');
    await until('the runtime file', () => hasVm(changes, 'busy'));
    await settle();
    expect(changes).toEqual([{ scope: 'vms', names: ['busy'] }]);
  });

  it('reports images appearing in and leaving the OCI cache, at any depth', async () => {
    const { h, changes } = start();
    await w!.ready;
    const repo = path.join(h.ocis, '127.0.0.1:5000', 'ns', 'img');
    const digestDir = path.join(repo, 'sha256:' + 'a'.repeat(64));
    mkdirSync(digestDir, { recursive: true });
    await until('the new repository', () => changes.some((c) => c.scope === 'images'));
    await settle();
    changes.length = 0;
    symlinkSync(digestDir, path.join(repo, 'latest'));
    await until('the new tag', () => changes.some((c) => c.scope === 'images'));
    changes.length = 0;
    rmSync(path.join(repo, 'latest'));
    await until('the removed tag', () => changes.some((c) => c.scope === 'images'));
  });

  it('works on a fresh home whose vms/ folder does not exist yet', async () => {
    const { h, changes } = start({ mkVms: false });
    await w!.ready;
    mkdirSync(path.join(h.vms, 'first'), { recursive: true });
    await until('the first VM', () => changes.some((c) => c.scope === 'vms'));
    // vms/ is watched from now on.
    await settle();
    changes.length = 0;
    mkdirSync(path.join(h.vms, 'second'));
    await until('the second VM', () => hasVm(changes, 'second'));
  });

  it('reports nothing while nothing changes', async () => {
    const { changes } = start();
    await w!.ready;
    await settle();
    expect(changes).toEqual([]);
  });
});
