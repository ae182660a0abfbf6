import { defineCommand } from '../command';
import { intFlag } from '../library-args';
import { cliTask } from '../progress';

export default defineCommand({
  usage: 'REMOTE_NAME [--insecure] [--concurrency N]\n  e.g. nestbox pull ghcr.io/cirruslabs/macos-sequoia-base:latest',
  options: {
    insecure: { type: 'boolean' },
    concurrency: { type: 'string' },
    deduplicate: { type: 'boolean' }, // Tart's hidden flag; layers are always reused from the cache
  },
  positionals: [1, 1],
  async run({ positionals, values, stdout, stderr }) {
    const name = positionals[0]!;
    const { parseRemoteNameOrThrow } = await import('../../core/oci/reference');
    if (!name.includes('/')) {
      stdout.write(`"${name}" is a local VM name, not a remote image: nothing to pull.\n`);
      return 0;
    }
    const { openHome } = await import('../../core/library/home');
    const { pull } = await import('../../core/oci/pull');
    const concurrency = intFlag(values.concurrency, '--concurrency', '4') ?? 4;
    parseRemoteNameOrThrow(name);
    const home = openHome();
    const task = cliTask(stderr);
    try {
      stderr.write(`pulling ${name}...\n`);
      const r = await pull(home, name, { insecure: Boolean(values.insecure), concurrency }, task);
      task.end();
      stdout.write(`pulled ${r.name} (${r.digest})\n`);
    } finally {
      task.end();
    }
  },
});
