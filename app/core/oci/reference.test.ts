import { describe, expect, it } from 'vitest';
import { formatRemoteName, parseRemoteName, parseRemoteNameOrThrow } from './reference';

const D = 'sha256:' + 'a'.repeat(64);

describe('remote names (Tart grammar)', () => {
  it('parses host/namespace with default tag, tags, ports and digests', () => {
    expect(parseRemoteName('ghcr.io/cirruslabs/macos-sequoia-base')).toEqual({ host: 'ghcr.io', namespace: 'cirruslabs/macos-sequoia-base', reference: { kind: 'tag', tag: 'latest' } });
    expect(parseRemoteName('ghcr.io/cirruslabs/macos-sequoia-base:14.1-xcode_1')).toMatchObject({ reference: { kind: 'tag', tag: '14.1-xcode_1' } });
    expect(parseRemoteName('127.0.0.1:5000/a/b.c_d-e:v1')).toEqual({ host: '127.0.0.1:5000', namespace: 'a/b.c_d-e', reference: { kind: 'tag', tag: 'v1' } });
    expect(parseRemoteName(`my-reg.example.com/x@${D}`)).toEqual({ host: 'my-reg.example.com', namespace: 'x', reference: { kind: 'digest', digest: D } });
  });

  it('treats names without a host as local', () => {
    expect(parseRemoteName('debian')).toBeNull();
    expect(parseRemoteName('debian:latest')).toBeNull();
  });

  it('rejects bad names with the reason', () => {
    expect(() => parseRemoteNameOrThrow('ghcr.io/a/../b')).toThrow(/"\.\." is not allowed/);
    expect(() => parseRemoteNameOrThrow('ghcr.io/a@md5:abc')).toThrow(/only sha256/);
    expect(() => parseRemoteNameOrThrow('ghcr.io/a@sha256:abc')).toThrow(/64 lowercase hex/);
    expect(() => parseRemoteNameOrThrow('ghcr.io/')).toThrow(/namespace/);
    expect(() => parseRemoteNameOrThrow('ghcr.io/ä')).toThrow(/ASCII/);
    expect(() => parseRemoteNameOrThrow('-bad.io/a')).toThrow(/host/);
    expect(() => parseRemoteNameOrThrow('ghcr.io/a:-x')).toThrow(/tag/);
    try {
      parseRemoteNameOrThrow('debian');
    } catch (e) {
      expect((e as { code: string }).code).toBe('INVALID_REFERENCE');
    }
  });

  it('formats back to the same text', () => {
    for (const s of ['ghcr.io/a/b:latest', `127.0.0.1:5000/a@${D}`]) expect(formatRemoteName(parseRemoteNameOrThrow(s))).toBe(s);
  });
});
