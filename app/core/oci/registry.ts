import { createHash } from 'node:crypto';
import type http from 'node:http';
import type { Readable } from 'node:stream';
import { NestboxError } from '../errors';
import type { CredentialStore, FoundCredentials } from './credentials';
import { discard, readBody, registryErrorText, request, TransportError } from './http';
import { MANIFEST_MEDIA_TYPE, type Manifest } from './mediatypes';

/** `WWW-Authenticate: Scheme k=v, k="v, with comma"` → scheme + directives (quotes stripped). */
export function parseWwwAuthenticate(h: string): { scheme: string; params: Record<string, string> } {
  const sp = h.indexOf(' ');
  const scheme = (sp < 0 ? h : h.slice(0, sp)).trim();
  const rest = sp < 0 ? '' : h.slice(sp + 1);
  const params: Record<string, string> = {};
  const re = /\s*([^=,\s]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^,]*)\s*,?/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(rest)) !== null) {
    if (m[0].length === 0) break;
    params[m[1]!] = m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : m[2]!.trim();
  }
  return { scheme, params };
}

export function sha256Digest(b: Uint8Array): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

const RETRIES = 5;
export const backoff = (attempt: number) => new Promise((r) => setTimeout(r, Math.min(4000, 100 * 2 ** attempt)));

export interface RegistryOptions {
  insecure?: boolean;
  credentials?: CredentialStore;
  timeoutMs?: number;
  signal?: AbortSignal;
  log?: (m: string) => void;
}

/** One repository on one registry, with Tart's auth flow (anonymous → Basic or Bearer token from WWW-Authenticate). */
export class Registry {
  readonly base: string;
  private auth: { header: string; expiresAt: number } | null = null;
  private lastChallenge: string | null = null;
  private found: FoundCredentials | null | undefined;

  constructor(
    readonly host: string,
    readonly namespace: string,
    readonly o: RegistryOptions = {},
  ) {
    this.base = `${o.insecure ? 'http' : 'https'}://${host}/v2/`;
  }

  /** URL of `/v2/<ns>/<rest>`. */
  url(rest: string): string {
    return `${this.base}${this.namespace}/${rest}`;
  }

  /** Authorization header to hand to worker threads (may be undefined for anonymous registries). */
  authorization(): string | undefined {
    return this.auth && this.auth.expiresAt > Date.now() ? this.auth.header : undefined;
  }

  private async credentials(): Promise<FoundCredentials | null> {
    if (this.found === undefined) this.found = (await this.o.credentials?.lookup(this.host)) ?? null;
    return this.found;
  }

  /** Runs the auth flow for a challenge (from a 401). */
  async authenticate(challenge: string): Promise<void> {
    this.lastChallenge = challenge;
    const { scheme, params } = parseWwwAuthenticate(challenge);
    const found = await this.credentials();
    if (scheme.toLowerCase() === 'basic') {
      if (!found) throw this.authError('requires a user name and password');
      const b = Buffer.from(`${found.credentials.username}:${found.credentials.password}`).toString('base64');
      this.auth = { header: `Basic ${b}`, expiresAt: Number.MAX_SAFE_INTEGER };
      return;
    }
    if (scheme.toLowerCase() !== 'bearer') {
      throw new NestboxError('AUTH', `${this.host} asks for unsupported authentication "${scheme}".`, { fix: 'Only Basic and Bearer (token) authentication are supported.' });
    }
    if (!params.realm) throw new NestboxError('AUTH', `${this.host} sent a Bearer challenge without a realm.`, { fix: 'Check the registry configuration.' });
    const u = new URL(params.realm);
    for (const k of ['scope', 'service']) if (params[k] !== undefined) u.searchParams.set(k, params[k]!);
    const headers: Record<string, string> = {};
    if (found) headers.Authorization = `Basic ${Buffer.from(`${found.credentials.username}:${found.credentials.password}`).toString('base64')}`;
    let res: http.IncomingMessage;
    try {
      res = await request(u.toString(), { headers, timeoutMs: this.o.timeoutMs, signal: this.o.signal });
    } catch (e) {
      throw this.transportError(e, u.host);
    }
    const body = await readBody(res, 1024 * 1024);
    if (res.statusCode === 401 || res.statusCode === 403) throw this.authError('rejected the credentials at its token service');
    if (res.statusCode !== 200) throw new NestboxError('AUTH', `The token service of ${this.host} answered ${res.statusCode}.`, { fix: 'Try again later; check the registry status.' });
    let j: { token?: string; access_token?: string; expires_in?: number; issued_at?: string };
    try {
      j = JSON.parse(body.toString('utf8'));
    } catch {
      throw new NestboxError('AUTH', `The token service of ${this.host} did not return JSON.`, { fix: 'Check the registry configuration.' });
    }
    const token = j.token ?? j.access_token;
    if (!token) throw new NestboxError('AUTH', `The token service of ${this.host} returned no token.`, { fix: 'Check the registry configuration.' });
    const issued = j.issued_at ? Date.parse(j.issued_at) : Date.now();
    const expires = (Number.isFinite(issued) ? issued : Date.now()) + (j.expires_in ?? 60) * 1000;
    this.auth = { header: `Bearer ${token}`, expiresAt: Math.max(expires - 5000, Date.now() + 10_000) };
  }

  /** Re-runs the last challenge (a worker got 401: the token expired). */
  async refreshAuth(): Promise<void> {
    this.auth = null;
    if (this.lastChallenge) await this.authenticate(this.lastChallenge);
  }

  authError(what: string): NestboxError {
    const tried = this.found ? `credentials from ${this.found.source}` : `no credentials (looked in: ${this.o.credentials?.sources().join('; ') || 'none'})`;
    return new NestboxError('AUTH', `${this.host} ${what} (401 for ${this.namespace}); tried ${tried}.`, {
      fix: this.found
        ? `Check the user name and password in ${this.found.source}, or run \`nestbox login ${this.host}\` again.`
        : `Run \`nestbox login ${this.host}\`, or set TART_REGISTRY_USERNAME and TART_REGISTRY_PASSWORD.`,
      details: { host: this.host, namespace: this.namespace, credentialSource: this.found?.source ?? null },
    });
  }

  transportError(e: unknown, host = this.host): NestboxError {
    if (e instanceof NestboxError) return e;
    if ((e as Error)?.name === 'AbortError') return new NestboxError('CANCELLED', 'The transfer was cancelled.', { fix: 'Run it again to resume where it stopped.' });
    const code = e instanceof TransportError ? e.errno : (e as NodeJS.ErrnoException)?.code;
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
      return new NestboxError('NETWORK', `Unknown registry host "${host}" (DNS lookup failed).`, { fix: 'Check the image name and your network connection.', details: { host } });
    }
    if (code === 'ECONNREFUSED') {
      return new NestboxError('NETWORK', `Cannot connect to ${host} (connection refused).`, { fix: 'Check that the registry is running and the port is right.', details: { host } });
    }
    if (code === 'EPROTO' || /wrong version number|SSL/i.test((e as Error)?.message ?? '')) {
      return new NestboxError('NETWORK', `TLS handshake with ${host} failed.`, { fix: `If ${host} serves plain HTTP, pass --insecure.`, details: { host } });
    }
    return new NestboxError('NETWORK', `Network error talking to ${host}: ${(e as Error)?.message ?? String(e)}.`, { fix: 'Check your connection and try again; interrupted pulls resume.', details: { host } });
  }

  /**
   * Sends a request with the current Authorization; on 401 runs the auth flow and retries once. Transport errors and
   * 5xx answers are retried with backoff when `retry` is set (idempotent requests).
   */
  async send(method: string, url: string, o: { headers?: Record<string, string | number>; body?: Buffer | (() => Readable); retry?: boolean } = {}): Promise<http.IncomingMessage> {
    let authRetried = false;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string | number> = { ...(o.headers ?? {}) };
      const a = this.authorization();
      if (a) headers.Authorization = a;
      let res: http.IncomingMessage;
      try {
        res = await request(url, { method, headers, body: typeof o.body === 'function' ? o.body() : o.body, timeoutMs: this.o.timeoutMs, signal: this.o.signal });
      } catch (e) {
        const errno = e instanceof TransportError ? e.errno : undefined;
        if ((e as Error).name === 'AbortError' || !o.retry || attempt >= RETRIES || errno === 'ENOTFOUND' || errno === 'ECONNREFUSED') throw this.transportError(e);
        this.o.log?.(`Retrying after a network error (${(e as Error).message})`);
        await backoff(attempt);
        continue;
      }
      if (res.statusCode === 401) {
        await discard(res);
        const challenge = res.headers['www-authenticate'];
        if (authRetried || !challenge) throw this.authError(this.found ? 'rejected the credentials' : 'requires authentication');
        authRetried = true;
        await this.authenticate(challenge);
        attempt--;
        continue;
      }
      if (o.retry && (res.statusCode ?? 0) >= 500 && attempt < RETRIES) {
        await discard(res);
        this.o.log?.(`Retrying after HTTP ${res.statusCode} from ${this.host}`);
        await backoff(attempt);
        continue;
      }
      return res;
    }
  }

  async ping(): Promise<void> {
    const res = await this.send('GET', this.base, { retry: true });
    const body = await readBody(res, 1024 * 1024);
    if (res.statusCode !== 200) throw new NestboxError('REGISTRY', `${this.host} answered ${res.statusCode} to GET /v2/: ${registryErrorText(body)}.`, { fix: 'Check that this is an OCI registry.' });
  }

  /** GET the manifest; returns its raw bytes (the digest is theirs), parsed JSON and digest. */
  async getManifest(reference: string): Promise<{ bytes: Buffer; manifest: Manifest; digest: string; mediaType: string }> {
    const res = await this.send('GET', this.url(`manifests/${reference}`), { headers: { Accept: MANIFEST_MEDIA_TYPE }, retry: true });
    const bytes = await readBody(res, 16 * 1024 * 1024);
    if (res.statusCode === 404) {
      const text = registryErrorText(bytes);
      let repoMissing = /NAME_UNKNOWN/.test(text);
      let tags: string[] = [];
      if (!repoMissing) {
        // Many registries answer MANIFEST_UNKNOWN for missing repositories too: ask for the tag list to tell them apart.
        try {
          const t = await this.send('GET', this.url('tags/list'));
          const tb = await readBody(t, 4 * 1024 * 1024);
          if (t.statusCode === 404) repoMissing = true;
          else if (t.statusCode === 200) tags = ((JSON.parse(tb.toString('utf8')) as { tags?: string[] }).tags ?? []).slice(0, 10);
        } catch {}
      }
      throw new NestboxError(
        'NOT_FOUND',
        repoMissing ? `Repository ${this.host}/${this.namespace} does not exist.` : `${this.host}/${this.namespace} has no image "${reference}".`,
        {
          fix: repoMissing
            ? 'Check the repository name (and that you are logged in to see private repositories).'
            : tags.length > 0
              ? `Check the tag or digest; tags in this repository include: ${tags.join(', ')}.`
              : 'Check the tag or digest.',
          details: { host: this.host, namespace: this.namespace, reference, registryError: text, tags },
        },
      );
    }
    if (res.statusCode !== 200) throw new NestboxError('REGISTRY', `${this.host} answered ${res.statusCode} for the manifest of ${this.namespace}:${reference}: ${registryErrorText(bytes)}.`, { fix: 'Try again later.' });
    let manifest: Manifest;
    try {
      manifest = JSON.parse(bytes.toString('utf8')) as Manifest;
    } catch {
      throw new NestboxError('NOT_A_VM_IMAGE', `The manifest of ${this.namespace}:${reference} is not JSON.`, { fix: 'Check that this is a VM image pushed by Tart or Nestbox.' });
    }
    return { bytes, manifest, digest: sha256Digest(bytes), mediaType: String(res.headers['content-type'] ?? '') };
  }

  async putManifest(reference: string, bytes: Buffer): Promise<void> {
    const res = await this.send('PUT', this.url(`manifests/${reference}`), { headers: { 'Content-Type': MANIFEST_MEDIA_TYPE }, body: bytes, retry: true });
    const body = await readBody(res, 1024 * 1024);
    if (res.statusCode !== 201 && res.statusCode !== 200) {
      throw new NestboxError('REGISTRY', `${this.host} refused the manifest for ${this.namespace}:${reference} (${res.statusCode}: ${registryErrorText(body)}).`, { fix: 'Check your push permissions and that all blobs were uploaded.' });
    }
  }

  async blobExists(digest: string): Promise<boolean> {
    const res = await this.send('HEAD', this.url(`blobs/${digest}`), { retry: true });
    await discard(res);
    if (res.statusCode === 200) return true;
    if (res.statusCode === 404) return false;
    throw new NestboxError('REGISTRY', `${this.host} answered ${res.statusCode} to HEAD blob ${digest}.`, { fix: 'Check your permissions for this repository.' });
  }

  /** Uploads a small in-memory blob (config, NVRAM) unless the registry has it. */
  async uploadSmallBlob(data: Buffer, digest = sha256Digest(data)): Promise<string> {
    if (await this.blobExists(digest)) return digest;
    for (let attempt = 0; ; attempt++) {
      try {
        const location = await this.startUpload();
        const u = new URL(location);
        u.searchParams.set('digest', digest);
        const res = await this.send('PUT', u.toString(), { headers: { 'Content-Type': 'application/octet-stream' }, body: data });
        const body = await readBody(res, 1024 * 1024);
        if (res.statusCode === 201) return digest;
        if ((res.statusCode ?? 0) >= 500 && attempt < RETRIES) {
          await backoff(attempt);
          continue;
        }
        throw new NestboxError('REGISTRY', `${this.host} refused blob ${digest} (${res.statusCode}: ${registryErrorText(body)}).`, { fix: 'Check your push permissions.' });
      } catch (e) {
        if (e instanceof NestboxError && e.code !== 'NETWORK') throw e;
        if (attempt >= RETRIES) throw this.transportError(e);
        await backoff(attempt);
      }
    }
  }

  /** POST /blobs/uploads/ → absolute Location. */
  async startUpload(): Promise<string> {
    const res = await this.send('POST', this.url('blobs/uploads/'), { headers: { 'Content-Length': 0 }, retry: true });
    const body = await readBody(res, 1024 * 1024);
    if (res.statusCode !== 202 || !res.headers.location) {
      throw new NestboxError('REGISTRY', `${this.host} did not start an upload to ${this.namespace} (${res.statusCode}: ${registryErrorText(body)}).`, { fix: 'Check your push permissions for this repository.' });
    }
    return new URL(res.headers.location, this.base).toString();
  }
}
