/** Shared helpers for tests that use real files, processes and servers. */
import { spawn, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
export const NESTBOX_BIN = path.join(ROOT, 'bin', 'nestbox.js');

export interface TempHome {
  root: string;
  env: NodeJS.ProcessEnv;
  cleanup(): void;
}

/** A fresh TART_HOME in a temp dir. */
export function tempHome(prefix = 'nestbox-test-'): TempHome {
  const root = mkdtempSync(path.join(os.tmpdir(), prefix));
  return {
    root,
    env: { ...process.env, TART_HOME: root, TART_NO_AUTO_PRUNE: '', CI: 'true' },
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion, collecting its output. */
export function run(cmd: string, args: string[], opts: SpawnOptions & { input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin!.end(opts.input ?? '');
  });
}

/** Runs the built `nestbox` CLI (bin/nestbox.js → dist/) with the given environment. */
export function nestbox(args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<RunResult> {
  return run(process.execPath, [NESTBOX_BIN, ...args], { env, input });
}
