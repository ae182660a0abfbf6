import { NestboxError } from '../../core/errors';
import { defineCommand } from '../command';

// Placeholder until the issue that owns `get` lands.
export default defineCommand({
  usage: '',
  options: {},
  async run() {
    throw new NestboxError('UNSUPPORTED', '`nestbox get` is not implemented yet.');
  },
});
