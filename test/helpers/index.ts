/** Shared helpers for tests that use real files, processes and servers. */
import { spawn, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
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

/** Polls `fn` every `pollMs` until it returns a truthy value (returned), or fails after `timeoutMs` naming `what`. */
export async function waitFor<T>(what: string, fn: () => T | null | undefined | false | Promise<T | null | undefined | false>, timeoutMs = 30_000, pollMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Pids of live processes whose command line matches `pattern` and mentions `including` (a test's own temp dir). */
export function processesMatching(pattern: RegExp, including: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8');
      if (pattern.test(cmd) && cmd.includes(including)) out.push(Number(e));
    } catch {}
  }
  return out.sort((a, b) => a - b);
}
