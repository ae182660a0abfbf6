/**
 * The engine's one error type. Every failure a user can see is a NestboxError naming the thing, the reason
 * and the fix. Shells map it to their medium: the CLI prints `message` + `fix` and exits with `exitCode`;
 * the API contract carries `{code, message, fix, details}` (never a stack trace).
 */
export type ErrorCode =
  | 'NOT_FOUND' // VM, image, file or tag does not exist (exit 2, like Tart)
  | 'ALREADY_EXISTS'
  | 'RUNNING' // the VM is running and the operation needs it stopped, or it is already running (exit 2)
  | 'NOT_RUNNING' // exit 2
  | 'INVALID_ARGUMENT'
  | 'INVALID_NAME'
  | 'INVALID_REFERENCE'
  | 'BROKEN_VM' // config.json missing/malformed
  | 'NO_SPACE'
  | 'UNSUPPORTED' // this host cannot do it (e.g. macOS guest on Linux)
  | 'MISSING_DEPENDENCY' // e.g. QEMU or firmware not installed
  | 'BUSY' // a lock or a conflicting task
  | 'AUTH'
  | 'NETWORK'
  | 'REGISTRY'
  | 'DIGEST_MISMATCH'
  | 'NOT_A_VM_IMAGE'
  | 'CANCELLED'
  | 'TIMEOUT'
  | 'HYPERVISOR'
  | 'INTERNAL';

/** Tart's convention: 2 for not-found / running conflicts, 1 otherwise. */
const EXIT_2: ReadonlySet<ErrorCode> = new Set(['NOT_FOUND', 'RUNNING', 'NOT_RUNNING']);

export interface NestboxErrorOptions {
  /** What the user can do about it, as an imperative sentence. */
  fix?: string;
  /** Structured, secret-free detail for "copy details" (paths, codes, media types found, …). */
  details?: Record<string, unknown>;
  cause?: unknown;
  exitCode?: number;
}

export class NestboxError extends Error {
  readonly code: ErrorCode;
  readonly fix?: string;
  readonly details?: Record<string, unknown>;
  readonly exitCode: number;

  constructor(code: ErrorCode, message: string, opts: NestboxErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'NestboxError';
    this.code = code;
    this.fix = opts.fix;
    this.details = opts.details;
    this.exitCode = opts.exitCode ?? (EXIT_2.has(code) ? 2 : 1);
  }

  /** A plain, serialisable view (what crosses process boundaries). */
  toJSON(): { code: ErrorCode; message: string; fix?: string; details?: Record<string, unknown> } {
    return { code: this.code, message: this.message, fix: this.fix, details: this.details };
  }
}

export function isNestboxError(e: unknown): e is NestboxError {
  return e instanceof NestboxError;
}

/** Node errno errors carry `code` (ENOENT, ENOSPC…). */
export function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string'
    ? (e as { code: string }).code
    : undefined;
}

/** Turns ENOSPC/EDQUOT into the user-facing NO_SPACE error; passes everything else through. */
export function mapSpaceError(e: unknown, what: string, where: string): unknown {
  const c = errnoCode(e);
  if (c === 'ENOSPC' || c === 'EDQUOT') {
    return new NestboxError('NO_SPACE', `Not enough disk space to ${what} (${where} is full).`, {
      fix: 'Free some space (e.g. `nestbox prune --entries caches --older-than 7`) and try again.',
      cause: e,
      details: { path: where },
    });
  }
  return e;
}
