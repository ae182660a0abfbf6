/** The Nestbox API contract: one language for the Electron shell, `nestbox serve`, and the renderer. */
export const API_VERSION = 1;
export * from './models';
export * from './contract';
export * from './wire';
