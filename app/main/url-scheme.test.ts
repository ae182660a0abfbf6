import { describe, expect, it } from 'vitest';
import { confirmPull, parseNestboxUrl, pullLink } from './url-scheme';

const DIGEST = 'sha256:' + 'a'.repeat(64);

describe('nestbox:// links', () => {
  it('accepts pull links with a valid reference, normalised', () => {
    expect(parseNestboxUrl('nestbox://pull?ref=ghcr.io/cirruslabs/macos-sequoia-base:latest')).toEqual({ ok: true, link: { kind: 'pull', reference: 'ghcr.io/cirruslabs/macos-sequoia-base:latest' } });
    expect(parseNestboxUrl('nestbox://pull?ref=ghcr.io%2Fcirruslabs%2Fdebian')).toEqual({ ok: true, link: { kind: 'pull', reference: 'ghcr.io/cirruslabs/debian:latest' } });
    expect(parseNestboxUrl('nestbox://pull/?ref=127.0.0.1:5000/vm/debian:12')).toEqual({ ok: true, link: { kind: 'pull', reference: '127.0.0.1:5000/vm/debian:12' } });
    expect(parseNestboxUrl(`nestbox://pull?ref=ghcr.io/a/b@${DIGEST}`)).toEqual({ ok: true, link: { kind: 'pull', reference: `ghcr.io/a/b@${DIGEST}` } });
    expect(parseNestboxUrl('NESTBOX://PULL?ref=ghcr.io/a/b:1')).toMatchObject({ ok: true });
  });

  it('round-trips links it builds', () => {
    for (const ref of ['ghcr.io/cirruslabs/debian:latest', `localhost:5000/a/b/c@${DIGEST}`]) {
      expect(parseNestboxUrl(pullLink(ref))).toEqual({ ok: true, link: { kind: 'pull', reference: ref } });
    }
  });

  it('rejects everything else with a reason', () => {
    const bad: [string, RegExp][] = [
      ['https://pull?ref=ghcr.io/a/b', /not a nestbox/],
      ['nestbox:pull?ref=ghcr.io/a/b', /not a nestbox/],
      ['nestbox://push?ref=ghcr.io/a/b', /unknown action "push"/],
      ['nestbox://delete?name=debian', /unknown action/],
      ['nestbox://pull', /exactly one parameter/],
      ['nestbox://pull?ref=', /empty/],
      ['nestbox://pull?ref=ghcr.io/a/b&insecure=1', /exactly one parameter/],
      ['nestbox://pull?ref=ghcr.io/a/b&ref=evil.io/x/y', /exactly one parameter/],
      ['nestbox://pull?reference=ghcr.io/a/b', /exactly one parameter/],
      ['nestbox://pull/ghcr.io/a/b', /no path/],
      ['nestbox://pull?ref=ghcr.io/a/b#frag', /fragment/],
      ['nestbox://user:pw@pull?ref=ghcr.io/a/b', /credentials/],
      ['nestbox://pull:99?ref=ghcr.io/a/b', /port/],
      ['nestbox://pull?ref=debian', /not an image reference.*host/],
      ['nestbox://pull?ref=ghcr.io/../etc/passwd', /not an image reference/],
      ['nestbox://pull?ref=ghcr.io/a/b@sha512:abc', /not an image reference/],
      ['nestbox://pull?ref=ghcr.io/a/b:bad%20tag', /not an image reference/],
      ['nestbox://pull?ref=ghcr.io/a/b:%0Aevil', /not an image reference/],
      ['nestbox://pull?ref=ghcr.io/a/b c', /printable ASCII/],
      ['nestbox://pull?ref=ghcr.io/ä/b', /printable ASCII/],
      ['nestbox://pull?ref=' + 'a'.repeat(3000), /longer than/],
    ];
    for (const [url, reason] of bad) {
      const r = parseNestboxUrl(url);
      expect(r.ok, url).toBe(false);
      if (!r.ok) expect(r.reason, url).toMatch(reason);
    }
    expect(parseNestboxUrl(42)).toEqual({ ok: false, reason: 'not a string' });
  });

  it('asks before pulling, naming the image', () => {
    const d = confirmPull({ kind: 'pull', reference: 'ghcr.io/a/b:1' });
    expect(d.message).toContain('ghcr.io/a/b:1');
    expect(d.buttons[d.defaultId]).toBe('Pull');
    expect(d.buttons[d.cancelId]).toBe('Cancel');
  });
});
