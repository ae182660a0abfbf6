/**
 * Entry of a VZ runner process. Usage: `<node|electron> runner-main.js '<json RunnerArgs>'`.
 * Reports readiness on file descriptor 3 when the parent opened it (one JSON line: {"ready":true,"pid":N} or
 * {"error":{code,message,fix}}), then lives until the VM stops. Exit code: 0 after a clean stop or suspend,
 * the NestboxError's exit code when starting failed, 1 when the VM failed.
 *
 * The Electron app runs the same function from its own runner entry (app/main) once `app.whenReady()` resolved,
 * with queue "main", so "Show screen" can open a native window; plain Node uses queue "private" (headless).
 */
import { writeSync, closeSync, fstatSync } from 'node:fs';
import { NestboxError } from '../../errors';
import { openHome } from '../../library/home';
import { loadVzAddon } from './availability';
import { VzRunner, type RunnerArgs } from './runner';

function report(msg: unknown): void {
  try {
    fstatSync(3);
  } catch {
    return; // no readiness pipe
  }
  try {
    writeSync(3, JSON.stringify(msg) + '\n');
    closeSync(3);
  } catch {}
}

export async function runVzRunnerProcess(rawArgs: string | undefined, queue: 'main' | 'private'): Promise<number> {
  const log = (m: string) => process.stderr.write(`[${new Date().toISOString()}] ${m}\n`);
  try {
    if (!rawArgs) throw new NestboxError('INVALID_ARGUMENT', 'runner-main: missing arguments.');
    const args = { ...(JSON.parse(rawArgs) as RunnerArgs), queue };
    const loaded = loadVzAddon();
    if ('error' in loaded) throw new NestboxError('MISSING_DEPENDENCY', `The Virtualization.framework addon cannot be loaded (${loaded.error}).`, { fix: 'Reinstall Nestbox.' });
    const runner = await VzRunner.launch(args, { addon: loaded.addon, home: openHome(), log });
    report({ ready: true, pid: process.pid });
    return await runner.exited;
  } catch (e) {
    const err = e instanceof NestboxError ? e : new NestboxError('HYPERVISOR', (e as Error).message ?? String(e));
    log(`error: ${err.message}`);
    report({ error: err.toJSON() });
    return err.exitCode;
  }
}

if (require.main === module) {
  void runVzRunnerProcess(process.argv[2], 'private').then((code) => process.exit(code));
}
