/**
 * Sandboxed preload (app/preload): exposes exactly the contract's bridge as `window.nestbox` — `invoke` and
 * `subscribe`, nothing else; no ipcRenderer, no Node. Bundled by esbuild into dist/preload/preload.js
 * (scripts/build.mjs); it imports nothing at run time but `electron`, since a sandboxed preload cannot
 * require local files.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { InvokeOutcome, NestboxBridge } from '../api/wire';

// The same strings as ./channels.ts (which main imports). Inlined — not imported — so that even the plain tsc
// output of this file (`scripts/build.mjs node`) is a valid sandboxed preload; preload.test.ts checks they match.
const INVOKE_CHANNEL = 'nestbox:invoke';
const EVENT_CHANNEL = 'nestbox:event';

const bridge: NestboxBridge = {
  invoke(method: string, params: unknown): Promise<InvokeOutcome> {
    return ipcRenderer.invoke(INVOKE_CHANNEL, String(method), params ?? {}) as Promise<InvokeOutcome>;
  },
  subscribe(listener: (event: string, payload: unknown) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('nestbox.subscribe needs a function');
    // The IpcRendererEvent (which carries `sender`, i.e. ipcRenderer) never reaches the page.
    const handler = (_e: IpcRendererEvent, event: unknown, payload: unknown) => {
      if (typeof event === 'string') listener(event, payload);
    };
    ipcRenderer.on(EVENT_CHANNEL, handler);
    return () => {
      ipcRenderer.removeListener(EVENT_CHANNEL, handler);
    };
  },
};

contextBridge.exposeInMainWorld('nestbox', bridge);
