/**
 * The per-VM supervisor used where a lock cannot be handed to QEMU (no open-file-description locks, e.g. macOS):
 * it takes Tart's fcntl lock on config.json, runs QEMU as its child, and exits with it — so the lock is held for
 * exactly the VM's lifetime. SIGINT/SIGTERM/SIGHUP are passed on to QEMU (which then quits cleanly).
 *
 * Run as: node supervisor.js CONFIG_JSON QEMU [QEMU_ARGS...]; fd 3 is a pipe to the starter, which receives one
 * line: "PID <qemu pid>" or "ERR <reason>".
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { PidLock } from '../../library/locks';

function main(): void {
  const [configPath, qemu, ...args] = process.argv.slice(2);
  const report = createWriteStream('', { fd: 3 });
  if (!configPath || !qemu) {
    report.end('ERR usage: supervisor CONFIG_JSON QEMU [ARGS...]\n');
    process.exitCode = 1;
    return;
  }
  let lock: PidLock;
  try {
    lock = PidLock.open(configPath);
  } catch (e) {
    report.end(`ERR ${(e as Error).message}\n`);
    process.exitCode = 1;
    return;
  }
  if (!lock.tryLock(false)) {
    report.end('ERR RUNNING\n');
    process.exitCode = 2;
    return;
  }
  const child = spawn(qemu, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  child.once('spawn', () => report.end(`PID ${child.pid}\n`));
  child.once('error', (e) => {
    report.end(`ERR ${e.message}\n`);
    process.exit(1);
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      try {
        child.kill('SIGTERM');
      } catch {}
    });
  }
  child.once('exit', (code, signal) => {
    lock.close();
    // Mirror QEMU: a polite signal is a normal end, anything else (SIGKILL, SIGSEGV…) is not.
    process.exit(code ?? (signal === 'SIGTERM' || signal === 'SIGINT' || signal === 'SIGHUP' ? 0 : 128 + (signal === 'SIGKILL' ? 9 : 6)));
  });
}

main();
