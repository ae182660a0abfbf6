/**
 * nestbox:// links. Exactly one form exists:
 *
 *   nestbox://pull?ref=<host[:port]/repository[:tag|@sha256:digest]>
 *
 * Links can come from any web page, so parsing is strict (anything else is rejected with a reason) and a
 * valid link never acts by itself: main asks the user to confirm the pull (see confirmPull) before it runs.
 * Insecure (plain HTTP) registries cannot be requested through a link.
 */
import { formatRemoteName, tryParseRemoteName } from '../core/oci/reference';

export const URL_SCHEME = 'nestbox';
const MAX_URL_LENGTH = 2048;

export type NestboxLink = { kind: 'pull'; reference: string };
export type LinkParse = { ok: true; link: NestboxLink } | { ok: false; reason: string };

export function parseNestboxUrl(input: unknown): LinkParse {
  if (typeof input !== 'string') return { ok: false, reason: 'not a string' };
  if (input.length > MAX_URL_LENGTH) return { ok: false, reason: `longer than ${MAX_URL_LENGTH} characters` };
  if (!/^[\x21-\x7e]+$/.test(input)) return { ok: false, reason: 'only printable ASCII without spaces is allowed' };
  if (!input.toLowerCase().startsWith(`${URL_SCHEME}://`)) return { ok: false, reason: `not a ${URL_SCHEME}:// link` };
  let u: URL;
  try {
    u = new URL(input);
  } catch {
    return { ok: false, reason: 'not a valid URL' };
  }
  if (u.protocol !== `${URL_SCHEME}:`) return { ok: false, reason: `not a ${URL_SCHEME}:// link` };
  if (u.username || u.password) return { ok: false, reason: 'credentials are not allowed in links' };
  if (u.port) return { ok: false, reason: 'a port is not allowed after the action' };
  if (u.hash) return { ok: false, reason: 'a #fragment is not allowed' };
  const action = u.hostname.toLowerCase();
  if (action !== 'pull') return { ok: false, reason: `unknown action "${action.slice(0, 40)}" (only "pull" exists)` };
  if (u.pathname !== '' && u.pathname !== '/') return { ok: false, reason: 'the action takes no path; use ?ref=' };
  const keys = [...u.searchParams.keys()];
  if (keys.length !== 1 || keys[0] !== 'ref') return { ok: false, reason: 'exactly one parameter, "ref", is expected' };
  const ref = u.searchParams.get('ref') ?? '';
  if (ref.length === 0) return { ok: false, reason: 'the image reference is empty' };
  if (ref.length > 512) return { ok: false, reason: 'the image reference is too long' };
  const parsed = tryParseRemoteName(ref);
  if (!parsed.ok) return { ok: false, reason: `"${ref.slice(0, 200)}" is not an image reference: ${parsed.reason}` };
  return { ok: true, link: { kind: 'pull', reference: formatRemoteName(parsed.name) } };
}

/** Builds a link (the inverse of parseNestboxUrl) — for docs, "copy link", and tests. */
export function pullLink(reference: string): string {
  return `${URL_SCHEME}://pull?ref=${encodeURIComponent(reference)}`;
}

export interface ConfirmDialog {
  title: string;
  message: string;
  detail: string;
  buttons: string[];
  defaultId: number;
  cancelId: number;
}

/** The native confirmation shown before a link's pull starts (button 0 pulls). */
export function confirmPull(link: NestboxLink): ConfirmDialog {
  return {
    title: 'Pull Image',
    message: `Pull ${link.reference}?`,
    detail: 'A link asked Nestbox to download this image. Pull only images from sources you trust.',
    buttons: ['Pull', 'Cancel'],
    defaultId: 0,
    cancelId: 1,
  };
}
