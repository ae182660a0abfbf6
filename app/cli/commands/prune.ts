import { NestboxError } from '../../core/errors';
import { defineCommand } from '../command';
import { choiceFlag, numberFlag } from '../library-args';

export default defineCommand({
  usage: '[--entries caches|vms] (--older-than DAYS | --space-budget GB)',
  options: {
    entries: { type: 'string' },
    'older-than': { type: 'string' },
    'space-budget': { type: 'string' },
    'cache-budget': { type: 'string' }, // Tart's deprecated alias of --space-budget
    gc: { type: 'boolean' },
  },
  positionals: [0, 0],
  async run({ values, stderr }) {
    const entries = choiceFlag(values.entries, '--entries', ['caches', 'vms'] as const, 'caches');
    const olderThanDays = numberFlag(values['older-than'], '--older-than', '7');
    const spaceBudgetGB = numberFlag(values['space-budget'] ?? values['cache-budget'], '--space-budget', '100');
    if (olderThanDays === undefined && spaceBudgetGB === undefined && !values.gc) {
      throw new NestboxError('INVALID_ARGUMENT', 'Say what to prune: at least one pruning criterion must be specified.', {
        fix: 'Pass --older-than DAYS and/or --space-budget GB, e.g. `nestbox prune --entries vms --older-than 30`.',
      });
    }
    const { openLibrary } = await import('../../core/library/library');
    const lib = await openLibrary();
    let removed: string[] = [];
    if (entries === 'vms') {
      if (olderThanDays !== undefined || spaceBudgetGB !== undefined) {
        removed = await lib.prune({ ...(olderThanDays !== undefined ? { olderThanDays } : {}), ...(spaceBudgetGB !== undefined ? { spaceBudgetGB } : {}) });
      }
    } else {
      const { pruneCaches, gcCache } = await import('../../core/oci/cache');
      if (olderThanDays !== undefined || spaceBudgetGB !== undefined) {
        removed = await pruneCaches(lib.home, {
          ...(olderThanDays !== undefined ? { olderThanDays } : {}),
          ...(spaceBudgetGB !== undefined ? { spaceBudgetBytes: spaceBudgetGB * 1024 ** 3 } : {}),
        });
      } else {
        await gcCache(lib.home);
      }
    }
    if (stderr.isTTY) for (const r of removed) stderr.write(`Removed ${r}\n`);
  },
});
