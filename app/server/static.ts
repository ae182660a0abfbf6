/**
 * Serves the built renderer (dist/renderer): files only — no directory listings, no paths outside the root, no
 * dotfiles. Unknown extension-less paths get index.html (client-side routes).
 */
import { createReadStream, promises as fsp } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Nestbox</title></head>
<body><h1>Nestbox</h1><p>The user interface is not built. Run <code>npm run build</code> (or <code>node scripts/build.mjs renderer</code>) and reload this page.</p>
<p>The API is available: <code>GET /api/health</code> and the WebSocket at <code>/api/ws</code>.</p></body></html>`;

export async function serveStatic(root: string, pathname: string, req: IncomingMessage, res: ServerResponse, headers: Record<string, string>): Promise<number> {
  let rel: string;
  try {
    rel = decodeURIComponent(pathname);
  } catch {
    return send(res, 400, headers, 'Bad request.');
  }
  if (rel.includes('\0') || rel.split('/').some((seg) => seg === '..' || (seg.startsWith('.') && seg.length > 0))) {
    return send(res, 404, headers, 'Not found.');
  }
  const file = path.join(root, path.normalize(rel));
  if (file !== root && !file.startsWith(root + path.sep)) return send(res, 404, headers, 'Not found.');

  let target = file;
  let st = await fsp.stat(target).catch(() => null);
  if (!st && rel === '/favicon.ico') {
    // Browsers ask for it unprompted; the app declares its icons in index.html.
    res.writeHead(204, { ...headers, 'Cache-Control': 'public, max-age=86400' });
    res.end();
    return 204;
  }
  if (!st || st.isDirectory()) {
    // Directories never list; extension-less paths are the app's routes.
    if (st?.isDirectory() || path.extname(rel) === '') {
      target = path.join(root, 'index.html');
      st = await fsp.stat(target).catch(() => null);
      if (!st) {
        if (!(await fsp.stat(root).catch(() => null))) return send(res, 200, { ...headers, 'Content-Type': 'text/html; charset=utf-8' }, NOT_BUILT, req.method === 'HEAD');
        return send(res, 404, headers, 'Not found.');
      }
    } else {
      return send(res, 404, headers, 'Not found.');
    }
  }
  if (!st.isFile()) return send(res, 404, headers, 'Not found.');
  const ext = path.extname(target).toLowerCase();
  const isHtml = ext === '.html';
  res.writeHead(200, {
    ...headers,
    'Content-Type': TYPES[ext] ?? 'application/octet-stream',
    'Content-Length': String(st.size),
    // Vite's assets are content-hashed; the HTML must be revalidated to pick up a new build.
    'Cache-Control': isHtml ? 'no-cache' : rel.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
  });
  if (req.method === 'HEAD') {
    res.end();
    return 200;
  }
  await new Promise<void>((resolve) => {
    const s = createReadStream(target);
    s.on('error', () => {
      res.destroy();
      resolve();
    });
    res.on('close', () => {
      s.destroy();
      resolve();
    });
    s.pipe(res);
  });
  return 200;
}

export function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string, headOnly = false): number {
  const buf = Buffer.from(body);
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers, 'Content-Length': String(buf.length) });
  res.end(headOnly ? undefined : buf);
  return status;
}
