/**
 * The renderer's one way out: the Electron preload's bridge (window.nestbox) when present, otherwise the
 * WebSocket bridge to `nestbox serve`. Either way the UI talks to the same typed, validated contract client.
 */
import type { ApiClient, NestboxBridge } from '../../../api';
// The JSON Schema checks (not zod): the page validates every reply and event without loading zod.
import { createJsonClient } from '../../../api/jsonClient';
import { createWebBridge } from './web';

declare global {
  interface Window {
    /** Exposed by app/preload through contextBridge in the Electron shell. */
    nestbox?: NestboxBridge;
  }
}

export function getBridge(): NestboxBridge {
  return window.nestbox ?? createWebBridge();
}

export function createAppClient(bridge: NestboxBridge = getBridge()): ApiClient {
  return createJsonClient(bridge);
}
