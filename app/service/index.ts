/** The contract implemented over the engine, shared by the Electron main process and `nestbox serve`. */
export { createService, type Service, type ServiceEvents, type ServiceListener, type ServiceOptions } from './service';
export { proxyVnc, VNC_CLOSE, type VncProxy, type VncProxyOptions, type VncTarget } from './vnc-proxy';
export { watchLibrary, type LibraryChange, type LibraryWatcher } from './library-watcher';
