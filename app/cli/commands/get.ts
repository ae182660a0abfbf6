import { defineCommand } from '../command';
import { choiceFlag } from '../library-args';

export default defineCommand({
  usage: 'NAME [--format text|json]',
  options: { format: { type: 'string' } },
  positionals: [1, 1],
  async run({ values, positionals, stdout }) {
    const format = choiceFlag(values.format, '--format', ['text', 'json'] as const, 'text');
    const { openLibrary } = await import('../../core/library/library');
    const { getInfo, renderTable } = await import('../../core/library/tart-output');
    const lib = await openLibrary();
    const vm = await lib.get(positionals[0]!);
    const info = getInfo(vm);
    stdout.write((format === 'json' ? JSON.stringify(info, null, 2) : renderTable([info])) + '\n');
    if (vm.broken) process.stderr.write(`Warning: VM "${vm.name}" is broken: ${vm.broken.reason}\n`);
  },
});
