import { afterEach, describe, expect, it } from 'vitest';
import { FakeBridge, fakeVm } from '../test/fakeBridge';
import { makeStores } from '../test/render';
import { hashFromRoute, routeFromHash } from './index';

const tick = () => new Promise((r) => setTimeout(r, 0));
async function until(f: () => boolean, ms = 2000) {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('stores', () => {
  let stop: (() => void) | undefined;
  afterEach(() => stop?.());

  it('load everything on start and keep VMs fresh from vm.state and library.changed events', async () => {
    const { fake, stores } = makeStores({ vms: [fakeVm('a'), fakeVm('b')] });
    stop = stores.start();
    await until(() => stores.vms.getState().loaded && !!stores.host.getState().info);
    expect(stores.vms.getState().list.map((v) => v.name)).toEqual(['a', 'b']);

    fake.emit('vm.state', { name: 'b', state: 'running' });
    expect(stores.vms.getState().list[1]!.state).toBe('running');

    fake.vms.push(fakeVm('c'));
    fake.emit('library.changed', { scope: 'vms', names: ['c'] });
    await until(() => stores.vms.getState().list.length === 3);
  });

  it('coalesce a burst of library.changed events into at most two list requests', async () => {
    const { fake, stores } = makeStores({ vms: [fakeVm('a')] });
    stop = stores.start();
    await until(() => stores.vms.getState().loaded);
    const before = fake.calls.filter((c) => c.method === 'vm.list').length;
    for (let i = 0; i < 20; i++) fake.emit('library.changed', { scope: 'vms' });
    await until(() => fake.calls.filter((c) => c.method === 'vm.list').length >= before + 1);
    await tick();
    await tick();
    expect(fake.calls.filter((c) => c.method === 'vm.list').length - before).toBeLessThanOrEqual(2);
  });

  it('track tasks from events and resume a failed pull with the same options', async () => {
    const fake = new FakeBridge();
    const { stores } = makeStores(fake);
    stop = stores.start();
    const id = await stores.tasks.getState().pull({ reference: '127.0.0.1:5000/ns/img:1', insecure: true });
    expect(stores.tasks.getState().byId[id]!.state).toBe('running');
    fake.advancePull(id, 100_000_000);
    expect(stores.tasks.getState().byId[id]!.progress.done).toBe(100_000_000);
    fake.failTask(id, { code: 'NETWORK', message: 'Connection reset while downloading layer 2.' });
    expect(stores.tasks.getState().byId[id]!.state).toBe('failed');
    expect(stores.ui.getState().toasts.at(-1)).toMatchObject({ tone: 'error', description: 'Connection reset while downloading layer 2.' });

    const next = await stores.tasks.getState().retry(id);
    expect(next).not.toBe(id);
    expect(fake.calls.filter((c) => c.method === 'image.pull').at(-1)!.params).toEqual({ reference: '127.0.0.1:5000/ns/img:1', insecure: true });
    expect(stores.tasks.getState().hidden[id]).toBe(true);
  });

  it('follow the desktop shell\'s intents', async () => {
    const { fake, stores } = makeStores({ vms: [fakeVm('a')] });
    stop = stores.start();
    fake.emit('shell.intent', { kind: 'pull' });
    expect(stores.ui.getState().dialog).toEqual({ kind: 'pull' });
    fake.emit('shell.intent', { kind: 'show-vm', name: 'a', screen: true });
    expect(stores.ui.getState().route).toEqual({ view: 'vm', name: 'a', tab: 'screen' });
    expect(stores.ui.getState().selected).toBe('a');
    fake.emit('shell.intent', { kind: 'show-task', taskId: 't1' });
    expect(stores.ui.getState().route).toEqual({ view: 'tasks' });
  });

  it('map routes to hashes and back', () => {
    for (const r of [{ view: 'library' }, { view: 'images' }, { view: 'tasks' }, { view: 'vm', name: 'my vm/2', tab: 'settings' }] as const) {
      expect(routeFromHash(hashFromRoute(r))).toEqual(r.view === 'vm' ? r : { view: r.view });
    }
    expect(routeFromHash('#token=abc')).toEqual({ view: 'library' });
  });
});
