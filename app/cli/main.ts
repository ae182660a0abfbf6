/**
 * `nestbox` — Tart's verbs and flags over the Nestbox engine. Command modules load lazily, so `nestbox list`
 * does not pay for the registry client, QEMU or the server.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { CommandContext, CommandModule } from './command';

interface Entry {
  summary: string;
  load: () => Promise<{ default: CommandModule }>;
}

export const COMMANDS: Record<string, Entry> = {
  create: { summary: 'Create a VM', load: () => import('./commands/create') },
  clone: { summary: 'Clone a VM (local, or pulled from a registry)', load: () => import('./commands/clone') },
  list: { summary: 'List VMs and cached images', load: () => import('./commands/list') },
  get: { summary: "Show a VM's configuration and state", load: () => import('./commands/get') },
  set: { summary: "Change a VM's configuration", load: () => import('./commands/set') },
  rename: { summary: 'Rename a local VM', load: () => import('./commands/rename') },
  delete: { summary: 'Delete VMs or cached images', load: () => import('./commands/delete') },
  prune: { summary: 'Remove old caches or VMs', load: () => import('./commands/prune') },
  pull: { summary: 'Pull a VM image from an OCI registry', load: () => import('./commands/pull') },
  push: { summary: 'Push a VM to one or more OCI registry references', load: () => import('./commands/push') },
  login: { summary: 'Log in to a registry', load: () => import('./commands/login') },
  logout: { summary: 'Log out of a registry', load: () => import('./commands/logout') },
  run: { summary: 'Run a VM', load: () => import('./commands/run') },
  stop: { summary: 'Stop a VM', load: () => import('./commands/stop') },
  suspend: { summary: 'Suspend a VM to disk', load: () => import('./commands/suspend') },
  ip: { summary: "Print a VM's IP address", load: () => import('./commands/ip') },
  ipsw: { summary: 'List, check and download macOS restore images', load: () => import('./commands/ipsw') },
  serve: { summary: 'Serve the Nestbox UI and API over HTTP (for browsers and headless hosts)', load: () => import('./commands/serve') },
};

function usage(): string {
  const lines = ['Usage: nestbox <command> [options]', '', 'Commands:'];
  for (const [name, e] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(10)} ${e.summary}`);
  lines.push('', 'Run `nestbox <command> --help` for a command\'s options. Data lives in $TART_HOME (default ~/.tart).');
  return lines.join('\n');
}

export async function runCli(argv: string[], io: Pick<CommandContext, 'stdout' | 'stderr'>): Promise<number> {
  const [verb, ...rest] = argv;
  if (!verb || verb === '--help' || verb === '-h' || verb === 'help') {
    io.stdout.write(usage() + '\n');
    return verb ? 0 : 1;
  }
  if (verb === '--version') {
    io.stdout.write(`${require('../../package.json').version}\n`);
    return 0;
  }
  const entry = COMMANDS[verb];
  if (!entry) {
    io.stderr.write(`Error: unknown command "${verb}".\nFix: run \`nestbox --help\` to see the commands.\n`);
    return 1;
  }
  const mod = (await entry.load()).default;
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(`Usage: nestbox ${verb} ${mod.usage}\n`);
    return 0;
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: rest, options: mod.options as ParseArgsConfig['options'], allowPositionals: true, strict: true });
  } catch (e) {
    io.stderr.write(`Error: ${(e as Error).message}.\nFix: usage: nestbox ${verb} ${mod.usage}\n`);
    return 1;
  }
  const min = mod.positionals?.[0] ?? 0;
  const max = mod.positionals?.[1] ?? Infinity;
  if (parsed.positionals.length < min || parsed.positionals.length > max) {
    io.stderr.write(`Error: wrong number of arguments for "${verb}".\nFix: usage: nestbox ${verb} ${mod.usage}\n`);
    return 1;
  }
  try {
    const code = await mod.run({ values: parsed.values as CommandContext['values'], positionals: parsed.positionals, stdout: io.stdout, stderr: io.stderr });
    return code ?? 0;
  } catch (e) {
    return reportError(e, io.stderr);
  }
}

export function reportError(e: unknown, stderr: NodeJS.WritableStream): number {
  const err = e as { name?: string; message?: string; fix?: string; exitCode?: number };
  if (err && err.name === 'NestboxError') {
    stderr.write(`Error: ${err.message}\n`);
    if (err.fix) stderr.write(`Fix: ${err.fix}\n`);
    return err.exitCode ?? 1;
  }
  stderr.write(`Error: ${err?.message ?? String(e)}\n`);
  if (process.env.NESTBOX_DEBUG && e instanceof Error && e.stack) stderr.write(e.stack + '\n');
  return 1;
}

export function main(argv: string[]): void {
  // A reader that goes away (`nestbox run vm | head`) must not crash the command with an unhandled EPIPE: output
  // stops, the command carries on (a foreground VM keeps running until Ctrl-C or its end).
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
    });
  }
  runCli(argv, { stdout: process.stdout, stderr: process.stderr }).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.exitCode = reportError(e, process.stderr);
    },
  );
}
