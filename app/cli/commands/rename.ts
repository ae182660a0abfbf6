import { defineCommand } from '../command';

export default defineCommand({
  usage: 'NAME NEW_NAME',
  options: {},
  positionals: [2, 2],
  async run({ positionals }) {
    const { openLibrary } = await import('../../core/library/library');
    const lib = await openLibrary();
    await lib.rename(positionals[0]!, positionals[1]!);
  },
});
