import { NestboxError } from '../../core/errors';
import { defineCommand } from '../command';
import { choiceFlag, intFlag, stderrTask } from '../library-args';

export default defineCommand({
  usage: 'NAME (--linux | --from-ipsw PATH|URL|latest) [--disk-size GB] [--disk-format raw|asif] [--arch arm64|amd64] [--cpu N] [--memory MB]',
  options: {
    linux: { type: 'boolean' },
    'from-ipsw': { type: 'string' },
    'disk-size': { type: 'string' },
    'disk-format': { type: 'string' },
    arch: { type: 'string' },
    cpu: { type: 'string' },
    memory: { type: 'string' },
  },
  positionals: [1, 1],
  async run({ values, positionals, stderr }) {
    const name = positionals[0]!;
    const fromIpsw = values['from-ipsw'] as string | undefined;
    if (fromIpsw !== undefined && values.linux) {
      throw new NestboxError('INVALID_ARGUMENT', '--linux and --from-ipsw cannot be used together.', { fix: 'Pass one of them.' });
    }
    if (fromIpsw === undefined && !values.linux) {
      throw new NestboxError('INVALID_ARGUMENT', 'Say what to create: --linux or --from-ipsw.', { fix: `Run e.g. \`nestbox create ${name} --linux\`.` });
    }
    const diskFormat = choiceFlag(values['disk-format'], '--disk-format', ['raw', 'asif'] as const, 'raw');
    const diskSizeGB = intFlag(values['disk-size'], '--disk-size', '50');
    if (fromIpsw !== undefined) {
      // The IPSW is validated first on every host (so a user learns whether the file is good); hosts that cannot
      // run macOS guests then get UNSUPPORTED with the reason. No tmp GC here: it would drop a resumable partial
      // download (Tart skips GC for pull/clone for the same reason).
      const { parseIpswSpec } = await import('../../core/ipsw');
      const { createMacVmFromIpsw } = await import('../../core/hypervisor/vz/create');
      const { openLibrary } = await import('../../core/library/library');
      const lib = await openLibrary({ collectGarbage: false });
      const task = stderrTask(stderr, { cancelOnSignal: true });
      await createMacVmFromIpsw(lib, name, parseIpswSpec(fromIpsw), { ...(diskSizeGB !== undefined ? { diskSizeGB } : {}), diskFormat, task });
      return;
    }
    if (diskFormat === 'asif') {
      throw new NestboxError('UNSUPPORTED', 'ASIF disks need macOS 26; Linux VMs here use raw disks.', { fix: 'Drop --disk-format (raw is the default).' });
    }
    const arch = values.arch === undefined ? undefined : choiceFlag(values.arch, '--arch', ['arm64', 'amd64'] as const, 'arm64');
    const cpu = intFlag(values.cpu, '--cpu', '2');
    const memoryMB = intFlag(values.memory, '--memory', '4096');
    const { openLibrary } = await import('../../core/library/library');
    const lib = await openLibrary();
    await lib.create(
      { name, ...(arch ? { arch } : {}), ...(diskSizeGB !== undefined ? { diskSizeGB } : {}), ...(cpu !== undefined ? { cpu } : {}), ...(memoryMB !== undefined ? { memoryMB } : {}) },
      stderrTask(stderr),
    );
  },
});
