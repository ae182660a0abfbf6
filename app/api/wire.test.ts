import { describe, expect, it } from 'vitest';
import { REQUEST_NAMES, requests } from './contract';
import { ApiCallError, createClient, createDispatcher, toApiError, type Handlers, type NestboxBridge } from './wire';

/** A loopback bridge: the client's calls go straight into a dispatcher (what every shell does over its transport). */
function loopback(handlers: Partial<Handlers<null>>, emit?: (fn: (e: string, p: unknown) => void) => void): NestboxBridge {
  const all = new Proxy(handlers, {
    get: (t, k: string) => (t as Record<string, unknown>)[k] ?? (() => Promise.reject(new Error(`no handler for ${k}`))),
  }) as Handlers<null>;
  const dispatch = createDispatcher(all);
  return {
    invoke: (m, p) => dispatch(m, JSON.parse(JSON.stringify(p)), null),
    subscribe: (l) => {
      emit?.(l);
      return () => {};
    },
  };
}

describe('the contract on the wire', () => {
  it('validates params on the receiving side before the handler runs', async () => {
    let called = false;
    const client = createClient(loopback({ 'vm.set': async () => ((called = true), { vm: null as never, warnings: [] }) }));
    const err = await client.request('vm.set', { name: 'x', display: '1024 by 768' } as never).catch((e) => e);
    expect(err).toBeInstanceOf(ApiCallError);
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toMatch(/display/);
    expect(called).toBe(false);
  });

  it('rejects unknown requests with a clear error', async () => {
    const out = await createDispatcher({} as Handlers<null>)('vm.explode', {}, null);
    expect(out).toEqual({ ok: false, error: expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'Unknown request "vm.explode".' }) });
  });

  it('carries engine errors as structured values, never stacks', async () => {
    const engineError = Object.assign(new Error('VM "a" is running.'), { name: 'NestboxError', code: 'RUNNING', fix: 'Stop it first: nestbox stop a', details: { name: 'a' } });
    const client = createClient(loopback({ 'vm.delete': async () => Promise.reject(engineError) }));
    const err = await client.request('vm.delete', { name: 'a' }).catch((e) => e);
    expect(err.toApiError()).toEqual({ code: 'RUNNING', message: 'VM "a" is running.', fix: 'Stop it first: nestbox stop a', details: { name: 'a' } });
    const internal = toApiError(new TypeError('boom'));
    expect(internal.code).toBe('INTERNAL');
    expect(JSON.stringify(internal)).not.toMatch(/at .*\.ts/);
  });

  it('validates results on the client side', async () => {
    const client = createClient(loopback({ 'vm.ip': async () => ({ ip: 42 }) as never }));
    await expect(client.request('vm.ip', { name: 'a' })).rejects.toThrow(/does not match the contract/);
  });

  it('delivers only well-formed events', async () => {
    let emit: (e: string, p: unknown) => void = () => {};
    const client = createClient(loopback({}, (fn) => (emit = fn)));
    const got: unknown[] = [];
    client.on('vm.state', (p) => got.push(p));
    emit('vm.state', { name: 'a', state: 'running' });
    emit('vm.state', { name: 'a', state: 'exploded' });
    emit('not.an.event', {});
    expect(got).toEqual([{ name: 'a', state: 'running' }]);
  });

  it('every request has a params and a result schema', () => {
    expect(REQUEST_NAMES.length).toBeGreaterThan(30);
    for (const n of REQUEST_NAMES) {
      expect(requests[n].params, n).toBeDefined();
      expect(requests[n].result, n).toBeDefined();
    }
  });
});
