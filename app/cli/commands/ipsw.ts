import { NestboxError } from '../../core/errors';
import { defineCommand } from '../command';
import { stderrTask } from '../library-args';

function gb(bytes: number | undefined): string {
  return bytes ? `${(bytes / 1e9).toFixed(1)} GB` : '-';
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 2))).join('').trimEnd()).join('\n') + '\n';
}

// `nestbox ipsw list|info|download` — macOS restore images (catalog, validation, cached resumable download).
export default defineCommand({
  usage: 'list [--beta] [--refresh] [--sizes] [--format text|json] | info FILE | download latest|URL',
  options: {
    beta: { type: 'boolean' },
    refresh: { type: 'boolean' },
    sizes: { type: 'boolean' },
    format: { type: 'string', default: 'text' },
  },
  positionals: [1, 2],
  async run({ values, positionals, stdout, stderr }) {
    const [sub, arg] = positionals;
    const ipsw = await import('../../core/ipsw');
    const { openHome } = await import('../../core/library/home');
    const home = openHome();
    const task = stderrTask(stderr, { cancelOnSignal: true });
    const format = values.format as string;
    if (format !== 'text' && format !== 'json') throw new NestboxError('INVALID_ARGUMENT', `--format must be text or json (got "${format}").`, { fix: 'Pass --format json.' });

    if (sub === 'list') {
      const cat = await ipsw.fetchCatalog(home, { task, ...(values.refresh ? { maxAgeMs: 0 } : {}), withSizes: !!values.sizes });
      const entries = cat.entries.filter((e) => values.beta || e.channel === 'release');
      if (format === 'json') {
        stdout.write(JSON.stringify({ ...cat, entries }, null, 2) + '\n');
        return;
      }
      const rows = [['Version', 'Build', 'Channel', 'Size', 'Min host', 'URL']];
      for (const e of entries) rows.push([e.version, e.build, e.channel, gb(e.size), `macOS ${e.minimumHost}`, e.url]);
      stdout.write(table(rows));
      stderr.write(`Catalog fetched ${cat.fetchedAt}${cat.stale ? ' (stale: the sources could not be reached)' : ''}.\n`);
      return;
    }
    if (sub === 'info') {
      if (!arg) throw new NestboxError('INVALID_ARGUMENT', 'ipsw info needs a file.', { fix: 'Run nestbox ipsw info PATH.ipsw' });
      const spec = ipsw.parseIpswSpec(arg);
      if (spec.kind !== 'file') throw new NestboxError('INVALID_ARGUMENT', 'ipsw info checks a local file.', { fix: 'Download it first: nestbox ipsw download URL' });
      const info = await ipsw.inspectRestoreImage(spec.path, ipsw.currentHost());
      if (format === 'json') {
        stdout.write(JSON.stringify(info, null, 2) + '\n');
      } else {
        stdout.write(
          table([
            ['Version', info.productVersion],
            ['Build', info.buildVersion],
            ['Channel', info.beta ? 'beta' : 'release'],
            ['Size', gb(info.size)],
            ['Min host', `macOS ${info.minimumHost}`],
            ['Devices', `${info.supportedProductTypes.length} (incl. VirtualMac2,1)`],
          ]),
        );
      }
      for (const w of info.warnings) stderr.write(`Warning: ${w}\n`);
      return;
    }
    if (sub === 'download') {
      if (!arg) throw new NestboxError('INVALID_ARGUMENT', 'ipsw download needs `latest` or a URL.', { fix: 'Run nestbox ipsw download latest' });
      const spec = ipsw.parseIpswSpec(arg);
      if (spec.kind === 'file') throw new NestboxError('INVALID_ARGUMENT', `"${arg}" is neither \`latest\` nor an http(s) URL.`, { fix: 'Pass latest or a URL.' });
      const r = await ipsw.resolveIpsw(home, spec, { task });
      stdout.write(`${r.info.path}\n`);
      return;
    }
    throw new NestboxError('INVALID_ARGUMENT', `Unknown ipsw subcommand "${sub}".`, { fix: 'Use list, info or download.' });
  },
});
