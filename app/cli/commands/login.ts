import { NestboxError } from '../../core/errors';
import { defineCommand } from '../command';

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of process.stdin) parts.push(c as Buffer);
  return Buffer.concat(parts).toString('utf8').replace(/\r?\n$/, '');
}

/** Asks on the terminal; `hidden` mutes the echo (passwords). */
async function prompt(question: string, hidden: boolean): Promise<string> {
  const readline = await import('node:readline');
  const out = process.stderr as NodeJS.WriteStream;
  const rl = readline.createInterface({ input: process.stdin, output: out, terminal: true });
  const origWrite = (rl as unknown as { _writeToOutput?: (s: string) => void })._writeToOutput;
  if (hidden) (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
    if (s.startsWith(question)) out.write(question);
  };
  try {
    return await new Promise<string>((resolve) => rl.question(question, resolve));
  } finally {
    if (hidden) out.write('\n');
    void origWrite;
    rl.close();
  }
}

export default defineCommand({
  usage: 'HOST [--username USER --password-stdin] [--insecure] [--no-validate]',
  options: {
    username: { type: 'string' },
    'password-stdin': { type: 'boolean' },
    insecure: { type: 'boolean' },
    'no-validate': { type: 'boolean' },
  },
  positionals: [1, 1],
  async run({ positionals, values, stdout }) {
    const host = positionals[0]!;
    if (!/^[A-Za-z0-9.-]+(:\d+)?$/.test(host)) {
      throw new NestboxError('INVALID_ARGUMENT', `"${host}" is not a registry host.`, { fix: 'Pass just the host (and port), e.g. `nestbox login ghcr.io`.' });
    }
    let username: string;
    let password: string;
    if ((values.username === undefined) !== (values['password-stdin'] === undefined)) {
      throw new NestboxError('INVALID_ARGUMENT', '--username and --password-stdin go together.', { fix: 'Pass both (password on stdin), or neither to be asked.' });
    }
    if (values.username !== undefined) {
      username = String(values.username);
      password = await readStdin();
    } else {
      if (!process.stdin.isTTY) throw new NestboxError('INVALID_ARGUMENT', 'No terminal to ask for the user name and password.', { fix: 'Pass --username USER --password-stdin.' });
      username = await prompt('User: ', false);
      password = await prompt('Password: ', true);
    }
    if (!username) throw new NestboxError('INVALID_ARGUMENT', 'The user name is empty.', { fix: 'Pass a user name.' });
    const { openHome } = await import('../../core/library/home');
    const { CredentialStore, defaultSecretStore, staticProvider } = await import('../../core/oci/credentials');
    const { Registry } = await import('../../core/oci/registry');
    const home = openHome();
    if (!values['no-validate']) {
      // Tart: validate with GET /v2/ using only these credentials.
      const reg = new Registry(host, '', { insecure: Boolean(values.insecure), credentials: new CredentialStore([staticProvider({ username, password }, 'the login credentials')]) });
      await reg.ping();
    }
    const store = defaultSecretStore(home);
    await store.set(host, { username, password });
    stdout.write(`Logged in to ${host} (credentials saved in ${store.description}).\n`);
  },
});
