import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readFileSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import { NESTBOX_BIN, nestbox, tempHome, type TempHome } from '../helpers';
import { pushTestImage, startRegistry, type StartedRegistry } from '../helpers/registry';
import { writeVmFolder } from '../helpers/vmfixtures';
import { startFaultProxy, type FaultProxy } from './faultProxy';
import { makeDisk } from './disks';
import { TEST_VM_CONFIG } from './images';

const MiB = 1024 * 1024;
let reg: StartedRegistry;
let authReg: StartedRegistry;
let proxy: FaultProxy;
const homes: TempHome[] = [];

beforeAll(async () => {
  reg = await startRegistry();
  authReg = await startRegistry({ auth: { kind: 'basic', username: 'bob', password: 'hunter2-secret' } });
  proxy = await startFaultProxy({ port: reg.port });
});
afterAll(async () => {
  await proxy?.stop();
  await reg?.stop();
  await authReg?.stop();
  for (const h of homes) h.cleanup();
});

function home(): TempHome {
  const th = tempHome();
  homes.push(th);
  th.env.HOME = th.root; // no ~/.docker/config.json of the machine
  return th;
}

function makeVm(th: TempHome, name: string, disk: Buffer) {
  writeVmFolder(path.join(th.root, 'vms', name), { config: TEST_VM_CONFIG, disk, nvram: Buffer.alloc(8192, 3) });
}

describe('nestbox push / pull / clone / list through the CLI', () => {
  it('pushes a local VM, pulls it into another home, lists it and clones it into a runnable VM', async () => {
    const a = home();
    const disk = makeDisk(6 * MiB + 5, 21);
    makeVm(a, 'src', disk);
    const p = await nestbox(['push', 'src', `${reg.host}/cli/img:v1`, `${reg.host}/cli/img:v2`, '--insecure', '--populate-cache', '--label', 'team=qa'], a.env);
    expect(p.stderr + p.stdout).toMatch(/pushed/);
    expect(p.code).toBe(0);
    // --populate-cache put it in the pushing home's cache
    const l0 = await nestbox(['list', '--source', 'oci', '--quiet'], a.env);
    expect(l0.stdout).toContain(`${reg.host}/cli/img:v1`);

    const b = home();
    const r = await nestbox(['pull', `${reg.host}/cli/img:v2`, '--insecure', '--concurrency', '2'], b.env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^pulled .*cli\/img:v2 \(sha256:[a-f0-9]{64}\)/);
    // CI mode: plain progress lines, no carriage returns
    expect(r.stderr).not.toContain('\r');
    const l = await nestbox(['list', '--source', 'oci', '--format', 'json'], b.env);
    const rows = JSON.parse(l.stdout) as { Name: string; Source: string }[];
    expect(rows.map((x) => x.Name)).toEqual(expect.arrayContaining([`${reg.host}/cli/img:v2`]));
    const c = await nestbox(['clone', `${reg.host}/cli/img:v1`, 'fromreg', '--insecure'], b.env);
    expect(c.stderr).toBe(c.code === 0 ? c.stderr : '');
    expect(c.code).toBe(0);
    expect(readFileSync(path.join(b.root, 'vms', 'fromreg', 'disk.img')).equals(disk)).toBe(true);
    expect(JSON.parse(readFileSync(path.join(b.root, 'vms', 'fromreg', 'config.json'), 'utf8')).os).toBe('linux');
  });

  it('pull of a local name is a no-op; bad names fail with the reason', async () => {
    const a = home();
    const r = await nestbox(['pull', 'debian'], a.env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/local VM name/);
    const bad = await nestbox(['pull', 'ghcr.io/a/../b'], a.env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/not a valid remote image name: "\.\." is not allowed/);
  });

  it('login validates and stores credentials (0600), pull uses them, logout removes them; secrets never printed', async () => {
    const a = home();
    const disk = makeDisk(2 * MiB, 4);
    await pushTestImage(authReg.host, 'priv/img:v1', disk, { credentials: { username: 'bob', password: 'hunter2-secret' } });
    const anon = await nestbox(['pull', `${authReg.host}/priv/img:v1`, '--insecure'], a.env);
    expect(anon.code).toBe(1);
    expect(anon.stderr).toMatch(/requires (authentication|a user name and password).*tried no credentials \(looked in: environment/);
    expect(anon.stderr).toMatch(/nestbox login/);
    const wrong = await nestbox(['login', authReg.host, '--username', 'bob', '--password-stdin', '--insecure'], a.env, 'wrong-pass\n');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/rejected the credentials/);
    expect(wrong.stderr + wrong.stdout).not.toContain('wrong-pass');
    const ok = await nestbox(['login', authReg.host, '--username', 'bob', '--password-stdin', '--insecure'], a.env, 'hunter2-secret\n');
    expect(ok.code).toBe(0);
    const file = path.join(a.root, 'nestbox-credentials.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const pulled = await nestbox(['pull', `${authReg.host}/priv/img:v1`, '--insecure'], a.env);
    expect(pulled.code).toBe(0);
    expect(pulled.stderr + pulled.stdout).not.toContain('hunter2-secret');
    const out = await nestbox(['logout', authReg.host], a.env);
    expect(out.code).toBe(0);
    expect(readFileSync(file, 'utf8')).not.toContain('hunter2');
    const again = await nestbox(['logout', authReg.host], a.env);
    expect(again.code).toBe(2);
  });

  it('kill -9 during a pull, then pull again: correct bytes, at most one layer fetched twice (measured at the proxy)', async () => {
    // Layers are large compared with what the kernel buffers per connection on loopback (a few MB the proxy has
    // sent but the client has not read yet when it dies), as Tart's 512 MiB layers are in real life.
    const layer = 24 * MiB;
    // mostly incompressible so compressed ≈ uncompressed and the transfer is long enough to interrupt
    const disk = Buffer.alloc(4 * layer + 3 * MiB);
    for (let i = 0; i < disk.length; i += 4) disk.writeUInt32LE((Math.imul(i, 2654435761) ^ (i >>> 7) * 40503) >>> 0, i);
    disk.fill(0, 2 * layer, 2 * layer + 5 * MiB);
    await pushTestImage(reg.host, 'kill/img:v1', disk, { layerSize: layer });
    const a = home();
    proxy.blobBytes.clear();
    const child = spawn(process.execPath, [NESTBOX_BIN, 'pull', `${proxy.host}/kill/img:v1`, '--insecure', '--concurrency', '2'], { env: a.env, stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => child.on('exit', (_c, s) => r(s === 'SIGKILL' ? -9 : _c)));
    await new Promise<void>((resolve) => {
      const onBytes = () => {
        if (proxy.totalBlobBytes() >= 40 * MiB) {
          proxy.off('blob-bytes', onBytes);
          child.kill('SIGKILL');
          resolve();
        }
      };
      proxy.on('blob-bytes', onBytes);
      child.on('exit', () => resolve());
    });
    expect(await exited).toBe(-9);
    const first = proxy.totalBlobBytes();
    expect(first).toBeLessThan(disk.length); // it really was interrupted
    const r = await nestbox(['pull', `${proxy.host}/kill/img:v1`, '--insecure'], a.env);
    expect(r.code).toBe(0);
    const total = proxy.totalBlobBytes();
    const manifest = JSON.parse(readFileSync(path.join(a.root, 'cache', 'OCIs', encodeURIComponent(proxy.host), 'kill', 'img', 'v1', 'manifest.json'), 'utf8')) as { layers: { size: number; mediaType: string }[] };
    const blobs = manifest.layers.filter((x) => /disk/.test(x.mediaType)).reduce((s, x) => s + x.size, 0);
    const maxLayer = Math.max(...manifest.layers.filter((x) => /disk/.test(x.mediaType)).map((x) => x.size));
    expect(total - blobs, `fetched twice: ${total - blobs} bytes (first run ${first})`).toBeLessThanOrEqual(maxLayer);
    console.log(`kill -9 test: ${total - blobs} bytes fetched twice of ${blobs} (one layer: ${maxLayer})`);
    expect(total).toBeGreaterThanOrEqual(blobs);
    const pulled = readFileSync(path.join(a.root, 'cache', 'OCIs', encodeURIComponent(proxy.host), 'kill', 'img', 'v1', 'disk.img'));
    expect(pulled.equals(disk)).toBe(true);
    expect(existsSync(path.join(a.root, 'tmp'))).toBe(true);
  });
});
