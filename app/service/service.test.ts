/**
 * The service's handlers over the real engine on a temp home: macOS restore images (a local catalog server and a
 * generated IPSW), shell hooks, the serial log of a stopped VM, and what this host cannot do.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskInfo } from '../api/models';
import { createClient, createDispatcher, type ApiClient } from '../api/wire';
import { openHome } from '../core/library/home';
import { tempHome, type TempHome } from '../../test/helpers';
import { appleCatalog, sha1, startIpswServer, writeIpsw, type IpswServer } from '../../test/ipsw/fixtures';
import { createService, type Service } from './service';

describe('service handlers', () => {
  let home: TempHome;
  let ipsw: IpswServer;
  let image: Buffer;
  let service: Service;
  let client: ApiClient;
  const revealed: string[] = [];
  const updates: TaskInfo[] = [];

  beforeAll(async () => {
    home = tempHome();
    ipsw = await startIpswServer();
    const f = path.join(home.root, 'src.ipsw');
    await writeIpsw(f, { version: '15.1', build: '24B83' });
    image = readFileSync(f);
    ipsw.files.set('/UniversalMac_15.1_24B83_Restore.ipsw', { body: image });
    ipsw.files.set('/catalog.xml', { body: Buffer.from(appleCatalog([{ version: '15.1', build: '24B83', url: `${ipsw.url}/UniversalMac_15.1_24B83_Restore.ipsw`, sha1: sha1(image) }])) });
    service = createService({
      home: openHome(home.env),
      shell: 'electron',
      env: { ...home.env, NESTBOX_IPSW_CATALOG_URL: `${ipsw.url}/catalog.xml` },
      revealInFileManager: (p) => void revealed.push(p),
      watch: false,
    });
    service.events.subscribe((e, p) => {
      if (e === 'task.updated') updates.push(p as TaskInfo);
    });
    // The same path a shell takes: a dispatcher, and the typed client validating results.
    const dispatch = createDispatcher(service.handlers);
    client = createClient({ invoke: (m, p) => dispatch(m, JSON.parse(JSON.stringify(p ?? {})), null), subscribe: () => () => {} });
  });

  afterAll(async () => {
    await service?.dispose();
    await ipsw?.close();
    home?.cleanup();
  });

  it('lists the restore image catalog from the configured source', async () => {
    const c = await client.request('ipsw.catalog', { refresh: true });
    expect(c.entries).toEqual([expect.objectContaining({ version: '15.1', build: '24B83', channel: 'release', url: `${ipsw.url}/UniversalMac_15.1_24B83_Restore.ipsw`, sha1: sha1(image) })]);
    expect(Date.parse(c.fetchedAt!)).toBeGreaterThan(0);
  });

  it('inspects a restore image, and explains what is wrong with a file that is not one', async () => {
    const info = await client.request('ipsw.inspect', { path: path.join(home.root, 'src.ipsw') });
    expect(info).toMatchObject({ productVersion: '15.1', build: '24B83' });
    expect(info.supportedDevices).toContain('VirtualMac2,1');
    const notOne = path.join(home.root, 'notes.ipsw');
    writeFileSync(notOne, 'hello');
    const e = await client.request('ipsw.inspect', { path: notOne }).catch((x) => x);
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toMatch(/^notes\.ipsw is not a usable macOS restore image/);
    expect(e.fix).toBeDefined();
  });

  it('downloads a restore image as a task into the cache', async () => {
    const { taskId } = await client.request('ipsw.download', { url: `${ipsw.url}/UniversalMac_15.1_24B83_Restore.ipsw` });
    const t = await service.tasks.wait(taskId);
    expect(t.state).toBe('done');
    const last = updates.filter((u) => u.id === taskId).at(-1)!;
    expect(last).toMatchObject({ kind: 'ipsw-download', state: 'done', result: { bytes: image.length } });
    const file = last.result!.path as string;
    expect(file.startsWith(path.join(home.root, 'cache', 'IPSWs'))).toBe(true);
    expect(readFileSync(file).equals(image)).toBe(true);
  });

  it('refuses macOS VMs on a host that cannot run them, saying why', async () => {
    const e = await client.request('vm.createMacos', { name: 'mac', ipsw: path.join(home.root, 'src.ipsw') }).catch((x) => x);
    expect(e.code).toBe('UNSUPPORTED');
    if (!(process.platform === 'darwin' && process.arch === 'arm64')) expect(e.message).toBe('macOS guests need a Mac with Apple silicon.');
    const host = await client.request('host.info', {});
    expect(host.shell).toBe('electron');
    expect(host.limitations.map((l) => l.feature)).not.toContain('native-window');
    expect(host.backends.map((b) => b.id)).toEqual(['qemu', 'vz']);
  });

  it('reveals a VM folder through the shell hook, reads a stopped VM’s serial log, and refuses run-time calls', async () => {
    const { taskId } = await client.request('vm.create', { name: 'box', os: 'linux', diskSizeGB: 1 });
    expect((await service.tasks.wait(taskId)).state).toBe('done');
    const dir = path.join(home.root, 'vms', 'box');
    expect(await client.request('vm.revealInFileManager', { name: 'box' })).toEqual({ path: dir });
    expect(revealed).toEqual([dir]);
    expect(await client.request('vm.serialRead', { name: 'box' })).toEqual({ text: '', offset: 0 });
    writeFileSync(path.join(dir, 'nestbox-serial.log'), 'Linux version 6.1\nlogin: ');
    expect(await client.request('vm.serialRead', { name: 'box', offset: 6 })).toEqual({ text: 'version 6.1\nlogin: ', offset: 25 });
    expect(await client.request('vm.thumbnail', { name: 'box' })).toEqual({ png: null });
    for (const call of [client.request('vm.display', { name: 'box' }), client.request('vm.serialWrite', { name: 'box', data: 'x' })]) {
      expect((await call.catch((x) => x)).code).toBe('NOT_RUNNING');
    }
    expect(existsSync(dir)).toBe(true);
  });
});
