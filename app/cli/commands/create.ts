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
      if (process.platform !== 'darwin' || process.arch !== 'arm64') {
        throw new NestboxError('UNSUPPORTED', 'macOS guests need a Mac with Apple silicon; this host cannot create them.', {
          fix: 'Create a Linux VM with --linux, or pull a macOS image here and run it on a Mac.',
        });
      }
      throw new NestboxError('UNSUPPORTED', 'Creating macOS VMs from an IPSW is not available in this build yet.', { fix: 'Use Tart to create it, or clone a macOS image.' });
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
