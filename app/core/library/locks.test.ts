import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileLock, PidLock, runningPid } from './locks';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'nestbox-locks-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A second process that takes a POSIX fcntl write lock on `file` with Python (an independent implementation). */
function holdFcntlLock(file: string) {
  const child = spawn('python3', ['-c', `import fcntl,sys,time\nf=open(sys.argv[1],'r+')\nfcntl.lockf(f,fcntl.LOCK_EX|fcntl.LOCK_NB)\nprint('locked',flush=True)\nsys.stdin.read()`, file], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (c) => reject(new Error(`lock holder exited ${c}`)));
  });
  return { child, ready, release: () => new Promise<void>((r) => { child.once('exit', () => r()); child.stdin!.end(); }) };
}

describe('Tart-compatible locks (real processes)', () => {
  it('sees another process holding the PID lock on config.json, and its pid', async () => {
    const vm = tmp();
    writeFileSync(path.join(vm, 'config.json'), '{}');
    expect(runningPid(vm)).toBe(0);
    const holder = holdFcntlLock(path.join(vm, 'config.json'));
    await holder.ready;
    expect(runningPid(vm)).toBe(holder.child.pid);
    const l = PidLock.open(path.join(vm, 'config.json'));
    expect(l.tryLock()).toBe(false);
    l.close();
    await holder.release();
    expect(runningPid(vm)).toBe(0);
  });

  it('an OFD lock taken here is visible to a POSIX probe in another process', async () => {
    const vm = tmp();
    const file = path.join(vm, 'config.json');
    writeFileSync(file, '{}');
    const l = PidLock.open(file);
    expect(l.tryLock(true)).toBe(true);
    const probe = spawn('python3', ['-c', `import fcntl,sys\nf=open(sys.argv[1],'r+')\ntry:\n  fcntl.lockf(f,fcntl.LOCK_EX|fcntl.LOCK_NB); print('free')\nexcept OSError: print('held')`, file]);
    let out = '';
    probe.stdout.on('data', (d) => (out += d));
    await new Promise((r) => probe.on('close', r));
    expect(out.trim()).toBe('held');
    l.close();
  });

  it('flock on a directory excludes a second holder until released', async () => {
    const d = tmp();
    const a = new FileLock(d);
    const b = new FileLock(d);
    expect(a.tryLock()).toBe(true);
    expect(b.tryLock()).toBe(false);
    let got = false;
    const waiting = b.lock().then(() => (got = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(got).toBe(false);
    a.close();
    await waiting;
    expect(got).toBe(true);
    b.close();
  });
});
