import { NestboxError } from '../errors';

/**
 * Remote image references, Tart's grammar (tart-format.md §5):
 *   host[:port]/namespace[:tag | @sha256:<hex>]
 * host = dot-separated components, each alnum runs joined by '-'; port = digits (kept in `host`);
 * namespace = '/'-separated components, each alnum runs optionally followed by one of '.', '-', '_';
 * tag = alnum runs separated by '.', '-', '_'. A host is mandatory (no default registry: `debian:latest` is a
 * local name), the default tag is `latest`, `..` is rejected, ASCII only, and only `sha256` digests exist.
 */
export interface RemoteName {
  host: string;
  namespace: string;
  reference: { kind: 'tag'; tag: string } | { kind: 'digest'; digest: string };
}

const HOST_COMPONENT = /^[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*$/;
const NS_COMPONENT = /^(?:[A-Za-z0-9]+[._-]?)+$/;
const TAG = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** Parses `s`, returning the reason it is not a remote name instead of throwing. */
export function tryParseRemoteName(s: string): { ok: true; name: RemoteName } | { ok: false; reason: string } {
  if (!/^[\x21-\x7e]*$/.test(s)) return { ok: false, reason: 'only printable ASCII characters without spaces are allowed' };
  if (s.includes('..')) return { ok: false, reason: '".." is not allowed' };
  const slash = s.indexOf('/');
  if (slash < 0) return { ok: false, reason: 'a remote name needs a registry host followed by "/" (e.g. ghcr.io/org/image:tag)' };
  const hostPart = s.slice(0, slash);
  let rest = s.slice(slash + 1);
  const portMatch = /^(.*?)(?::(\d+))?$/.exec(hostPart)!;
  const hostName = portMatch[1]!;
  if (hostName.length === 0 || !hostName.split('.').every((c) => HOST_COMPONENT.test(c))) {
    return { ok: false, reason: `"${hostPart}" is not a valid registry host` };
  }
  let reference: RemoteName['reference'] = { kind: 'tag', tag: 'latest' };
  const at = rest.indexOf('@');
  if (at >= 0) {
    const digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!/^[A-Za-z0-9]+:[A-Za-z0-9]+$/.test(digest)) return { ok: false, reason: `"${digest}" is not a digest (expected sha256:<64 hex digits>)` };
    if (!digest.startsWith('sha256:')) return { ok: false, reason: `only sha256 digests are supported, got "${digest.split(':')[0]}"` };
    if (!DIGEST.test(digest)) return { ok: false, reason: `"${digest}" is not a valid sha256 digest (expected 64 lowercase hex digits)` };
    reference = { kind: 'digest', digest };
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon >= 0) {
      const tag = rest.slice(colon + 1);
      rest = rest.slice(0, colon);
      if (!TAG.test(tag)) return { ok: false, reason: `"${tag}" is not a valid tag (letters and digits separated by ".", "-" or "_")` };
      reference = { kind: 'tag', tag };
    }
  }
  if (rest.length === 0) return { ok: false, reason: 'the repository (namespace) after the host is missing' };
  for (const c of rest.split('/')) {
    if (!NS_COMPONENT.test(c)) return { ok: false, reason: `"${c}" is not a valid repository path component` };
  }
  return { ok: true, name: { host: hostPart, namespace: rest, reference } };
}

/** The remote name `s` denotes, or null when `s` is not one (then it is a local VM name, as in Tart). */
export function parseRemoteName(s: string): RemoteName | null {
  const r = tryParseRemoteName(s);
  return r.ok ? r.name : null;
}

export function parseRemoteNameOrThrow(s: string): RemoteName {
  const r = tryParseRemoteName(s);
  if (r.ok) return r.name;
  throw new NestboxError('INVALID_REFERENCE', `"${s}" is not a valid remote image name: ${r.reason}.`, {
    fix: 'Use host[:port]/repository[:tag] or host[:port]/repository@sha256:<digest>, e.g. ghcr.io/cirruslabs/macos-sequoia-base:latest.',
    details: { name: s },
  });
}

export function formatReference(r: RemoteName['reference']): string {
  return r.kind === 'tag' ? r.tag : r.digest;
}

export function formatRemoteName(r: RemoteName): string {
  return r.reference.kind === 'tag' ? `${r.host}/${r.namespace}:${r.reference.tag}` : `${r.host}/${r.namespace}@${r.reference.digest}`;
}

/** The same repository with another reference. */
export function withReference(r: RemoteName, reference: RemoteName['reference']): RemoteName {
  return { host: r.host, namespace: r.namespace, reference };
}
