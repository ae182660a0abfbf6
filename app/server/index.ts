/** `nestbox serve` (app/server): the renderer over HTTP, the contract over an authenticated WebSocket, VM screens. */
export { startServer, type RunningServer, type ServeOptions } from './server';
export { Auth, FailureLimiter, OriginPolicy, isLoopbackHost } from './auth';
