import { NestboxError } from '../../core/errors';
import { defineCommand } from '../command';

// Placeholder until the issue that owns `delete` lands.
export default defineCommand({
  usage: '',
  options: {},
  async run() {
    throw new NestboxError('UNSUPPORTED', '`nestbox delete` is not implemented yet.');
  },
});
