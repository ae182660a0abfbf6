/** Typed surface of the Nestbox native addon (native/src/native.cc). */
export type LockType = 'write' | 'read' | 'unlock';

/**
 * POSIX fcntl record lock on the whole file (start 0, len 0) — Tart's PIDLock.
 * Returns true when acquired, false when another process holds a conflicting lock (non-blocking).
 * `ofd: true` uses Linux open-file-description locks (F_OFD_SETLK): the lock belongs to the open file
 * description, so it survives in a child that inherits the descriptor. Throws ENOTSUP elsewhere.
 */
export function fcntlLock(fd: number, type: LockType, ofd?: boolean): boolean;
/** F_GETLK probe for a write lock: 0 if nobody else holds a lock, else the holder's pid (-1 for an OFD lock). */
export function fcntlGetLockPid(fd: number): number;
/** BSD flock(2). Non-blocking: returns false if the lock is held elsewhere. */
export function flock(fd: number, op: 'ex' | 'sh' | 'un'): boolean;
/** Blocking BSD flock(2) on a worker thread. */
export function flockWait(fd: number, op: 'ex' | 'sh'): Promise<void>;
/** Copy-on-write clone (Linux FICLONE, macOS clonefile). dst must not exist. Rejects with code EXDEV/EOPNOTSUPP/ENOTSUP/EINVAL/... */
export function reflink(src: string, dst: string): Promise<void>;
/**
 * Sparse-aware copy: copies only allocated data (SEEK_DATA/SEEK_HOLE) and leaves all-zero 4 KiB blocks as holes,
 * like `cp --sparse=always`. dst is created (must not exist) with src's mode; its size equals src's. Writeback starts
 * as it goes and dst is fsynced before the promise resolves. `cancel`: set element 0 to non-zero (Atomics.store) to
 * stop between reads — it then rejects with code ECANCELED and dst is removed.
 */
export function sparseCopy(src: string, dst: string, cancel?: Int32Array): Promise<{ bytesWritten: number }>;
/** Deallocate a range of a file, keeping its size (Linux fallocate PUNCH_HOLE, macOS F_PUNCHHOLE). */
export function punchHole(fd: number, offset: number, length: number): void;
/** lseek(fd, offset, SEEK_DATA): next data offset at or after `offset`, or -1 if none. */
export function seekData(fd: number, offset: number): number;
/** lseek(fd, offset, SEEK_HOLE): next hole offset at or after `offset` (the file size if none). */
export function seekHole(fd: number, offset: number): number;
/**
 * Decodes one raw LZ4 block (`src`) into `dst` at `dstPos` (not past `dstEnd`, default dst's length). Matches may
 * refer back before `dstPos` (keep the previous 64 KiB of output there). Returns the new end position, or a
 * negative number when the block is malformed or does not fit.
 */
export function lz4DecodeBlock(src: Uint8Array, dst: Uint8Array, dstPos: number, dstEnd?: number): number;
/** Encodes `src` as one self-contained raw LZ4 block into `dst`. Returns the encoded size, -1 if dst is too small. */
export function lz4EncodeBlock(src: Uint8Array, dst: Uint8Array): number;
/** Worst-case encoded size of n bytes. */
export function lz4CompressBound(n: number): number;
/** Platform tag the addon was built for. */
export const platform: string;
