/** `nestbox ipsw list|info|download` through the built CLI, against a loopback catalog/download server. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nestbox, tempHome, type TempHome } from '../helpers';
import { IPHONE_MANIFEST, appleCatalog, sha1, startIpswServer, writeIpsw, type IpswServer } from './fixtures';

let home: TempHome;
let server: IpswServer;
let env: NodeJS.ProcessEnv;
let image: Buffer;
beforeAll(async () => {
  home = tempHome();
  server = await startIpswServer();
  const f = path.join(home.root, 'src.ipsw');
  await writeIpsw(f, { version: '15.1', build: '24B83' });
  image = readFileSync(f);
  server.files.set('/UniversalMac_15.1_24B83_Restore.ipsw', { body: image, dropAfter: 5000 });
  server.files.set('/catalog.xml', {
    body: Buffer.from(
      appleCatalog([
        { version: '15.1', build: '24B83', url: `${server.url}/UniversalMac_15.1_24B83_Restore.ipsw`, sha1: sha1(image) },
        { version: '15.2', build: '24C5057p', url: `${server.url}/beta.ipsw` },
      ]),
    ),
  });
  env = { ...home.env, NESTBOX_IPSW_CATALOG_URL: `${server.url}/catalog.xml` };
});
afterAll(async () => {
  await server.close();
  home.cleanup();
});

describe('nestbox ipsw', () => {
  it('list shows releases (betas with --beta) with version, build, channel, size and minimum host', async () => {
    const r = await nestbox(['ipsw', 'list', '--sizes'], env);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^Version\s+Build\s+Channel\s+Size\s+Min host\s+URL$/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^15\.1\s+24B83\s+release\s+0\.0 GB\s+macOS 15\.0\s+http:\/\/127\.0\.0\.1/);
    expect(r.stderr).toMatch(/Catalog fetched \d{4}-\d\d-\d\dT/);
    const j = await nestbox(['ipsw', 'list', '--beta', '--format', 'json'], env);
    const cat = JSON.parse(j.stdout) as { entries: { build: string; channel: string; size?: number }[] };
    expect(cat.entries.map((e) => [e.build, e.channel])).toEqual([
      ['24C5057p', 'beta'],
      ['24B83', 'release'],
    ]);
    expect(cat.entries[1]!.size).toBe(image.length);
  });

  it('download latest resumes after a dropped connection and prints the cache path; info reads it', async () => {
    const r = await nestbox(['ipsw', 'download', 'latest'], env);
    expect(r.code).toBe(0);
    const p = r.stdout.trim();
    expect(path.dirname(p)).toBe(path.join(home.root, 'cache', 'IPSWs'));
    expect(path.basename(p)).toMatch(/^sha256:[0-9a-f]{64}\.ipsw$/);
    expect(readFileSync(p).equals(image)).toBe(true);
    expect(r.stderr).toMatch(/Connection lost at 5000 bytes/);
    const i = await nestbox(['ipsw', 'info', p, '--format', 'json'], env);
    expect(i.code).toBe(0);
    expect(JSON.parse(i.stdout)).toMatchObject({ productVersion: '15.1', buildVersion: '24B83', beta: false, minimumHost: '15.0' });
  });

  it('info rejects a non-macOS image with exit 1 and the reason', async () => {
    const f = path.join(home.root, 'phone.ipsw');
    await writeIpsw(f, IPHONE_MANIFEST);
    const r = await nestbox(['ipsw', 'info', f], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/it holds iOS 17\.0 \(21A329\)/);
  });
});
