import { spawn } from 'node:child_process';
import path from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from './helpers';

// `nestbox run vm | head`: when the reader goes away, the CLI must not die of an unhandled EPIPE.
it('keeps running (and exits cleanly) when its output pipe is closed by the reader', async () => {
  const script = `
    require(${JSON.stringify(path.join(ROOT, 'dist', 'cli', 'main.js'))}).main(['--help']);
    let n = 0;
    const t = setInterval(() => {
      process.stdout.write('x'.repeat(65536) + '\\n');
      if (++n === 100) { clearInterval(t); process.stderr.write('finished\\n'); }
    }, 2);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.once('data', () => child.stdout.destroy()); // like `head -c 1`
  const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  expect(stderr).not.toMatch(/EPIPE|Unhandled/);
  expect(stderr).toContain('finished');
  expect(code).toBe(0);
});
