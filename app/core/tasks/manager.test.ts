import { afterEach, describe, expect, it, vi } from 'vitest';
import { NestboxError } from '../errors';
import { cancelledError, type TaskContext } from './context';
import { TaskManager, type TaskSnapshot } from './manager';

/** A promise the test resolves or rejects by hand. */
function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** An operation that waits until cancelled, then throws the engine's CANCELLED error. */
function untilCancelled(ctx: TaskContext): Promise<never> {
  return new Promise((_, reject) => {
    if (ctx.signal.aborted) reject(cancelledError('The pull'));
    ctx.signal.addEventListener('abort', () => reject(cancelledError('The pull')), { once: true });
  });
}

afterEach(() => {
  vi.useRealTimers();
});

describe('TaskManager', () => {
  it('runs a task to done with its result, and keeps it in the session history', async () => {
    const tm = new TaskManager();
    const seen: TaskSnapshot[] = [];
    tm.onUpdate((s) => seen.push(s));
    const final = await tm.run({
      kind: 'clone',
      title: 'Clone a to b',
      target: { vm: 'b' },
      run: async (ctx) => {
        ctx.progress({ step: 'Copying disk', done: 0, total: 10, unit: 'bytes' });
        ctx.progress({ done: 10 });
        return { vm: 'b' };
      },
    });
    expect(final).toMatchObject({ kind: 'clone', title: 'Clone a to b', target: { vm: 'b' }, state: 'done', result: { vm: 'b' } });
    expect(final.progress).toMatchObject({ step: 'Copying disk', done: 10, total: 10, unit: 'bytes' });
    expect(final.finishedAt).toBeDefined();
    expect(seen[0]!.state).toBe('running');
    expect(seen.at(-1)!.state).toBe('done');
    expect(tm.list().map((t) => t.id)).toEqual([final.id]);
    expect(tm.get(final.id)!.state).toBe('done');
  });

  it('coalesces progress to at most one snapshot per 100 ms per task, and always delivers the final state', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const tm = new TaskManager();
    const seen: { at: number; s: TaskSnapshot }[] = [];
    tm.onUpdate((s) => seen.push({ at: Date.now(), s }));
    const gate = deferred();
    const ctxHolder: { ctx?: TaskContext } = {};
    // Drive progress from outside: the task exposes its context.
    const t2 = tm.start({
      kind: 'pull',
      title: 'Pull y',
      run: (ctx) => {
        ctxHolder.ctx = ctx;
        return gate.promise;
      },
    });
    await vi.advanceTimersByTimeAsync(0);
    // 2 seconds of progress reported every millisecond (2,000 calls).
    for (let i = 1; i <= 2000; i++) {
      ctxHolder.ctx!.progress({ done: i, total: 4000, unit: 'bytes' });
      await vi.advanceTimersByTimeAsync(1);
    }
    gate.resolve();
    await vi.advanceTimersByTimeAsync(0);
    await tm.wait(t2.id);
    const mine = seen.filter((e) => e.s.id === t2.id);
    const running = mine.filter((e) => e.s.state === 'running');
    // The initial snapshot, then at most one per 100 ms: ≤ 1 + 2000/100 (+1 for the boundary).
    expect(running.length).toBeLessThanOrEqual(22);
    expect(running.length).toBeGreaterThanOrEqual(15);
    for (let i = 1; i < running.length; i++) expect(running[i]!.at - running[i - 1]!.at).toBeGreaterThanOrEqual(100);
    // Snapshots arrive in order of progress.
    const dones = running.map((e) => e.s.progress.done ?? 0);
    expect(dones).toEqual([...dones].sort((a, b) => a - b));
    // The final state is delivered although the previous snapshot is less than 100 ms old.
    expect(mine.at(-1)!.s.state).toBe('done');
    expect(mine.filter((e) => e.s.state === 'done')).toHaveLength(1);
  });

  it('computes a smoothed rate and an ETA', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const tm = new TaskManager();
    const gate = deferred();
    let ctx!: TaskContext;
    const t = tm.start({ kind: 'pull', title: 'Pull z', run: (c) => ((ctx = c), gate.promise) });
    await vi.advanceTimersByTimeAsync(0);
    ctx.progress({ done: 0, total: 100_000, unit: 'bytes' });
    for (let s = 1; s <= 20; s++) {
      await vi.advanceTimersByTimeAsync(500);
      ctx.progress({ done: s * 1000 }); // 2,000 bytes/s
    }
    const snap = tm.get(t.id)!;
    expect(snap.progress.rate).toBeGreaterThan(1900);
    expect(snap.progress.rate).toBeLessThan(2100);
    // 80,000 bytes left at 2,000 B/s → 40 s.
    expect(snap.progress.etaSeconds).toBeGreaterThan(37);
    expect(snap.progress.etaSeconds).toBeLessThan(43);
    // A new step whose counter restarts measures its rate from scratch.
    ctx.progress({ step: 'Decompressing', done: 0, total: 10, unit: 'items' });
    expect(tm.get(t.id)!.progress.rate).toBeUndefined();
    gate.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect((await tm.wait(t.id)).progress.etaSeconds).toBeUndefined();
  });

  it('merges per-item progress by id', async () => {
    const tm = new TaskManager();
    const final = await tm.run({
      kind: 'pull',
      title: 'Pull layers',
      run: async (ctx) => {
        ctx.progress({ items: [{ id: 'a', label: 'layer a', state: 'active', done: 1, total: 2 }, { id: 'b', label: 'layer b', state: 'pending', done: 0, total: 2 }] });
        ctx.progress({ items: [{ id: 'a', label: 'layer a', state: 'done', done: 2, total: 2 }] });
      },
    });
    expect(final.progress.items).toEqual([
      { id: 'a', label: 'layer a', state: 'done', done: 2, total: 2 },
      { id: 'b', label: 'layer b', state: 'pending', done: 0, total: 2 },
    ]);
  });

  it('cancels a task into a cancelled, resumable final state', async () => {
    const tm = new TaskManager();
    const seen: TaskSnapshot[] = [];
    tm.onUpdate((s) => seen.push(s));
    const t = tm.start({ kind: 'pull', title: 'Pull big', target: { image: 'h/n:t' }, resumable: true, run: untilCancelled });
    await new Promise((r) => setImmediate(r)); // let the operation start
    tm.cancel(t.id);
    const final = await tm.wait(t.id);
    expect(final.state).toBe('cancelled');
    expect(final.resumable).toBe(true);
    expect(final.error).toEqual({ code: 'CANCELLED', message: 'The pull was cancelled.', fix: 'Run it again to resume where it stopped.' });
    expect(seen.at(-1)!.state).toBe('cancelled');
    // Cancelling a finished task is a no-op; an unknown id is NOT_FOUND.
    tm.cancel(t.id);
    expect(() => tm.cancel('nope')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });

  it('an operation that ignores the signal but throws after cancel still ends cancelled', async () => {
    const tm = new TaskManager();
    const t = tm.start({
      kind: 'push',
      title: 'Push v',
      run: (ctx) => new Promise((_, rej) => ctx.signal.addEventListener('abort', () => rej(new Error('socket closed')))),
    });
    await new Promise((r) => setImmediate(r)); // let the operation start
    tm.cancel(t.id);
    const final = await tm.wait(t.id);
    expect(final.state).toBe('cancelled');
    expect(final.error!.code).toBe('CANCELLED');
    expect(final.resumable).toBe(false);
  });

  it('a task cancelled before its operation began never runs it', async () => {
    const tm = new TaskManager();
    let ran = false;
    const t = tm.start({ kind: 'clone', title: 'Clone q', run: async () => void (ran = true) });
    tm.cancel(t.id);
    expect((await tm.wait(t.id)).state).toBe('cancelled');
    expect(ran).toBe(false);
  });

  it('reports failures as structured errors without stacks', async () => {
    const tm = new TaskManager();
    const a = await tm.run({
      kind: 'create',
      title: 'Create v',
      run: async () => {
        throw new NestboxError('NO_SPACE', 'Not enough disk space to create "v".', { fix: 'Free some space.', details: { path: '/x' } });
      },
    });
    expect(a.state).toBe('failed');
    expect(a.error).toEqual({ code: 'NO_SPACE', message: 'Not enough disk space to create "v".', fix: 'Free some space.', details: { path: '/x' } });
    const b = await tm.run({
      kind: 'create',
      title: 'Create w',
      run: async () => {
        throw new TypeError('x is not a function');
      },
    });
    expect(b.error!.code).toBe('INTERNAL');
    expect(JSON.stringify(b)).not.toMatch(/\bat .*:\d+:\d+/);
  });

  it('refuses conflicting work with BUSY naming the task in the way, and frees the resource when it ends', async () => {
    const tm = new TaskManager();
    const gate = deferred();
    const push = tm.start({ kind: 'push', title: 'Push vm1 to reg/x:1', target: { vm: 'vm1' }, resources: [{ vm: 'vm1', mode: 'read' }], run: () => gate.promise });
    // Reads share: a clone of the same VM can run alongside.
    const clone = tm.start({ kind: 'clone', title: 'Clone vm1 to vm2', resources: [{ vm: 'vm1', mode: 'read' }, { vm: 'vm2', mode: 'write' }], run: () => gate.promise });
    // Writes do not: deleting the VM being pushed is refused.
    let err: NestboxError | undefined;
    try {
      tm.assertFree({ vm: 'vm1', mode: 'write' }, 'delete VM "vm1"');
    } catch (e) {
      err = e as NestboxError;
    }
    expect(err).toBeInstanceOf(NestboxError);
    expect(err!.code).toBe('BUSY');
    expect(err!.message).toBe('Cannot delete VM "vm1": VM "vm1" is in use by the running task "Push vm1 to reg/x:1".');
    expect(err!.fix).toMatch(/cancel/);
    expect(err!.details).toMatchObject({ taskId: push.id, vm: 'vm1' });
    // A task that would write the clone's target is refused too.
    expect(() => tm.start({ kind: 'create', title: 'Create vm2', resources: [{ vm: 'vm2', mode: 'write' }], run: async () => {} })).toThrow(/Cannot create vm2: VM "vm2" is in use by the running task "Clone vm1 to vm2"/);
    // Other VMs are free.
    expect(() => tm.assertFree({ vm: 'other', mode: 'write' }, 'delete VM "other"')).not.toThrow();
    gate.resolve();
    await tm.wait(push.id);
    await tm.wait(clone.id);
    expect(() => tm.assertFree({ vm: 'vm1', mode: 'write' }, 'delete VM "vm1"')).not.toThrow();
  });

  it('shutdown cancels running tasks, waits for them, and refuses new ones', async () => {
    const tm = new TaskManager();
    const t = tm.start({ kind: 'pull', title: 'Pull a', resumable: true, run: untilCancelled });
    const done = await tm.run({ kind: 'pull', title: 'Pull b', run: async () => {} });
    const finals = await tm.shutdown();
    expect(finals.map((f) => [f.id, f.state, f.resumable])).toEqual([[t.id, 'cancelled', true]]);
    expect(tm.get(done.id)!.state).toBe('done');
    expect(() => tm.start({ kind: 'pull', title: 'Pull c', run: async () => {} })).toThrow(/shutting down/);
  });

  it('keeps a bounded history of finished tasks', async () => {
    const tm = new TaskManager({ historyLimit: 3 });
    for (let i = 0; i < 5; i++) await tm.run({ kind: 'clone', title: `Clone ${i}`, run: async () => {} });
    expect(tm.list().map((t) => t.title)).toEqual(['Clone 2', 'Clone 3', 'Clone 4']);
  });

  it('a throwing listener breaks neither the task nor other listeners', async () => {
    const tm = new TaskManager();
    const got: string[] = [];
    tm.onUpdate(() => {
      throw new Error('listener bug');
    });
    tm.onUpdate((s) => got.push(s.state));
    const final = await tm.run({ kind: 'clone', title: 'Clone', run: async () => {} });
    expect(final.state).toBe('done');
    expect(got).toEqual(['running', 'done']);
  });
});
