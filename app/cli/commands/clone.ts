import { defineCommand } from '../command';
import { intFlag, stderrTask } from '../library-args';

// Local sources, or a remote one: pulled into the OCI cache if missing, then cloned from the cache entry.
export default defineCommand({
  usage: 'SOURCE NEW_NAME [--insecure] [--concurrency N] [--prune-limit GB]',
  options: {
    insecure: { type: 'boolean' },
    concurrency: { type: 'string' },
    'prune-limit': { type: 'string' },
    deduplicate: { type: 'boolean' },
  },
  positionals: [2, 2],
  async run({ values, positionals, stderr }) {
    const [src, dst] = positionals as [string, string];
    const pruneLimitGB = intFlag(values['prune-limit'], '--prune-limit', '100') ?? 100;
    const { openLibrary } = await import('../../core/library/library');
    // Tart's rule: no tmp/ garbage collection before clone (a resumable pull may be waiting there).
    const lib = await openLibrary({ collectGarbage: false });
    const task = stderrTask(stderr, { cancelOnSignal: true });
    const { parseRemoteName } = await import('../../core/oci/reference');
    const remote = parseRemoteName(src);
    let cloned: Awaited<ReturnType<typeof lib.clone>>;
    process.once('exit', () => task.done()); // never leave a half-drawn progress line behind an error
    if (remote) {
      // Remote source: pull into the OCI cache if missing, then clone the cache entry.
      const { resolveCached } = await import('../../core/oci/cache');
      const { validateVmName } = await import('../../core/library/config');
      validateVmName(dst);
      let dir = (await resolveCached(lib.home, remote))?.dir;
      if (!dir) {
        const { pull } = await import('../../core/oci/pull');
        const { cliTask } = await import('../progress');
        const pullTask = cliTask(stderr);
        try {
          stderr.write(`pulling ${src}...\n`);
          dir = (await pull(lib.home, src, { insecure: Boolean(values.insecure), concurrency: intFlag(values.concurrency, '--concurrency', '4') ?? 4 }, pullTask)).dir;
        } finally {
          pullTask.end();
        }
      }
      cloned = await lib.cloneFromDirectory(dir, dst, task);
    } else {
      cloned = await lib.clone(src, dst, task);
    }
    task.done();
    const { vm, method } = cloned;
    if (stderr.isTTY) stderr.write(`Cloned "${src}" to "${dst}" (${method === 'reflink' ? 'copy-on-write' : 'sparse copy'}).\n`);
    // Tart's auto-prune: make room in the caches for the clone's disk to fill up (capped by --prune-limit).
    const required = Math.min(Math.max(0, vm.disk.apparent - vm.disk.allocated), pruneLimitGB * 1024 ** 3);
    if (required > 0) {
      const { autoPrune } = await import('../../core/oci/cache');
      for (const name of await autoPrune(lib.home, required)) task.log(`Auto-pruned ${name} to make room.`);
    }
  },
});
