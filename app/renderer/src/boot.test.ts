import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeBridge, manyVms } from './test/fakeBridge';

// boot.ts starts everything when it is imported: each test imports a fresh copy over its own bridge.
describe('boot: the library request goes out before React is loaded', () => {
  afterEach(() => {
    vi.resetModules();
    delete window.nestbox;
  });

  it('asks for the VMs on import, and firstLibrary settles once they are in', async () => {
    const bridge = new FakeBridge({ vms: manyVms(3) });
    window.nestbox = bridge;
    const { stores, firstLibrary } = await import('./boot');
    expect(bridge.calls.map((c) => c.method)).toContain('vm.list');
    await firstLibrary(60_000);
    expect(stores.vms.getState().list.map((v) => v.name)).toEqual(['vm-000', 'vm-001', 'vm-002']);
  });

  it('gives a slow engine a limited time: the page shows without the list, which arrives later', async () => {
    const bridge = new FakeBridge({ vms: manyVms(2) });
    let answer!: () => void;
    const held = new Promise<void>((r) => (answer = r));
    bridge.on('vm.list', async () => {
      await held;
      return manyVms(2);
    });
    window.nestbox = bridge;
    const { stores, firstLibrary } = await import('./boot');
    await firstLibrary(20);
    expect(stores.vms.getState().loaded).toBe(false);
    answer();
    await vi.waitFor(() => expect(stores.vms.getState().list).toHaveLength(2));
  });
});
