import { NestboxError } from '../../core/errors';
import { defineCommand } from '../command';

// Placeholder until the issue that owns `pull` lands.
export default defineCommand({
  usage: '',
  options: {},
  async run() {
    throw new NestboxError('UNSUPPORTED', '`nestbox pull` is not implemented yet.');
  },
});
