/**
 * `nestbox create NAME --from-ipsw …` through the built CLI on a host that cannot run macOS guests: the image is
 * validated first (a bad file is named as such), a good one ends in UNSUPPORTED with the reason, `latest`/URLs are
 * refused before any download, and nothing is left in vms/ or tmp/.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nestbox, tempHome, type TempHome } from '../helpers';
import { IPHONE_MANIFEST, startIpswServer, writeIpsw, type IpswServer } from './fixtures';

const canRunMacGuests = process.platform === 'darwin' && process.arch === 'arm64';
let home: TempHome;
let server: IpswServer;
beforeAll(async () => {
  home = tempHome();
  server = await startIpswServer();
});
afterAll(async () => {
  await server.close();
  home.cleanup();
});

describe.skipIf(canRunMacGuests)('create --from-ipsw on a host without Apple silicon', () => {
  it('names what is wrong with a non-macOS image', async () => {
    const f = path.join(home.root, 'iPhone15,2_17.0_21A329_Restore.ipsw');
    await writeIpsw(f, IPHONE_MANIFEST);
    const r = await nestbox(['create', 'phone', '--from-ipsw', f], home.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is not a usable macOS restore image: it holds iOS 17\.0 \(21A329\)/);
    expect(r.stderr).not.toMatch(/need a Mac with Apple silicon/);
  });

  it('validates a good image, then explains that macOS guests need Apple silicon', async () => {
    const f = path.join(home.root, 'UniversalMac_14.0_23A344_Restore.ipsw');
    await writeIpsw(f);
    const r = await nestbox(['create', 'sonoma', '--from-ipsw', f], home.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/macOS guests need a Mac with Apple silicon \(the restore image is fine: macOS 14\.0 \(23A344\)\)/);
    expect(existsSync(path.join(home.root, 'vms', 'sonoma'))).toBe(false);
    expect(existsSync(path.join(home.root, 'tmp')) ? readdirSync(path.join(home.root, 'tmp')) : []).toEqual([]);
  });

  it('refuses latest and URLs without downloading anything', async () => {
    const env = { ...home.env, NESTBOX_IPSW_CATALOG_URL: `${server.url}/catalog.xml` };
    for (const src of ['latest', `${server.url}/UniversalMac.ipsw`]) {
      const r = await nestbox(['create', 'mac', '--from-ipsw', src], env);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/macOS guests need a Mac with Apple silicon/);
    }
    expect(server.requests).toEqual([]);
  });

  it('a missing file is NOT_FOUND (exit 2)', async () => {
    const r = await nestbox(['create', 'x', '--from-ipsw', path.join(home.root, 'nope.ipsw')], home.env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nope\.ipsw does not exist/);
  });
});
