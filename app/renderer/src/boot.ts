/**
 * The connection and the library request, started before React is evaluated: main.tsx imports this module first, and
 * it needs neither React nor the views, so sign-in, the WebSocket and `vm.list` go out while React's ~50 ms of
 * start-up runs.
 */
import { createAppClient } from './bridge';
import { createStores } from './stores';

export const stores = createStores(createAppClient());
stores.start();

/** Settles once the first list of VMs has arrived (or failed), or after `ms`, whichever comes first. */
export function firstLibrary(ms: number): Promise<void> {
  return new Promise((resolve) => {
    if (stores.vms.getState().loaded) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      off();
      resolve();
    };
    const timer = setTimeout(done, ms);
    const off = stores.vms.subscribe((s) => {
      if (s.loaded) done();
    });
  });
}
