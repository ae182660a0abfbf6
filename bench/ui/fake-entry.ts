// Installs the in-memory fake bridge as window.nestbox (what the Electron preload would expose), so the built
// renderer can be measured alone: no server, no engine — only rendering cost. Bundled by harness.mjs (esbuild).
import { FakeBridge, fakeImage, manyVms } from '../../app/renderer/src/test/fakeBridge';

const cfg = ((window as any).__nestboxFake ?? {}) as { vms?: number; pullIntervalMs?: number; pullTotalBytes?: number; empty?: boolean };
const bridge = new FakeBridge({
  vms: cfg.empty ? [] : manyVms(cfg.vms ?? 500),
  images: cfg.empty ? [] : [fakeImage('ghcr.io/cirruslabs/debian:latest'), fakeImage('ghcr.io/cirruslabs/ubuntu:22.04')],
  autoPullIntervalMs: cfg.pullIntervalMs ?? 100,
  pullTotalBytes: cfg.pullTotalBytes ?? 2_000_000_000,
  pullLayers: 6,
});
(window as any).nestbox = bridge;
(window as any).__fake = bridge;
