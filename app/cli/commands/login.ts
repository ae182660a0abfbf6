import { NestboxError } from '../../core/errors';
import { defineCommand } from '../command';

// Placeholder until the issue that owns `login` lands.
export default defineCommand({
  usage: '',
  options: {},
  async run() {
    throw new NestboxError('UNSUPPORTED', '`nestbox login` is not implemented yet.');
  },
});
