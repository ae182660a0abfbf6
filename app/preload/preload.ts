/**
 * Sandboxed preload (app/preload). Exposes two things and nothing else — no ipcRenderer, no Node:
 *  - `window.nestbox`: the contract's bridge (NestboxBridge: `invoke` and `subscribe`);
 *  - `window.nestboxFiles`: the host path of a File the user dropped on the page (webUtils.getPathForFile)
 *    and a native "Choose…" dialog (NestboxFiles in app/renderer/src/lib/files.ts). Both only reveal paths
 *    the user chose.
 * Bundled by esbuild into dist/preload/preload.js (scripts/build.mjs); it imports nothing at run time but
 * `electron`, since a sandboxed preload cannot require local files.
 */
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import type { InvokeOutcome, NestboxBridge } from '../api/wire';

// The same strings as ./channels.ts (which main imports). Inlined — not imported — so that even the plain tsc
// output of this file (`scripts/build.mjs node`) is a valid sandboxed preload; preload.test.ts checks they match.
const INVOKE_CHANNEL = 'nestbox:invoke';
const EVENT_CHANNEL = 'nestbox:event';
const PICK_FILE_CHANNEL = 'nestbox:pick-file';

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

type DroppedFile = Parameters<typeof webUtils.getPathForFile>[0];

const files = {
  pathForFile(file: DroppedFile): string {
    return webUtils.getPathForFile(file);
  },
  pickFile(opts: { title?: string; extensions?: string[] } = {}): Promise<string | null> {
    return ipcRenderer.invoke(PICK_FILE_CHANNEL, { title: opts.title, extensions: opts.extensions }) as Promise<string | null>;
  },
};

contextBridge.exposeInMainWorld('nestbox', bridge);
contextBridge.exposeInMainWorld('nestboxFiles', files);
