import { NestboxError } from '../../core/errors';
import { defineCommand } from '../command';

// Placeholder until the issue that owns `logout` lands.
export default defineCommand({
  usage: '',
  options: {},
  async run() {
    throw new NestboxError('UNSUPPORTED', '`nestbox logout` is not implemented yet.');
  },
});
