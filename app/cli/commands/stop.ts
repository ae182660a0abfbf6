import { NestboxError } from '../../core/errors';
import { defineCommand } from '../command';

/** `nestbox stop NAME [-t S]` — ACPI shutdown, forced after the timeout (default 30 s, like Tart). */
export default defineCommand({
  usage: 'NAME [--timeout S]',
  options: { timeout: { type: 'string', short: 't' } },
  positionals: [1, 1],
  async run({ values, positionals }) {
    const name = positionals[0]!;
    let timeoutMs = 30_000;
    if (values.timeout !== undefined) {
      const s = Number(values.timeout);
      if (!Number.isFinite(s) || s < 0) {
        throw new NestboxError('INVALID_ARGUMENT', `--timeout "${String(values.timeout)}" is not a number of seconds.`, { fix: 'Use e.g. --timeout 30 (0 forces the VM off at once).' });
      }
      timeoutMs = s * 1000;
    }
    const { openHome } = await import('../../core/library/home');
    const { Machines } = await import('../../core/hypervisor/machines');
    await new Machines(openHome()).stop(name, { timeoutMs, force: timeoutMs === 0 });
  },
});
