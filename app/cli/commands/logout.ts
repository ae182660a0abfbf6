import { NestboxError } from '../../core/errors';
import { defineCommand } from '../command';

export default defineCommand({
  usage: 'HOST',
  options: {},
  positionals: [1, 1],
  async run({ positionals, stdout }) {
    const host = positionals[0]!;
    const { openHome } = await import('../../core/library/home');
    const { defaultSecretStore } = await import('../../core/oci/credentials');
    const store = defaultSecretStore(openHome());
    if (!(await store.delete(host))) {
      throw new NestboxError('NOT_FOUND', `Not logged in to ${host} (no credentials in ${store.description}).`, { fix: 'Nothing to do; `nestbox login HOST` stores credentials.' });
    }
    stdout.write(`Logged out of ${host}.\n`);
  },
});
