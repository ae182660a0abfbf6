import { defineCommand } from '../command';
import { choiceFlag } from '../library-args';

export default defineCommand({
  usage: 'NAME [--format text|json]',
  options: { format: { type: 'string' } },
  positionals: [1, 1],
  async run({ values, positionals, stdout }) {
    const format = choiceFlag(values.format, '--format', ['text', 'json'] as const, 'text');
    const { openLibrary } = await import('../../core/library/library');
    const { getInfo, renderTable } = await import('../../core/library/tart-output');
    const lib = await openLibrary();
    const vm = await lib.get(positionals[0]!);
    const info: object = getInfo(vm);
    // Nestbox extra (running VMs only, appended after Tart's fields): where to reach the guest.
    let extra: Record<string, string> = {};
    if (vm.state === 'running' && vm.config) {
      try {
        const { Machines } = await import('../../core/hypervisor/machines');
        const c = await new Machines(lib.home).connectionInfo(vm.name);
        if (c.ssh) extra.SSH = `${c.ssh.host}:${c.ssh.port}`;
        if (format === 'json' && c.vnc?.kind === 'vnc-unix') extra.VNC = c.vnc.path;
        if (format === 'json' && c.serialLog) extra.SerialLog = c.serialLog;
      } catch {
        extra = {};
      }
    }
    const out = { ...info, ...extra };
    stdout.write((format === 'json' ? JSON.stringify(out, null, 2) : renderTable([out])) + '\n');
    if (vm.broken) process.stderr.write(`Warning: VM "${vm.name}" is broken: ${vm.broken.reason}\n`);
  },
});
