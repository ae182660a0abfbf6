import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempHome, type TempHome } from '../helpers';
import { pushTestImage, startRegistry, type StartedRegistry } from '../helpers/registry';
import { openHome } from '../../app/core/library/home';
import { pull } from '../../app/core/oci/pull';
import { CredentialStore, defaultCredentialStore, FileSecretStore } from '../../app/core/oci/credentials';
import { parseWwwAuthenticate } from '../../app/core/oci/registry';
import { NOOP_TASK, type TaskContext } from '../../app/core/tasks/context';
import { makeDisk } from './disks';

const MiB = 1024 * 1024;
const USER = 'carol';
const PASS = 'Tr0ub4dor&3-very-secret';
let tokenReg: StartedRegistry;
let basicReg: StartedRegistry;
const homes: TempHome[] = [];
const disk = makeDisk(2 * MiB + 1, 31);

beforeAll(async () => {
  tokenReg = await startRegistry({ auth: { kind: 'token', username: USER, password: PASS } });
  basicReg = await startRegistry({ auth: { kind: 'basic', username: USER, password: PASS } });
  await pushTestImage(tokenReg.host, 'team/vm:v1', disk, { credentials: { username: USER, password: PASS } });
  await pushTestImage(basicReg.host, 'team/vm:v1', disk, { credentials: { username: USER, password: PASS } });
});
afterAll(async () => {
  await tokenReg?.stop();
  await basicReg?.stop();
  for (const h of homes) h.cleanup();
});

function setup(env: Record<string, string> = {}) {
  const th = tempHome();
  homes.push(th);
  const e: NodeJS.ProcessEnv = { ...th.env, HOME: th.root, ...env };
  delete e.TART_REGISTRY_USERNAME;
  delete e.TART_REGISTRY_PASSWORD;
  delete e.TART_REGISTRY_HOSTNAME;
  delete e.DOCKER_CONFIG;
  Object.assign(e, env);
  return { home: openHome(e), env: e, root: th.root };
}

/** Records everything the engine reports, to check no secret leaks into logs or progress. */
function recorder(): TaskContext & { text: () => string } {
  const seen: string[] = [];
  return { ...NOOP_TASK, log: (m) => seen.push(m), progress: (u) => seen.push(JSON.stringify(u)), text: () => seen.join('\n') };
}

async function pullWith(reg: StartedRegistry, env: Record<string, string>) {
  const s = setup(env);
  const ctx = recorder();
  const r = await pull(s.home, `${reg.host}/team/vm:v1`, { insecure: true, credentials: defaultCredentialStore(s.home, { env: s.env }), env: s.env }, ctx);
  expect(readFileSync(path.join(r.dir, 'disk.img')).equals(disk)).toBe(true);
  expect(ctx.text()).not.toContain(PASS);
  return r;
}

describe('registry authentication', () => {
  it('parses WWW-Authenticate like Tart (quoted commas kept, quotes stripped)', () => {
    expect(parseWwwAuthenticate('Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull,push"')).toEqual({
      scheme: 'Bearer',
      params: { realm: 'https://auth.example/token', service: 'reg', scope: 'repository:a/b:pull,push' },
    });
    expect(parseWwwAuthenticate('Basic realm=x')).toEqual({ scheme: 'Basic', params: { realm: 'x' } });
  });

  it('token auth with credentials from TART_REGISTRY_USERNAME/PASSWORD', async () => {
    const before = tokenReg.tokensIssued();
    await pullWith(tokenReg, { TART_REGISTRY_USERNAME: USER, TART_REGISTRY_PASSWORD: PASS });
    expect(tokenReg.tokensIssued()).toBeGreaterThan(before);
  });

  it('TART_REGISTRY_HOSTNAME limits env credentials to that host', async () => {
    const s = setup({ TART_REGISTRY_USERNAME: USER, TART_REGISTRY_PASSWORD: PASS, TART_REGISTRY_HOSTNAME: 'other.example:5000' });
    const err = await pull(s.home, `${tokenReg.host}/team/vm:v1`, { insecure: true, credentials: defaultCredentialStore(s.home, { env: s.env }), env: s.env }, NOOP_TASK).catch((e) => e);
    expect(err).toMatchObject({ code: 'AUTH' });
    expect(err.message).toMatch(/tried no credentials/);
  });

  it('Basic auth with credentials from ~/.docker/config.json auths', async () => {
    const s = setup();
    mkdirSync(path.join(s.root, '.docker'));
    writeFileSync(path.join(s.root, '.docker', 'config.json'), JSON.stringify({ auths: { [`http://${basicReg.host}`]: { auth: Buffer.from(`${USER}:${PASS}`).toString('base64') } } }));
    const r = await pull(s.home, `${basicReg.host}/team/vm:v1`, { insecure: true, credentials: defaultCredentialStore(s.home, { env: s.env }), env: s.env }, NOOP_TASK);
    expect(readFileSync(path.join(r.dir, 'disk.img')).equals(disk)).toBe(true);
  });

  it('credHelpers from $DOCKER_CONFIG run docker-credential-<helper> get', async () => {
    const s = setup();
    const cfgDir = path.join(s.root, 'dockercfg');
    const bin = path.join(s.root, 'bin');
    mkdirSync(cfgDir);
    mkdirSync(bin);
    const helper = path.join(bin, 'docker-credential-nbtest');
    writeFileSync(helper, `#!/bin/sh\nread host\n[ "$host" = "${tokenReg.host}" ] || { echo "credentials not found"; exit 1; }\necho '{"ServerURL":"'$host'","Username":"${USER}","Secret":"${PASS}"}'\n`);
    chmodSync(helper, 0o755);
    writeFileSync(path.join(cfgDir, 'config.json'), JSON.stringify({ credHelpers: { '127\\.0\\.0\\.1:\\d+': 'nbtest' } }));
    await pullWith(tokenReg, { DOCKER_CONFIG: cfgDir, PATH: `${bin}:${process.env.PATH}` });
  });

  it('Nestbox login store (0600 file) is used last', async () => {
    const s = setup();
    const store = new FileSecretStore(path.join(s.root, 'nestbox-credentials.json'));
    await store.set(basicReg.host, { username: USER, password: PASS });
    const r = await pull(s.home, `${basicReg.host}/team/vm:v1`, { insecure: true, credentials: defaultCredentialStore(s.home, { env: s.env, secrets: store }), env: s.env }, NOOP_TASK);
    expect(readFileSync(path.join(r.dir, 'disk.img')).equals(disk)).toBe(true);
  });

  it('wrong credentials: an AUTH error naming the source tried, without the secret', async () => {
    for (const reg of [tokenReg, basicReg]) {
      const s = setup({ TART_REGISTRY_USERNAME: USER, TART_REGISTRY_PASSWORD: 'wrong-' + PASS });
      const ctx = recorder();
      const err = await pull(s.home, `${reg.host}/team/vm:v1`, { insecure: true, credentials: defaultCredentialStore(s.home, { env: s.env }), env: s.env }, ctx).catch((e) => e);
      expect(err).toMatchObject({ code: 'AUTH' });
      expect(err.message).toMatch(/credentials from environment/);
      expect(JSON.stringify({ m: err.message, f: err.fix, d: err.details }) + ctx.text()).not.toContain(PASS);
    }
  });

  it('anonymous pull of a private repository says how to log in', async () => {
    const s = setup();
    const err = await pull(s.home, `${tokenReg.host}/team/vm:v1`, { insecure: true, credentials: new CredentialStore([]), env: s.env }, NOOP_TASK).catch((e) => e);
    expect(err).toMatchObject({ code: 'AUTH', fix: expect.stringMatching(/nestbox login/) });
  });
});
