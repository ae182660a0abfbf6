/**
 * A real OCI registry (docker-registry, the CNCF distribution registry) for tests, on 127.0.0.1 with a free port.
 *   const reg = await startRegistry();                       // anonymous
 *   const reg = await startRegistry({ auth: { kind: 'basic', username: 'u', password: 'p' } });
 *   const reg = await startRegistry({ auth: { kind: 'token', username: 'u', password: 'p' } });  // + JWT token server
 *   … reg.host ("127.0.0.1:PORT"), reg.url ("http://127.0.0.1:PORT") …
 *   await reg.stop();                                        // in afterAll (kills the process, removes its storage)
 * Images are pushed with Nestbox's own engine: `await pushTestImage(reg.host, 'ns/img:tag', diskBytes)`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, createSign, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { writeVmFolder } from './vmfixtures';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface RegistryAuth {
  kind: 'basic' | 'token';
  username: string;
  password: string;
}

export interface StartedRegistry {
  /** http://127.0.0.1:PORT */
  url: string;
  /** 127.0.0.1:PORT — what goes in image names (pull with `insecure: true`). */
  host: string;
  port: number;
  /** Storage root of the registry (to corrupt blobs in tests). */
  storage: string;
  /** Token server URL when auth.kind === 'token'. */
  tokenUrl?: string;
  /** Number of tokens issued (token auth). */
  tokensIssued(): number;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Polls `url` until it answers with one of `statuses`, or throws after `timeoutMs`. */
export async function waitForHttp(url: string, statuses: number[], timeoutMs = 20_000, proc?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (proc && proc.exitCode !== null) throw new Error(`process exited (${proc.exitCode}) before ${url} was ready`);
    const status = await new Promise<number>((resolve) => {
      const req = http.get(url, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', (e) => {
        last = e.message;
        resolve(0);
      });
      req.setTimeout(2000, () => req.destroy());
    });
    if (statuses.includes(status)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms (${last})`);
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');

/** A small token server (Docker registry token auth): checks Basic credentials, returns an RS256 JWT. */
async function startTokenServer(dir: string, auth: RegistryAuth, service: string, issuer: string) {
  const key = path.join(dir, 'token.key');
  const cert = path.join(dir, 'token.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=nestbox-test-token'], { stdio: 'ignore' });
  const pem = readFileSync(cert, 'utf8');
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const privateKey = readFileSync(key, 'utf8');
  let issued = 0;
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const authz = req.headers.authorization ?? '';
    let user: string | null = null;
    if (authz.startsWith('Basic ')) {
      const [n, ...p] = Buffer.from(authz.slice(6), 'base64').toString().split(':');
      if (n === auth.username && p.join(':') === auth.password) user = n!;
      else {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}');
        return;
      }
    }
    const access: { type: string; name: string; actions: string[] }[] = [];
    if (user) {
      for (const scope of u.searchParams.getAll('scope')) {
        const [type, name, actions] = scope.split(':');
        if (type && name && actions) access.push({ type, name, actions: actions.split(',') });
      }
    }
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'RS256', typ: 'JWT', x5c: [der.toString('base64')] };
    const claims = { iss: issuer, sub: user ?? '', aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = createSign('RSA-SHA256').update(input).sign(privateKey);
    issued++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `${input}.${b64url(sig)}`, expires_in: 300, issued_at: new Date().toISOString() }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/token`, cert, issued: () => issued, stop: () => new Promise<void>((r) => server.close(() => r())) };
}

export async function startRegistry(opts: { auth?: RegistryAuth } = {}): Promise<StartedRegistry> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nestbox-registry-'));
  const storage = path.join(dir, 'storage');
  mkdirSync(storage);
  const port = await freePort();
  let token: Awaited<ReturnType<typeof startTokenServer>> | undefined;
  const lines = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${storage}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${randomBytes(16).toString('hex')}`,
  ];
  if (opts.auth?.kind === 'basic') {
    const htpasswd = path.join(dir, 'htpasswd');
    writeFileSync(htpasswd, execFileSync('htpasswd', ['-Bbn', opts.auth.username, opts.auth.password]));
    lines.push('auth:', '  htpasswd:', '    realm: nestbox-test', `    path: ${htpasswd}`);
  } else if (opts.auth?.kind === 'token') {
    token = await startTokenServer(dir, opts.auth, 'nestbox-registry', 'nestbox-test-issuer');
    lines.push('auth:', '  token:', `    realm: ${token.url}`, '    service: nestbox-registry', '    issuer: nestbox-test-issuer', `    rootcertbundle: ${token.cert}`);
  }
  const config = path.join(dir, 'config.yml');
  writeFileSync(config, lines.join('\n') + '\n');
  const proc = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
    }
    await token?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForHttp(`${url}/v2/`, [200, 401], 20_000, proc);
  } catch (e) {
    await stop();
    throw new Error(`docker-registry did not start: ${(e as Error).message}\n${stderr}`, { cause: e });
  }
  return { url, host: `127.0.0.1:${port}`, port, storage, tokenUrl: token?.url, tokensIssued: () => token?.issued() ?? 0, stop };
}

/** Path of a blob's data file in the registry's filesystem storage (to corrupt it in tests). */
export function blobDataPath(storage: string, digest: string): string {
  const hex = digest.replace(/^sha256:/, '');
  return path.join(storage, 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
}

export function sha256Hex(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/**
 * Pushes a small Tart-format test image made of `diskBytes` to `host/repo` (anonymous, plain HTTP) with Nestbox's
 * engine, from a throwaway TART_HOME. Returns the manifest digest. `layerSize` makes several disk layers.
 */
export async function pushTestImage(
  host: string,
  repo: string,
  diskBytes: Uint8Array,
  o: { layerSize?: number; compression?: 'lz4' | 'zstd'; os?: 'linux' | 'darwin'; credentials?: { username: string; password: string } } = {},
): Promise<{ digest: string }> {
  const { homePaths } = await import('../../app/core/library/home');
  const { push } = await import('../../app/core/oci/push');
  const { CredentialStore, staticProvider } = await import('../../app/core/oci/credentials');
  const { NOOP_TASK } = await import('../../app/core/tasks/context');
  const root = mkdtempSync(path.join(os.tmpdir(), 'nestbox-pushimg-'));
  try {
    const home = homePaths(root);
    mkdirSync(home.tmp, { recursive: true });
    mkdirSync(home.cache, { recursive: true });
    writeVmFolder(path.join(home.vms, 'src'), {
      config: { version: 1, os: o.os ?? 'linux', arch: 'arm64', cpuCountMin: 1, cpuCount: 1, memorySizeMin: 268435456, memorySize: 268435456, macAddress: '7e:1c:f2:4a:78:30', display: { width: 1024, height: 768 } },
      disk: diskBytes,
      nvram: Buffer.alloc(64 * 1024, 0x4e),
    });
    const credentials = new CredentialStore(o.credentials ? [staticProvider(o.credentials)] : []);
    return await push(home, 'src', [`${host}/${repo}`], { insecure: true, credentials, layerSize: o.layerSize ?? 4 * 1024 * 1024, compression: o.compression }, NOOP_TASK);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
