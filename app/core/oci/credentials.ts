import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NestboxError } from '../errors';
import { writeFileAtomic } from '../fsutil';
import type { Home } from '../library/home';

/**
 * Registry credentials, looked up in Tart's order plus Docker's full config and Nestbox's own store:
 *   1. env TART_REGISTRY_USERNAME + TART_REGISTRY_PASSWORD (only for TART_REGISTRY_HOSTNAME when that is set)
 *   2. Docker config ($DOCKER_CONFIG/config.json, else ~/.docker/config.json): auths[host].auth,
 *      credHelpers[host] (key equal to host or matching it as a whole-string regex), credsStore
 *   3. Nestbox's store (`nestbox login`): a SecretStore — the OS keychain via Electron safeStorage in the app,
 *      a 0600 JSON file at $TART_HOME/nestbox-credentials.json otherwise.
 * Provider failures are reported through `warn` (no secrets) and skipped. Hosts include the port.
 */
export interface Credentials {
  username: string;
  password: string;
}

export interface SecretStore {
  get(host: string): Promise<Credentials | null>;
  set(host: string, c: Credentials): Promise<void>;
  /** Returns whether something was removed. */
  delete(host: string): Promise<boolean>;
  /** Where secrets live, in words (for messages). */
  readonly description: string;
}

export interface CredentialProvider {
  /** Names the source in messages ("environment TART_REGISTRY_USERNAME", "~/.docker/config.json auths"). */
  readonly name: string;
  get(host: string): Promise<Credentials | null>;
}

export interface FoundCredentials {
  credentials: Credentials;
  source: string;
}

export class CredentialStore {
  constructor(
    readonly providers: CredentialProvider[],
    private readonly warn: (msg: string) => void = () => {},
  ) {}

  /** The first provider that has credentials for `host`, or null (anonymous). */
  async lookup(host: string): Promise<FoundCredentials | null> {
    for (const p of this.providers) {
      try {
        const c = await p.get(host);
        if (c) return { credentials: c, source: p.name };
      } catch (e) {
        this.warn(`Could not read credentials from ${p.name}: ${(e as Error).message}`);
      }
    }
    return null;
  }

  /** Names of all sources consulted (for "401 … tried: …" messages). */
  sources(): string[] {
    return this.providers.map((p) => p.name);
  }
}

/** Fixed credentials (`login` validation, tests). */
export function staticProvider(c: Credentials, name = 'the given credentials'): CredentialProvider {
  return { name, get: async () => c };
}

export function envProvider(env: NodeJS.ProcessEnv = process.env): CredentialProvider {
  return {
    name: 'environment (TART_REGISTRY_USERNAME/TART_REGISTRY_PASSWORD)',
    async get(host) {
      const u = env.TART_REGISTRY_USERNAME;
      const p = env.TART_REGISTRY_PASSWORD;
      if (!u || p === undefined) return null;
      if (env.TART_REGISTRY_HOSTNAME && env.TART_REGISTRY_HOSTNAME !== host) return null;
      return { username: u, password: p };
    },
  };
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

function normalizeRegistryKey(k: string): string {
  return k.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
}

export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CONFIG ? path.join(env.DOCKER_CONFIG, 'config.json') : path.join(env.HOME || os.homedir(), '.docker', 'config.json');
}

function runHelper(helper: string, host: string, env: NodeJS.ProcessEnv): Promise<Credentials | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(`docker-credential-${helper}`, ['get'], { stdio: ['pipe', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', (e) => reject(new Error(`docker-credential-${helper}: ${e.message}`)));
    child.on('close', (code) => {
      if (code !== 0) {
        // "credentials not found in native keychain" is not an error: anonymous
        if (/not found/i.test(out + err)) return resolve(null);
        return reject(new Error(`docker-credential-${helper} exited with ${code}`));
      }
      try {
        const j = JSON.parse(out) as { Username?: string; Secret?: string };
        if (!j.Username || j.Secret === undefined) return resolve(null);
        resolve({ username: j.Username, password: j.Secret });
      } catch {
        reject(new Error(`docker-credential-${helper} printed something that is not JSON`));
      }
    });
    child.stdin.end(`${host}\n`);
  });
}

export function dockerConfigProvider(env: NodeJS.ProcessEnv = process.env): CredentialProvider {
  const file = dockerConfigPath(env);
  return {
    name: `Docker config (${file})`,
    async get(host) {
      let cfg: DockerConfig;
      try {
        cfg = JSON.parse(await fsp.readFile(file, 'utf8')) as DockerConfig;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw new Error(`cannot parse ${file}`, { cause: e });
      }
      for (const [k, v] of Object.entries(cfg.auths ?? {})) {
        if (normalizeRegistryKey(k) !== host) continue;
        if (v.auth) {
          const parts = Buffer.from(v.auth, 'base64').toString('utf8').split(':');
          if (parts.length >= 2 && parts[0]) return { username: parts[0], password: parts.slice(1).join(':') };
        }
        if (v.username && v.password !== undefined) return { username: v.username, password: v.password };
      }
      for (const [k, helper] of Object.entries(cfg.credHelpers ?? {})) {
        let match = normalizeRegistryKey(k) === host;
        if (!match) {
          try {
            match = new RegExp(`^(?:${k})$`).test(host);
          } catch {}
        }
        if (match) return runHelper(helper, host, env);
      }
      if (cfg.credsStore) return runHelper(cfg.credsStore, host, env);
      return null;
    },
  };
}

/** Default SecretStore outside the app: a 0600 JSON file `$TART_HOME/nestbox-credentials.json` ({host: {username, password}}). */
export class FileSecretStore implements SecretStore {
  readonly description: string;
  constructor(readonly file: string) {
    this.description = file;
  }

  private async read(): Promise<Record<string, Credentials>> {
    try {
      return JSON.parse(await fsp.readFile(this.file, 'utf8')) as Record<string, Credentials>;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new NestboxError('AUTH', `The credential file ${this.file} is unreadable or not JSON.`, { fix: `Delete ${this.file} and run \`nestbox login\` again.` });
    }
  }

  async get(host: string): Promise<Credentials | null> {
    const all = await this.read();
    return all[host] ?? null;
  }

  async set(host: string, c: Credentials): Promise<void> {
    const all = await this.read();
    all[host] = { username: c.username, password: c.password };
    await writeFileAtomic(this.file, JSON.stringify(all, null, 2) + '\n', 0o600);
    await fsp.chmod(this.file, 0o600);
  }

  async delete(host: string): Promise<boolean> {
    const all = await this.read();
    if (!(host in all)) return false;
    delete all[host];
    await writeFileAtomic(this.file, JSON.stringify(all, null, 2) + '\n', 0o600);
    return true;
  }
}

export function defaultSecretStore(home: Home): SecretStore {
  return new FileSecretStore(path.join(home.root, 'nestbox-credentials.json'));
}

export function secretStoreProvider(store: SecretStore): CredentialProvider {
  return { name: `Nestbox login (${store.description})`, get: (host) => store.get(host) };
}

/** The standard provider chain. Pass the app's safeStorage-backed store as `secrets` when in Electron. */
export function defaultCredentialStore(home: Home, o: { env?: NodeJS.ProcessEnv; secrets?: SecretStore; warn?: (m: string) => void } = {}): CredentialStore {
  const env = o.env ?? process.env;
  return new CredentialStore([envProvider(env), dockerConfigProvider(env), secretStoreProvider(o.secrets ?? defaultSecretStore(home))], o.warn);
}
