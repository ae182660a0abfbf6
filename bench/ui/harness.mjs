// Shared by bench/ui/run.mjs and dev screenshots: serves dist/renderer on 127.0.0.1, bundles the fake bridge,
// launches Debian's Chromium through playwright-core.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, '..', '..');
const require = createRequire(import.meta.url);

const MIME = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json', '.png': 'image/png', '.svg': 'image/svg+xml' };

export function serveRenderer(dir = path.join(ROOT, 'dist', 'renderer')) {
  if (!fs.existsSync(path.join(dir, 'index.html'))) throw new Error(`${dir}/index.html is missing: run "node scripts/build.mjs renderer" first`);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const rel = decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname);
    const file = path.join(dir, path.normalize(rel));
    if (!file.startsWith(dir) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': MIME[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${server.address().port}/`, close: () => new Promise((r) => server.close(r)) })));
}

export async function fakeBridgeScript() {
  const esbuild = require('esbuild');
  const r = await esbuild.build({ entryPoints: [path.join(here, 'fake-entry.ts')], bundle: true, format: 'iife', write: false, target: 'es2022', logLevel: 'warning' });
  return r.outputFiles[0].text;
}

export { CHROMIUM_ARGS, launchChromium as launch } from '../../test/helpers/chromium.mjs';
