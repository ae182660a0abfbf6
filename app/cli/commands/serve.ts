import { spawn } from 'node:child_process';
import { NestboxError } from '../../core/errors';
import { openHome } from '../../core/library/home';
import { defineCommand } from '../command';

/** Parses HOST:PORT, [v6]:PORT, HOST or :PORT. */
export function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*))(?::(\d{1,5}))?$/.exec(s.trim());
  const host = m ? (m[1] ?? m[2] ?? '') : '';
  const port = m?.[3] !== undefined ? Number(m[3]) : 7780;
  if (!m || (m[1] === undefined && m[2] === undefined) || port > 65535) {
    throw new NestboxError('INVALID_ARGUMENT', `--listen "${s}" is not HOST:PORT.`, { fix: 'Pass e.g. --listen 127.0.0.1:7780 (port 0 picks a free port).' });
  }
  return { host: host === '' ? '127.0.0.1' : host, port };
}

function openBrowser(url: string): void {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'cmd' : 'xdg-open';
  const args = process.platform === 'win32' ? ['/c', 'start', '', url] : [url];
  try {
    const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
    child.on('error', () => process.stderr.write(`Could not open a browser (${cmd}); open the URL above yourself.\n`));
    child.unref();
  } catch {
    process.stderr.write('Could not open a browser; open the URL above yourself.\n');
  }
}

export default defineCommand({
  usage: '[--listen HOST:PORT] [--port N] [--open] [--allow-remote] [--quiet]',
  options: {
    listen: { type: 'string' },
    port: { type: 'string' },
    open: { type: 'boolean' },
    'allow-remote': { type: 'boolean' },
    quiet: { type: 'boolean' },
  },
  positionals: [0, 0],
  async run({ values, stdout, stderr }) {
    const listen = parseListen(typeof values.listen === 'string' ? values.listen : '127.0.0.1:7780');
    if (typeof values.port === 'string') {
      const n = Number(values.port);
      if (!/^\d{1,5}$/.test(values.port) || n > 65535) throw new NestboxError('INVALID_ARGUMENT', `--port "${values.port}" is not a port number.`, { fix: 'Pass a number from 0 to 65535 (0 picks a free port).' });
      listen.port = n;
    }
    const { startServer, isLoopbackHost } = await import('../../server');
    const allowRemote = values['allow-remote'] === true;
    const quiet = values.quiet === true;
    const home = openHome();
    const server = await startServer({
      home,
      host: listen.host,
      port: listen.port,
      allowRemote,
      log: quiet ? () => {} : (l) => stderr.write(`${new Date().toISOString()} ${l}\n`),
    });
    if (!isLoopbackHost(listen.host)) {
      stderr.write(
        `Warning: listening on ${listen.host} — anyone who can reach this machine and learns the URL controls your VMs.\n` +
          'The connection is plain HTTP: use it only on a network you trust, or through an SSH tunnel.\n',
      );
    }
    // Signal handlers first: a script may stop the server as soon as it has read the URL.
    let resolveStopped!: () => void;
    const stopped = new Promise<void>((r) => (resolveStopped = r));
    let stopping = false;
    const stop = (sig: string) => {
      if (stopping) {
        stderr.write(`${sig} again: exiting now.\n`);
        process.exit(130);
      }
      stopping = true;
      const running = server.service.tasks.running().length;
      stderr.write(`Stopping${running ? ` (cancelling ${running} running task${running === 1 ? '' : 's'}; run them again to resume)` : ''}…\n`);
      void server.close().then(() => {
        process.off('SIGINT', onInt);
        process.off('SIGTERM', onTerm);
        resolveStopped();
      });
    };
    const onInt = () => stop('SIGINT');
    const onTerm = () => stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);

    // Stable, script-friendly line (the URL with the access token).
    stdout.write(`Nestbox is serving at ${server.url}\n`);
    stderr.write(`Home: ${home.root}. Press Ctrl+C to stop (running VMs keep running).\n`);
    if (values.open === true) openBrowser(server.url);
    await stopped;
    return 0;
  },
});
