/** Argument parsing shared by the library commands (create, clone, list, get, set, rename, delete, prune). */
import { NestboxError } from '../core/errors';
import type { ProgressUpdate } from '../core/tasks/context';
import type { OptionValue } from './command';

/** A whole number from a flag value, or undefined when the flag is absent; a clear error otherwise. */
export function intFlag(v: OptionValue, flag: string, example: string): number | undefined {
  if (v === undefined) return undefined;
  const s = String(v).trim();
  if (!/^\d+$/.test(s)) {
    throw new NestboxError('INVALID_ARGUMENT', `${flag} must be a whole number (got "${String(v)}").`, { fix: `Pass e.g. ${flag} ${example}.`, details: { flag, value: String(v) } });
  }
  return Number(s);
}

/** A non-negative number (decimals allowed) from a flag value. */
export function numberFlag(v: OptionValue, flag: string, example: string): number | undefined {
  if (v === undefined) return undefined;
  const s = String(v).trim();
  if (!/^\d+(\.\d+)?$/.test(s)) {
    throw new NestboxError('INVALID_ARGUMENT', `${flag} must be a number ≥ 0 (got "${String(v)}").`, { fix: `Pass e.g. ${flag} ${example}.`, details: { flag, value: String(v) } });
  }
  return Number(s);
}

/** One of a fixed set of values (case-insensitive), or the default. */
export function choiceFlag<T extends string>(v: OptionValue, flag: string, choices: readonly T[], dflt: T): T {
  if (v === undefined) return dflt;
  const s = String(v).toLowerCase();
  const hit = choices.find((c) => c.toLowerCase() === s);
  if (!hit) {
    throw new NestboxError('INVALID_ARGUMENT', `'${String(v)}' is not a valid value for ${flag}.`, { fix: `Use one of: ${choices.join(', ')}.`, details: { flag, value: String(v) } });
  }
  return hit;
}

/**
 * A task context for a CLI command: notes go to stderr; with `cancelOnSignal`, the first Ctrl-C (SIGINT) or SIGTERM
 * cancels the operation cleanly (temp files removed), a second one kills the process as usual.
 */
export function stderrTask(stderr: NodeJS.WritableStream & { isTTY?: boolean }, o: { cancelOnSignal?: boolean } = {}) {
  const ac = new AbortController();
  if (o.cancelOnSignal) {
    const onSignal = (sig: NodeJS.Signals) => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      stderr.write(`\nCancelling (${sig})…\n`);
      ac.abort();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  // On a terminal, one self-rewriting progress line (at most ~10 redraws/s); nothing when piped.
  let step = '';
  let last = 0;
  let drawn = false;
  const clear = () => {
    if (drawn) stderr.write('\r\x1b[K');
    drawn = false;
  };
  return {
    signal: ac.signal,
    progress(u: ProgressUpdate) {
      if (!stderr.isTTY) return;
      if (u.step) step = u.step;
      const now = Date.now();
      if (now - last < 100 && !(u.total !== undefined && u.done === u.total)) return;
      last = now;
      const pct = u.total ? ` ${Math.floor(((u.done ?? 0) / u.total) * 100)}%` : '';
      const amount = u.unit === 'bytes' && u.total ? ` (${mib(u.done ?? 0)} / ${mib(u.total)})` : '';
      stderr.write(`\r\x1b[K${step}${pct}${amount}`);
      drawn = true;
    },
    log(message: string) {
      clear();
      stderr.write(`${message}\n`);
    },
    /** Ends the progress line (call before printing a result). */
    done() {
      clear();
    },
  };
}

function mib(n: number): string {
  return n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(1)} GiB` : `${(n / 1024 ** 2).toFixed(0)} MiB`;
}
