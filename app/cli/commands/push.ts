import { NestboxError } from '../../core/errors';
import { defineCommand } from '../command';
import { choiceFlag, intFlag } from '../library-args';
import { cliTask } from '../progress';

export default defineCommand({
  usage:
    'LOCAL_NAME REMOTE_NAME... [--insecure] [--concurrency N] [--chunk-size MB] [--label key=value]... [--populate-cache] [--compression lz4|zstd]\n' +
    '  --compression zstd writes Nestbox-only disk layers (smaller; Tart cannot pull them). Default lz4 = Tart disk.v2.',
  options: {
    insecure: { type: 'boolean' },
    concurrency: { type: 'string' },
    'chunk-size': { type: 'string' },
    label: { type: 'string', multiple: true },
    'populate-cache': { type: 'boolean' },
    compression: { type: 'string' },
  },
  positionals: [2, Infinity],
  async run({ positionals, values, stdout, stderr }) {
    const [source, ...targets] = positionals as [string, ...string[]];
    const labels: Record<string, string> = {};
    for (const l of (values.label as string[] | undefined) ?? []) {
      const eq = l.indexOf('=');
      if (eq <= 0) throw new NestboxError('INVALID_ARGUMENT', `--label "${l}" is not key=value.`, { fix: 'Pass e.g. --label org.opencontainers.image.source=https://github.com/org/repo.' });
      labels[l.slice(0, eq)] = l.slice(eq + 1);
    }
    const { openHome } = await import('../../core/library/home');
    const { push } = await import('../../core/oci/push');
    const home = openHome();
    const task = cliTask(stderr);
    try {
      const r = await push(
        home,
        source,
        targets,
        {
          insecure: Boolean(values.insecure),
          concurrency: intFlag(values.concurrency, '--concurrency', '4') ?? 4,
          chunkSizeMB: intFlag(values['chunk-size'], '--chunk-size', '10') ?? 0,
          labels,
          populateCache: Boolean(values['populate-cache']),
          compression: choiceFlag(values.compression, '--compression', ['lz4', 'zstd'] as const, 'lz4'),
        },
        task,
      );
      task.end();
      stdout.write(`pushed ${targets.join(', ')} (${r.digest})\n`);
    } finally {
      task.end();
    }
  },
});
