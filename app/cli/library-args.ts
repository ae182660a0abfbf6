/** Argument parsing shared by the library commands (create, clone, list, get, set, rename, delete, prune). */
import { NestboxError } from '../core/errors';
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

/** Prints warnings/notes from engine tasks on stderr. */
export function stderrTask(stderr: NodeJS.WritableStream) {
  return {
    signal: new AbortController().signal,
    progress() {},
    log(message: string) {
      stderr.write(`${message}\n`);
    },
  };
}
