/** Sandboxed preload: exposes the contract's client via contextBridge (app/preload). */
export {};
