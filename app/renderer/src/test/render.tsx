import { configure, render, type RenderResult } from '@testing-library/react';
import type { ReactNode } from 'react';
// The client the page ships: replies and events checked against the generated JSON Schema.
import { createJsonClient as createClient } from '../../../api/jsonClient';
import { createStores, type Stores } from '../stores';
import { StoresProvider } from '../stores/react';
import { App } from '../App';
import { FakeBridge, type FakeOptions } from './fakeBridge';

// Dialogs and secondary views load lazily; on a busy machine the first import can take more than a second.
configure({ asyncUtilTimeout: 5000 });

export interface Harness extends RenderResult {
  fake: FakeBridge;
  stores: Stores;
}

export function makeStores(opts: FakeOptions | FakeBridge = {}): { fake: FakeBridge; stores: Stores } {
  const fake = opts instanceof FakeBridge ? opts : new FakeBridge(opts);
  return { fake, stores: createStores(createClient(fake)) };
}

/** The whole app over a fake bridge. */
export function renderApp(opts: FakeOptions | FakeBridge = {}): Harness {
  const { fake, stores } = makeStores(opts);
  const r = render(<App stores={stores} />);
  return { ...r, fake, stores };
}

/** One component with started stores (events flowing) over a fake bridge. */
export function renderWith(ui: (stores: Stores) => ReactNode, opts: FakeOptions | FakeBridge = {}): Harness {
  const { fake, stores } = makeStores(opts);
  stores.start();
  const r = render(<StoresProvider stores={stores}>{ui(stores)}</StoresProvider>);
  return { ...r, fake, stores };
}
