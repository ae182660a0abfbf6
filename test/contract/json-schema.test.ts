/**
 * The renderer checks replies and events against app/api/contract.schema.json (jsonCheck.ts) instead of zod. These
 * tests keep the two in step: the committed file is what the zod contract generates, and on real replies and events
 * (the renderer's fake bridge answers like app/service) and on thousands of corrupted copies of them, the JSON checker
 * accepts and refuses exactly what zod does.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { events, requests, type EventName, type RequestName } from '../../app/api/contract';
import { jsonContractChecker, readWireFrame } from '../../app/api/jsonClient';
import { contractSchemaFile } from '../../app/api/jsonSchema';
import { checkJson } from '../../app/api/jsonCheck';
import { WireEventSchema, WireResponseSchema, zodContractChecker } from '../../app/api/wire';
import { FakeBridge, fakeImage, fakeVm } from '../../app/renderer/src/test/fakeBridge';
import { ROOT } from '../helpers';

describe('contract.schema.json', () => {
  it('is what the zod contract generates (run `node scripts/build.mjs node` after changing app/api)', () => {
    const committed = readFileSync(path.join(ROOT, 'app', 'api', 'contract.schema.json'), 'utf8');
    expect(committed === contractSchemaFile(), 'app/api/contract.schema.json is stale: run `node scripts/build.mjs node` and commit it').toBe(true);
  });

  it('covers every request and event', () => {
    const file = JSON.parse(contractSchemaFile()) as { results: object; events: object };
    expect(Object.keys(file.results).sort()).toEqual(Object.keys(requests).sort());
    expect(Object.keys(file.events).sort()).toEqual(Object.keys(events).sort());
  });
});

/** Real samples: what the fake bridge (shaped like app/service) answers and emits. */
async function samples(): Promise<{ results: [RequestName, unknown][]; events: [EventName, unknown][] }> {
  const fake = new FakeBridge({
    vms: [fakeVm('dev', { state: 'running' }), fakeVm('mac', { os: 'darwin', arch: 'arm64', state: 'suspended', stateReason: 'saved' })],
    images: [fakeImage('ghcr.io/cirruslabs/debian:latest')],
  });
  const evs: [EventName, unknown][] = [];
  fake.subscribe((e, p) => evs.push([e as EventName, p]));
  const calls: [RequestName, unknown][] = [
    ['host.info', {}],
    ['vm.list', {}],
    ['vm.get', { name: 'dev' }],
    ['vm.get', { name: 'mac' }],
    ['vm.ip', { name: 'dev' }],
    ['vm.display', { name: 'dev' }],
    ['vm.serialRead', { name: 'dev' }],
    ['image.list', {}],
    ['image.checkReference', { reference: 'ghcr.io/x/y:1' }],
    ['image.checkReference', { reference: 'Not A Ref' }],
    ['image.pull', { reference: 'ghcr.io/x/y:1' }],
    ['vm.clone', { source: 'dev', name: 'dev2' }],
    ['vm.stop', { name: 'dev' }],
    ['task.list', {}],
  ];
  const results: [RequestName, unknown][] = [];
  for (const [m, p] of calls) {
    const o = await fake.invoke(m, p);
    if (o.ok) results.push([m, o.result]);
  }
  const t = fake.startTask('pull', 'Pull x', { image: 'ghcr.io/x/y:1' }, { total: 100, done: 5, items: [{ id: 'l1', label: 'layer 1', total: 50, done: 5, state: 'active' }] });
  fake.updateTask(t.id, { state: 'failed', error: { code: 'NETWORK', message: 'reset', fix: 'retry', details: { attempt: 2 } } });
  evs.push(['shell.intent', { kind: 'show-vm', name: 'dev', screen: true }], ['shell.intent', { kind: 'show-task', taskId: 't1' }], ['shell.intent', { kind: 'pull' }]);
  fake.dispose();
  return { results, events: evs };
}

/** Every value with one thing broken: each key removed, each leaf (and each object/array) replaced by other types. */
function* corruptions(v: unknown): Generator<unknown> {
  const wrong: unknown[] = ['x', 42, 1.5, -1, true, null, {}, [], 'running'];
  for (const w of wrong) if (JSON.stringify(w) !== JSON.stringify(v)) yield w;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) for (const c of corruptions(v[i])) yield v.map((x, j) => (j === i ? c : x));
  } else if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      const { [k]: _, ...rest } = o;
      yield rest;
      for (const c of corruptions(o[k])) yield { ...o, [k]: c };
    }
    yield { ...o, extraKeyFromANewerServer: 1 };
  }
}

describe('the JSON Schema checker agrees with zod', () => {
  it('on real replies and events, and on every corruption of them', async () => {
    const { results, events: evs } = await samples();
    expect(results.length).toBeGreaterThan(10);
    expect(new Set(evs.map(([e]) => e))).toEqual(new Set(['task.updated', 'library.changed', 'vm.state', 'shell.intent']));
    let compared = 0;
    let refused = 0;
    const compare = (what: string, z: { ok: boolean }, j: { ok: boolean }, value: unknown) => {
      compared++;
      if (!z.ok) refused++;
      if (z.ok !== j.ok) expect.fail(`${what}: zod ${z.ok ? 'accepts' : 'refuses'} but the JSON checker ${j.ok ? 'accepts' : 'refuses'} ${JSON.stringify(value)}`);
    };
    for (const [name, value] of results) {
      compare(name, zodContractChecker.result(name, value), jsonContractChecker.result(name, value), value);
      expect(jsonContractChecker.result(name, value).ok, `${name} real reply`).toBe(true);
      for (const c of corruptions(value)) compare(name, zodContractChecker.result(name, c), jsonContractChecker.result(name, c), c);
    }
    for (const [name, value] of evs) {
      expect(jsonContractChecker.event(name, value).ok, `${name} real event`).toBe(true);
      for (const c of corruptions(value)) compare(name, zodContractChecker.event(name, c), jsonContractChecker.event(name, c), c);
    }
    // Wire frames (the WebSocket) and errors.
    const frames: unknown[] = [
      { t: 'res', id: 1, ok: true, result: [1, 2] },
      { t: 'res', id: 2, ok: true, result: null },
      { t: 'res', id: 3, ok: false, error: { code: 'NOT_FOUND', message: 'VM "x" does not exist.', fix: 'Check the name.' } },
      { t: 'evt', event: 'vm.state', payload: { name: 'a', state: 'running' } },
    ];
    for (const f of frames) {
      for (const c of [f, ...corruptions(f)]) {
        const z = WireResponseSchema.safeParse(c).success ? 'res' : WireEventSchema.safeParse(c).success ? 'evt' : null;
        compared++;
        expect(readWireFrame(c)?.kind ?? null, JSON.stringify(c)).toBe(z);
      }
    }
    expect(compared).toBeGreaterThan(2000);
    expect(refused).toBeGreaterThan(500);
  });

  it('names the path and the reason of what it refuses', () => {
    const issues = checkJson(JSON.parse(contractSchemaFile()).results['vm.list'], [{ name: 'a', state: 'flying', disk: { apparent: 1, allocated: 'x' }, accessedAt: 'now' }]);
    expect(issues).toEqual([
      { path: '0.state', message: expect.stringMatching(/^expected one of "stopped"/) },
      { path: '0.disk.allocated', message: 'expected number, got string' },
    ]);
  });
});

describe('undefined values (Electron IPC structured clones carry them; JSON never does)', () => {
  it('are judged like zod judges them', () => {
    const vm = { name: 'a', state: 'stopped', disk: { apparent: 1, allocated: 1 }, accessedAt: 'x' };
    const cases: unknown[] = [[{ ...vm, os: undefined }], [{ ...vm, name: undefined }], [{ ...vm, accessedAt: undefined }]];
    for (const c of cases) expect(jsonContractChecker.result('vm.list', c).ok, JSON.stringify(c)).toBe(zodContractChecker.result('vm.list', c).ok);
    const res = { t: 'res', id: 1, ok: true, result: undefined };
    expect(readWireFrame(res)?.kind ?? null).toBe(WireResponseSchema.safeParse(res).success ? 'res' : null);
  });
});
