/**
 * The security posture of every Nestbox window, as data and pure decisions (tested without Electron):
 *  - the renderer is served from a fixed origin, app://nestbox, by a custom protocol (so the CSP, the
 *    navigation checks and the IPC sender checks all compare against one origin);
 *  - sandboxed, context-isolated, no Node, no webview, no remote content;
 *  - navigation and window.open are denied except within the app; http(s) links open in the system browser;
 *  - every permission request is denied except the clipboard and full screen, and those only to the app itself;
 *  - network requests leave the app only for the loopback VNC proxy.
 * main.ts wires these into BrowserWindow, webContents and session handlers and adds nothing of its own.
 */
import path from 'node:path';
import type { BrowserWindowConstructorOptions } from 'electron';

export const APP_SCHEME = 'app';
export const APP_HOST = 'nestbox';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`;

/**
 * Content-Security-Policy sent with every app:// response.
 * - scripts only from the app (no inline, no eval);
 * - styles from the app plus inline: Radix's dialogs inject <style> elements (react-remove-scroll) — style
 *   injection cannot run code;
 * - images from the app, data: and blob: (VM thumbnails and screenshots arrive as base64 PNGs);
 * - connections only to the app and to the loopback VNC proxy (ws://127.0.0.1 on a per-launch port);
 * - nothing can frame the app, no plugins, no <base>, no form posts.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self' ws://127.0.0.1:* ws://[::1]:*",
  "worker-src 'self' blob:",
  "media-src 'none'",
  "object-src 'none'",
  "frame-src 'none'",
  "child-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export interface WindowBounds {
  x?: number;
  y?: number;
  width: number;
  height: number;
}

export const DEFAULT_WINDOW_SIZE = { width: 1200, height: 780 };
export const MIN_WINDOW_SIZE = { width: 720, height: 480 };

export interface MainWindowOptionsInput {
  /** Absolute path of the bundled preload (dist/preload/preload.js). */
  preload: string;
  bounds?: WindowBounds;
  platform?: NodeJS.Platform;
  /** DevTools only in development builds (app.isPackaged === false). */
  devTools?: boolean;
  /** Window icon on Linux (macOS takes the bundle's icon). */
  icon?: string;
}

/** BrowserWindow options for the main window. Every security-relevant preference is set explicitly. */
export function mainWindowOptions(input: MainWindowOptionsInput): BrowserWindowConstructorOptions {
  const platform = input.platform ?? process.platform;
  const bounds = input.bounds ?? DEFAULT_WINDOW_SIZE;
  return {
    ...bounds,
    minWidth: MIN_WINDOW_SIZE.width,
    minHeight: MIN_WINDOW_SIZE.height,
    title: 'Nestbox',
    show: false, // shown on 'ready-to-show' — no white flash
    backgroundColor: '#1e1e22',
    ...(platform === 'darwin' ? { titleBarStyle: 'hiddenInset' as const } : {}),
    ...(input.icon && platform === 'linux' ? { icon: input.icon } : {}),
    webPreferences: {
      preload: input.preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      enableWebSQL: false,
      plugins: false,
      spellcheck: false,
      safeDialogs: true,
      // Drops never navigate: the page handles dropped files itself (window.nestboxFiles.pathForFile), and a
      // dropped link must not become a navigation. (Any file:// navigation is still vetoed — navigationDecision.)
      navigateOnDragDrop: false,
      devTools: input.devTools ?? false,
    },
  };
}

// ---------------- navigation, window.open, permissions, requests ----------------

/** True for URLs inside the app (same scheme and host; any path). */
export function isAppUrl(url: string): boolean {
  const u = safeUrl(url);
  return !!u && u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST && !u.username && !u.password && !u.port;
}

export type NavigationDecision =
  | { action: 'allow' }
  /** Vetoed in the window; the URL is handed to the system browser. */
  | { action: 'external'; url: string }
  /** Vetoed; a local file was dropped on the window: route it to a create flow. */
  | { action: 'open-file'; path: string }
  | { action: 'deny'; reason: string };

/** What to do when the window is about to navigate (will-navigate / will-frame-navigate / will-redirect). */
export function navigationDecision(url: string): NavigationDecision {
  if (isAppUrl(url)) return { action: 'allow' };
  const u = safeUrl(url);
  if (!u) return { action: 'deny', reason: 'not a URL' };
  if (u.protocol === 'file:') {
    if (u.host && u.host !== 'localhost') return { action: 'deny', reason: 'remote file URL' };
    const p = fileUrlPath(u);
    return p ? { action: 'open-file', path: p } : { action: 'deny', reason: 'not a local file' };
  }
  if (isExternalLink(u)) return { action: 'external', url: u.href };
  return { action: 'deny', reason: `navigation to ${u.protocol} URLs is not allowed` };
}

/** window.open / target=_blank: never a new Electron window; http(s) links go to the system browser. */
export function windowOpenDecision(url: string): { action: 'deny' } | { action: 'external'; url: string } {
  const u = safeUrl(url);
  if (u && isExternalLink(u)) return { action: 'external', url: u.href };
  return { action: 'deny' };
}

/** Links handed to the OS: only plain http(s) URLs without credentials. */
function isExternalLink(u: URL): boolean {
  return (u.protocol === 'https:' || u.protocol === 'http:') && !u.username && !u.password && u.hostname.length > 0;
}

/**
 * Permissions the app may be granted, and only from the app itself: the clipboard ("copy details", and syncing it with
 * a VM whose clipboard is shared — reading happens only when the user returns to that VM's screen) and full screen
 * (the VM screen's "Full screen").
 */
const ALLOWED_PERMISSIONS: ReadonlySet<string> = new Set(['clipboard-sanitized-write', 'clipboard-read', 'fullscreen']);

export function permissionDecision(permission: string, requestingUrl: string | undefined): boolean {
  return ALLOWED_PERMISSIONS.has(permission) && !!requestingUrl && isAppUrl(requestingUrl);
}

/**
 * The network filter (session.webRequest.onBeforeRequest): the app's own files, in-page data, DevTools, and
 * WebSockets to the loopback VNC proxy. Everything else — any http(s), any remote host — is cancelled:
 * Nestbox shows no remote content (registries are reached by the main process, not the page).
 */
export function requestAllowed(url: string): boolean {
  const u = safeUrl(url);
  if (!u) return false;
  if (isAppUrl(url)) return true;
  if (u.protocol === 'data:' || u.protocol === 'blob:') return true;
  if (u.protocol === 'devtools:') return true;
  if (u.protocol === 'ws:' && (u.hostname === '127.0.0.1' || u.hostname === '[::1]') && !u.username && !u.password) return true;
  return false;
}

// ---------------- the app:// protocol ----------------

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
};

export type AssetResolution = { ok: true; file: string; mime: string } | { ok: false; status: 400 | 403 | 404 };

/**
 * Maps an app:// request to a file under `root` (dist/renderer). Only the app's host; no escaping `root`
 * (`..`, encoded separators, NUL); "/" is index.html; unknown extensions are refused rather than guessed.
 */
export function resolveAppAsset(url: string, root: string): AssetResolution {
  const u = safeUrl(url);
  if (!u || !isAppUrl(url)) return { ok: false, status: 403 };
  let rel: string;
  try {
    rel = decodeURIComponent(u.pathname);
  } catch {
    return { ok: false, status: 400 };
  }
  if (rel.includes('\0') || rel.includes('\\')) return { ok: false, status: 400 };
  if (rel === '/' || rel === '') rel = '/index.html';
  const segments = rel.split('/').filter((s) => s.length > 0);
  if (segments.some((s) => s === '..' || s === '.')) return { ok: false, status: 403 };
  const base = path.resolve(root);
  const file = path.resolve(base, ...segments);
  if (file !== base && !file.startsWith(base + path.sep)) return { ok: false, status: 403 };
  const mime = MIME[path.extname(file).toLowerCase()];
  if (!mime) return { ok: false, status: 404 };
  return { ok: true, file, mime };
}

/** Headers of every app:// response. */
export function appResponseHeaders(mime: string): Record<string, string> {
  return {
    'Content-Type': mime,
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-cache',
  };
}

// ---------------- helpers ----------------

function safeUrl(s: string): URL | null {
  if (typeof s !== 'string' || s.length > 32_768) return null;
  try {
    return new URL(s);
  } catch {
    return null;
  }
}

/** The local path of a file: URL (POSIX; Windows drive paths are not a target of this app). */
function fileUrlPath(u: URL): string | null {
  try {
    const p = decodeURIComponent(u.pathname);
    if (!p.startsWith('/') || p.includes('\0')) return null;
    return path.posix.normalize(p);
  } catch {
    return null;
  }
}
