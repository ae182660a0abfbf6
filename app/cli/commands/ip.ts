import { NestboxError } from '../../core/errors';
import { defineCommand } from '../command';

/** `nestbox ip NAME [--wait S]` — the guest's IPv4 address (learned from its DHCP lease / traffic). */
export default defineCommand({
  usage: 'NAME [--wait S] [--resolver dhcp|arp|agent]',
  options: { wait: { type: 'string' }, resolver: { type: 'string' } },
  positionals: [1, 1],
  async run({ values, positionals, stdout }) {
    const name = positionals[0]!;
    const wait = values.wait === undefined ? 0 : Number(values.wait);
    if (!Number.isFinite(wait) || wait < 0) {
      throw new NestboxError('INVALID_ARGUMENT', `--wait "${String(values.wait)}" is not a number of seconds.`, { fix: 'Use e.g. --wait 60.' });
    }
    if (values.resolver !== undefined && !['dhcp', 'arp', 'agent'].includes(String(values.resolver))) {
      throw new NestboxError('INVALID_ARGUMENT', `--resolver must be dhcp, arp or agent (got "${String(values.resolver)}").`);
    }
    const { openHome } = await import('../../core/library/home');
    const { Machines } = await import('../../core/hypervisor/machines');
    const ip = await new Machines(openHome()).ip(name, wait * 1000);
    if (!ip) {
      throw new NestboxError('NOT_FOUND', `No IP address is known for VM "${name}" yet.`, {
        fix: 'The guest may still be booting or not use DHCP; try `nestbox ip ' + name + ' --wait 60`.',
        exitCode: 1,
      });
    }
    stdout.write(ip + '\n');
  },
});
