import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  APP_ENTRY_URL,
  CONTENT_SECURITY_POLICY,
  appResponseHeaders,
  isAppUrl,
  mainWindowOptions,
  navigationDecision,
  permissionDecision,
  requestAllowed,
  resolveAppAsset,
  windowOpenDecision,
} from './window-options';

describe('main window options', () => {
  const opts = mainWindowOptions({ preload: '/app/dist/preload/preload.js', platform: 'linux' });
  const wp = opts.webPreferences!;

  it('isolates and sandboxes the renderer with no Node', () => {
    expect(wp.contextIsolation).toBe(true);
    expect(wp.sandbox).toBe(true);
    expect(wp.nodeIntegration).toBe(false);
    expect(wp.nodeIntegrationInWorker).toBe(false);
    expect(wp.nodeIntegrationInSubFrames).toBe(false);
  });

  it('keeps web security on and the risky features off', () => {
    expect(wp.webSecurity).toBe(true);
    expect(wp.allowRunningInsecureContent).toBe(false);
    expect(wp.webviewTag).toBe(false);
    expect(wp.experimentalFeatures).toBe(false);
    expect(wp.enableWebSQL).toBe(false);
    expect(wp.plugins).toBe(false);
    expect(wp.navigateOnDragDrop).toBe(false);
    expect(wp.enableBlinkFeatures).toBeUndefined();
    expect(wp.additionalArguments).toBeUndefined();
  });

  it('loads the bundled preload and has DevTools only when asked (development)', () => {
    expect(wp.preload).toBe('/app/dist/preload/preload.js');
    expect(wp.devTools).toBe(false);
    expect(mainWindowOptions({ preload: '/p.js', devTools: true }).webPreferences!.devTools).toBe(true);
  });

  it('opens hidden (shown when ready) with the saved bounds and a minimum size', () => {
    const o = mainWindowOptions({ preload: '/p.js', bounds: { x: 10, y: 20, width: 1000, height: 700 } });
    expect(o).toMatchObject({ x: 10, y: 20, width: 1000, height: 700, show: false });
    expect(o.minWidth).toBeGreaterThan(0);
    expect(o.minHeight).toBeGreaterThan(0);
  });
});

describe('content security policy', () => {
  const directives = new Map(CONTENT_SECURITY_POLICY.split(';').map((d) => {
    const [name, ...values] = d.trim().split(/\s+/);
    return [name!, values] as const;
  }));

  it('allows scripts only from the app — no inline, no eval', () => {
    expect(directives.get('default-src')).toEqual(["'none'"]);
    expect(directives.get('script-src')).toEqual(["'self'"]);
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-eval/);
    expect(directives.get('script-src')).not.toContain("'unsafe-inline'");
  });

  it('connects only to the app and the loopback VNC proxy; no frames, plugins or forms', () => {
    expect(directives.get('connect-src')).toEqual(["'self'", 'ws://127.0.0.1:*', 'ws://[::1]:*']);
    for (const d of ['object-src', 'frame-src', 'base-uri', 'form-action', 'frame-ancestors']) expect(directives.get(d)).toEqual(["'none'"]);
  });

  it('is sent with every app:// response', () => {
    expect(appResponseHeaders('text/html')['Content-Security-Policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(appResponseHeaders('text/html')['X-Content-Type-Options']).toBe('nosniff');
  });
});

describe('navigation and window.open', () => {
  it('allows only the app itself', () => {
    expect(isAppUrl(APP_ENTRY_URL)).toBe(true);
    expect(navigationDecision('app://nestbox/index.html#/vm/debian')).toEqual({ action: 'allow' });
    expect(navigationDecision('app://other/index.html').action).toBe('deny');
    expect(navigationDecision('app://user:pw@nestbox/index.html').action).toBe('deny');
    expect(navigationDecision('app://nestbox:8080/index.html').action).toBe('deny');
  });

  it('sends web links to the system browser instead of navigating', () => {
    expect(navigationDecision('https://github.com/cirruslabs/tart')).toEqual({ action: 'external', url: 'https://github.com/cirruslabs/tart' });
    expect(windowOpenDecision('https://example.com/docs')).toEqual({ action: 'external', url: 'https://example.com/docs' });
    // credentials in a link are a phishing pattern: never handed to the OS
    expect(navigationDecision('https://user:pw@example.com/').action).toBe('deny');
    expect(windowOpenDecision('https://user:pw@example.com/')).toEqual({ action: 'deny' });
  });

  it('denies every other scheme, and never opens an app window through window.open', () => {
    for (const u of ['javascript:alert(1)', 'data:text/html,<script>x</script>', 'chrome://settings', 'devtools://devtools/bundled/inspector.html', 'ftp://x/y', 'smb://server/share', 'nestbox://pull?ref=x', 'not a url']) {
      expect(navigationDecision(u).action, u).toBe('deny');
      expect(windowOpenDecision(u), u).toEqual({ action: 'deny' });
    }
    expect(windowOpenDecision('app://nestbox/index.html')).toEqual({ action: 'deny' });
    expect(windowOpenDecision('file:///etc/passwd')).toEqual({ action: 'deny' });
  });

  it('never navigates to a local file; the file is routed to the create flow instead', () => {
    expect(navigationDecision('file:///home/me/Downloads/debian%2012.iso')).toEqual({ action: 'open-file', path: '/home/me/Downloads/debian 12.iso' });
    expect(navigationDecision('file://localhost/tmp/a.ipsw')).toEqual({ action: 'open-file', path: '/tmp/a.ipsw' });
    expect(navigationDecision('file://fileserver/share/a.iso').action).toBe('deny');
  });
});

describe('permissions and requests', () => {
  it('denies every permission except the clipboard and full screen, and those only to the app', () => {
    for (const p of ['media', 'geolocation', 'notifications', 'midi', 'openExternal', 'hid', 'serial', 'usb', 'unknown']) {
      expect(permissionDecision(p, APP_ENTRY_URL), p).toBe(false);
    }
    expect(permissionDecision('clipboard-sanitized-write', APP_ENTRY_URL)).toBe(true);
    expect(permissionDecision('clipboard-sanitized-write', 'https://evil.example/')).toBe(false);
    expect(permissionDecision('clipboard-sanitized-write', undefined)).toBe(false);
    for (const p of ['clipboard-read', 'fullscreen']) {
      expect(permissionDecision(p, APP_ENTRY_URL), p).toBe(true);
      expect(permissionDecision(p, 'https://evil.example/'), p).toBe(false);
    }
  });

  it('loads no remote content: only the app, in-page data and the loopback VNC socket', () => {
    expect(requestAllowed('app://nestbox/assets/index-abc.js')).toBe(true);
    expect(requestAllowed('data:image/png;base64,iVBOR')).toBe(true);
    expect(requestAllowed('ws://127.0.0.1:41234/vnc/debian?token=abc')).toBe(true);
    expect(requestAllowed('ws://[::1]:41234/vnc')).toBe(true);
    for (const u of ['https://cdn.example.com/x.js', 'http://127.0.0.1:8080/', 'ws://192.168.1.5:5900/', 'wss://example.com/', 'file:///etc/passwd', 'app://evil/x.js']) {
      expect(requestAllowed(u), u).toBe(false);
    }
  });
});

describe('app:// protocol', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'nestbox-app-'));
  mkdirSync(path.join(root, 'assets'));
  writeFileSync(path.join(root, 'index.html'), '<!doctype html>');
  writeFileSync(path.join(root, 'assets', 'index-1.js'), '');
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('serves files under the renderer folder with their type', () => {
    expect(resolveAppAsset('app://nestbox/', root)).toEqual({ ok: true, file: path.join(root, 'index.html'), mime: 'text/html; charset=utf-8' });
    expect(resolveAppAsset('app://nestbox/index.html?x=1#y', root)).toMatchObject({ ok: true, file: path.join(root, 'index.html') });
    expect(resolveAppAsset('app://nestbox/assets/index-1.js', root)).toEqual({ ok: true, file: path.join(root, 'assets', 'index-1.js'), mime: 'text/javascript; charset=utf-8' });
  });

  it('never leaves the renderer folder', () => {
    // The URL parser already folds dot segments ("/../x" is "/x"): whatever resolves stays inside the folder.
    for (const u of ['app://nestbox/../../etc/passwd.html', 'app://nestbox/%2e%2e/%2e%2e/etc/passwd.html', 'app://nestbox/assets/./../../x.js']) {
      const r = resolveAppAsset(u, root);
      if (r.ok) expect(r.file.startsWith(root + path.sep), u).toBe(true);
    }
    // Encoded separators and NULs, which the parser leaves alone, are refused outright.
    for (const u of ['app://nestbox/assets/..%2f..%2fsecret.js', 'app://nestbox/a%5c..%5c..%5cx.js', 'app://nestbox/x%00.html']) {
      expect(resolveAppAsset(u, root).ok, u).toBe(false);
    }
    expect(resolveAppAsset('app://other/index.html', root)).toEqual({ ok: false, status: 403 });
    expect(resolveAppAsset('https://nestbox/index.html', root)).toEqual({ ok: false, status: 403 });
    expect(resolveAppAsset('app://nestbox/%E0%A4%A.js', root)).toEqual({ ok: false, status: 400 });
    expect(resolveAppAsset('app://nestbox/secret.key', root)).toEqual({ ok: false, status: 404 });
  });
});
