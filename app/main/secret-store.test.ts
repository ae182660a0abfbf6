/**
 * The app's credential store over a safeStorage stand-in that really encrypts (AES-256-GCM with a key held
 * in memory, as the OS keychain holds Electron's): the file on disk must never contain a secret.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileSecretStore } from '../core/oci/credentials';
import { appSecretStore, SafeStorageSecretStore, safeStorageUsable, type SafeStorageLike } from './secret-store';

function keychain(backend = 'gnome_libsecret'): SafeStorageLike & { key: Buffer } {
  const key = randomBytes(32);
  return {
    key,
    isEncryptionAvailable: () => true,
    getSelectedStorageBackend: () => backend,
    encryptString(plain) {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
      return Buffer.concat([iv, c.getAuthTag(), body]);
    },
    decryptString(buf) {
      const d = createDecipheriv('aes-256-gcm', key, buf.subarray(0, 12));
      d.setAuthTag(buf.subarray(12, 28));
      return Buffer.concat([d.update(buf.subarray(28)), d.final()]).toString('utf8');
    },
  };
}

describe('safeStorage secret store', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nestbox-secrets-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('saves credentials encrypted (0600, no plaintext on disk) and reads them back', async () => {
    const file = path.join(dir, 'a.json');
    const store = new SafeStorageSecretStore(keychain(), file);
    await store.set('ghcr.io', { username: 'octocat', password: 'ghp_SuperSecret123' });
    await store.set('127.0.0.1:5000', { username: 'u', password: 'p@ss:word' });
    const raw = readFileSync(file, 'utf8');
    expect(raw).not.toContain('ghp_SuperSecret123');
    expect(raw).not.toContain('octocat');
    expect(Object.keys(JSON.parse(raw).hosts)).toEqual(['ghcr.io', '127.0.0.1:5000']);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await store.get('ghcr.io')).toEqual({ username: 'octocat', password: 'ghp_SuperSecret123' });
    expect(await store.get('127.0.0.1:5000')).toEqual({ username: 'u', password: 'p@ss:word' });
    expect(await store.get('docker.io')).toBeNull();
    expect(await store.delete('ghcr.io')).toBe(true);
    expect(await store.delete('ghcr.io')).toBe(false);
    expect(await store.get('ghcr.io')).toBeNull();
  });

  it('cannot be read with another key (another user or machine): an AUTH error naming the fix, no secret', async () => {
    const file = path.join(dir, 'b.json');
    await new SafeStorageSecretStore(keychain(), file).set('ghcr.io', { username: 'me', password: 'tok' });
    const other = new SafeStorageSecretStore(keychain(), file);
    await expect(other.get('ghcr.io')).rejects.toMatchObject({ code: 'AUTH', message: expect.stringContaining('ghcr.io'), fix: expect.stringContaining('sign in') });
  });

  it('falls back to the CLI store for reads, and logout clears both', async () => {
    const cli = new FileSecretStore(path.join(dir, 'cli.json'));
    await cli.set('quay.io', { username: 'cli', password: 'from-terminal' });
    const store = new SafeStorageSecretStore(keychain(), path.join(dir, 'c.json'), cli);
    expect(await store.get('quay.io')).toEqual({ username: 'cli', password: 'from-terminal' });
    expect(await store.delete('quay.io')).toBe(true);
    expect(await cli.get('quay.io')).toBeNull();
  });

  it('uses the CLI store as is where safeStorage has no OS key (Linux "basic_text")', () => {
    const cli = new FileSecretStore(path.join(dir, 'cli2.json'));
    expect(safeStorageUsable(keychain('basic_text'), 'linux')).toBe(false);
    expect(safeStorageUsable({ ...keychain(), isEncryptionAvailable: () => false }, 'darwin')).toBe(false);
    expect(safeStorageUsable(keychain('kwallet5'), 'linux')).toBe(true);
    expect(appSecretStore(keychain('basic_text'), path.join(dir, 'd.json'), cli, 'linux')).toBe(cli);
    expect(appSecretStore(keychain(), path.join(dir, 'd.json'), cli, 'linux')).toBeInstanceOf(SafeStorageSecretStore);
  });

  it('reports a corrupt file instead of overwriting it', async () => {
    const file = path.join(dir, 'e.json');
    writeFileSync(file, 'not json');
    const store = new SafeStorageSecretStore(keychain(), file);
    await expect(store.set('ghcr.io', { username: 'a', password: 'b' })).rejects.toMatchObject({ code: 'AUTH' });
    expect(readFileSync(file, 'utf8')).toBe('not json');
  });
});
