import { defineCommand } from '../command';
import { choiceFlag } from '../library-args';

export default defineCommand({
  usage: '[--source local|oci] [--format text|json] [-q|--quiet]',
  options: {
    source: { type: 'string' },
    format: { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
  },
  positionals: [0, 0],
  async run({ values, stdout, stderr }) {
    const source = values.source === undefined ? undefined : choiceFlag(values.source, '--source', ['local', 'oci'] as const, 'local');
    const format = choiceFlag(values.format, '--format', ['text', 'json'] as const, 'text');
    const { openLibrary } = await import('../../core/library/library');
    const { listEntry, relativeTime, renderTable } = await import('../../core/library/tart-output');
    const lib = await openLibrary();
    const rows = [];
    if (source === undefined || source === 'local') {
      const vms = await lib.list();
      rows.push(...vms.map((vm) => listEntry(vm, 'local')));
      // stdout stays Tart's table/JSON; the reasons go to stderr.
      for (const vm of vms) if (vm.broken) stderr.write(`Warning: VM "${vm.name}" is broken: ${vm.broken.reason}\n`);
    }
    if (source === undefined || source === 'oci') {
      const { listCachedImages } = await import('../../core/oci/cache');
      rows.push(...(await listCachedImages(lib.home)).map((img) => listEntry({ ...img, state: 'stopped' }, 'OCI')));
    }
    if (values.quiet) {
      for (const r of rows) stdout.write(`${r.Name}\n`);
      return;
    }
    if (format === 'json') {
      stdout.write(JSON.stringify(rows, null, 2) + '\n');
      return;
    }
    const now = new Date();
    stdout.write(renderTable(rows.map((r) => ({ ...r, Accessed: relativeTime(new Date(r.Accessed), now) }))) + '\n');
  },
});
