/**
 * Registry credentials saved by the desktop app, encrypted with Electron's safeStorage (the key lives in
 * the macOS Keychain / libsecret / KWallet). The file holds only ciphertext:
 *   <userData>/registry-credentials.json  {"version":1,"hosts":{"ghcr.io":"<base64 ciphertext>"}}
 * Reads fall back to the CLI's store ($TART_HOME/nestbox-credentials.json), so a `nestbox login` done in a
 * terminal works in the app; logout removes the host from both.
 * Where safeStorage has no real key (Linux without a keyring: backend "basic_text"), the app does not pretend:
 * it uses the CLI's 0600 file, and `description` says so.
 */
import { promises as fsp } from 'node:fs';
import { NestboxError } from '../core/errors';
import { writeFileAtomic } from '../core/fsutil';
import type { Credentials, SecretStore } from '../core/oci/credentials';

/** The part of Electron's safeStorage used here. */
export interface SafeStorageLike {
  isEncryptionAvailable(): boolean;
  encryptString(plainText: string): Buffer;
  decryptString(encrypted: Buffer): string;
  /** Linux only in Electron. */
  getSelectedStorageBackend?(): string;
}

interface FileShape {
  version: 1;
  hosts: Record<string, string>;
}

/** True when safeStorage really encrypts with an OS-held key. */
export function safeStorageUsable(s: SafeStorageLike, platform: NodeJS.Platform = process.platform): boolean {
  if (!s.isEncryptionAvailable()) return false;
  if (platform === 'linux' && s.getSelectedStorageBackend) {
    const b = s.getSelectedStorageBackend();
    if (b === 'basic_text' || b === 'unknown') return false;
  }
  return true;
}

export class SafeStorageSecretStore implements SecretStore {
  readonly description: string;

  constructor(
    private readonly safe: SafeStorageLike,
    readonly file: string,
    /** The CLI's store, read as a fallback and cleared on logout. */
    private readonly fallback?: SecretStore,
  ) {
    this.description = `the system keychain (encrypted in ${file})`;
  }

  private async read(): Promise<FileShape> {
    let text: string;
    try {
      text = await fsp.readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, hosts: {} };
      throw e;
    }
    try {
      const j = JSON.parse(text) as FileShape;
      if (j && j.version === 1 && j.hosts && typeof j.hosts === 'object') return j;
    } catch {}
    throw new NestboxError('AUTH', `The saved registry credentials (${this.file}) are unreadable.`, { fix: `Delete ${this.file} and sign in to your registries again.` });
  }

  private async write(data: FileShape): Promise<void> {
    await writeFileAtomic(this.file, JSON.stringify(data, null, 2) + '\n', 0o600);
  }

  async get(host: string): Promise<Credentials | null> {
    const data = await this.read();
    const blob = data.hosts[host];
    if (blob !== undefined) {
      let plain: string;
      try {
        plain = this.safe.decryptString(Buffer.from(blob, 'base64'));
      } catch {
        throw new NestboxError('AUTH', `The saved credentials for ${host} cannot be decrypted (the keychain entry changed or is locked).`, {
          fix: `Unlock the keychain, or sign in to ${host} again.`,
          details: { host },
        });
      }
      const c = JSON.parse(plain) as Credentials;
      return { username: c.username, password: c.password };
    }
    return this.fallback ? this.fallback.get(host) : null;
  }

  async set(host: string, c: Credentials): Promise<void> {
    const data = await this.read();
    data.hosts[host] = this.safe.encryptString(JSON.stringify({ username: c.username, password: c.password })).toString('base64');
    await this.write(data);
  }

  async delete(host: string): Promise<boolean> {
    const data = await this.read();
    let removed = false;
    if (host in data.hosts) {
      delete data.hosts[host];
      await this.write(data);
      removed = true;
    }
    if (this.fallback && (await this.fallback.delete(host))) removed = true;
    return removed;
  }
}

/** The app's store: safeStorage when it really encrypts, else the CLI's file store as is. */
export function appSecretStore(safe: SafeStorageLike, file: string, cliStore: SecretStore, platform: NodeJS.Platform = process.platform): SecretStore {
  return safeStorageUsable(safe, platform) ? new SafeStorageSecretStore(safe, file, cliStore) : cliStore;
}
