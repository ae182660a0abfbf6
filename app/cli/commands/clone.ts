import { defineCommand } from '../command';
import { stderrTask } from '../library-args';

// Local sources only for now; remote sources (pull, then clone from the OCI cache) branch here.
export default defineCommand({
  usage: 'SOURCE NEW_NAME [--insecure] [--concurrency N] [--prune-limit GB]',
  options: {
    insecure: { type: 'boolean' },
    concurrency: { type: 'string' },
    'prune-limit': { type: 'string' },
    deduplicate: { type: 'boolean' },
  },
  positionals: [2, 2],
  async run({ positionals, stderr }) {
    const [src, dst] = positionals as [string, string];
    const { openLibrary } = await import('../../core/library/library');
    // Tart's rule: no tmp/ garbage collection before clone (a resumable pull may be waiting there).
    const lib = await openLibrary({ collectGarbage: false });
    const { method } = await lib.clone(src, dst, stderrTask(stderr));
    if (stderr.isTTY) stderr.write(`Cloned "${src}" to "${dst}" (${method === 'reflink' ? 'copy-on-write' : 'sparse copy'}).\n`);
  },
});
