/**
 * The renderer's one way out: the Electron preload's bridge (window.nestbox) when present, otherwise the
 * WebSocket bridge to `nestbox serve`. Either way the UI talks to the same typed, validated contract client.
 */
import { createClient, type ApiClient, type NestboxBridge } from '../../../api';
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
  return createClient(bridge);
}
