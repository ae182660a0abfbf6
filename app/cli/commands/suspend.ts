import { defineCommand } from '../command';

/** `nestbox suspend NAME` — saves the VM's state into its folder and ends it; `nestbox run NAME` resumes. */
export default defineCommand({
  usage: 'NAME',
  options: {},
  positionals: [1, 1],
  async run({ positionals }) {
    const { openHome } = await import('../../core/library/home');
    const { Machines } = await import('../../core/hypervisor/machines');
    await new Machines(openHome()).suspend(positionals[0]!);
  },
});
