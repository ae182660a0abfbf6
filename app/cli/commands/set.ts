import { NestboxError } from '../../core/errors';
import { defineCommand } from '../command';
import { intFlag } from '../library-args';

export default defineCommand({
  usage: 'NAME [--cpu N] [--memory MB] [--display WxH[pt|px]] [--disk-size GB] [--random-mac]',
  options: {
    cpu: { type: 'string' },
    memory: { type: 'string' },
    display: { type: 'string' },
    'disk-size': { type: 'string' },
    'random-mac': { type: 'boolean' },
  },
  positionals: [1, 1],
  async run({ values, positionals, stderr }) {
    const name = positionals[0]!;
    const cpu = intFlag(values.cpu, '--cpu', '2');
    const memoryMB = intFlag(values.memory, '--memory', '4096');
    const diskSizeGB = intFlag(values['disk-size'], '--disk-size', '50');
    const display = values.display as string | undefined;
    const randomMac = values['random-mac'] === true;
    if (cpu === undefined && memoryMB === undefined && diskSizeGB === undefined && display === undefined && !randomMac) {
      throw new NestboxError('INVALID_ARGUMENT', 'Nothing to change.', { fix: `Pass at least one option, e.g. \`nestbox set ${name} --cpu 2\`.` });
    }
    const { openLibrary } = await import('../../core/library/library');
    const lib = await openLibrary();
    const { warnings } = await lib.set(name, {
      ...(cpu !== undefined ? { cpu } : {}),
      ...(memoryMB !== undefined ? { memoryMB } : {}),
      ...(diskSizeGB !== undefined ? { diskSizeGB } : {}),
      ...(display !== undefined ? { display } : {}),
      ...(randomMac ? { randomMac } : {}),
    });
    for (const w of warnings) stderr.write(`Warning: ${w}.\n`);
  },
});
