/**
 * The desktop app end to end, with the real Electron binary (Playwright `_electron`): it launches into a secure
 * window showing the library, the tray menu lists the VMs, and a pull shows its progress. Skipped — with the
 * reason — where the Electron binary is not installed (see launch.ts for the check).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newLinuxConfig, serializeConfig } from '../../app/core/library/config';
import { pushTestImage, startRegistry, type StartedRegistry } from '../../test/helpers/registry';
import { appBuilt, electronBinaryAvailable, launchApp, SKIP_REASON, waitFor, type LaunchedApp } from './launch';

const canRun = electronBinaryAvailable() && appBuilt();
const reason = !electronBinaryAvailable() ? SKIP_REASON : 'the app is not built (run `node scripts/build.mjs`)';

type E2EHooks = { trayMenu(): { label?: string; submenu?: { label?: string }[] }[]; trayExists(): boolean; dockProgress(): number };

describe.skipIf(!canRun)(`desktop app (Electron)${canRun ? '' : ` — skipped: ${reason}`}`, () => {
  let home: string;
  let launched: LaunchedApp;
  let registry: StartedRegistry | null = null;

  beforeAll(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'nestbox-e2e-electron-'));
    const dir = path.join(home, 'vms', 'e2e-vm');
    mkdirSync(dir, { recursive: true });
    const cfg = newLinuxConfig({ arch: 'amd64', host: { cpus: 1, memory: 1024 * 1024 * 1024 } });
    writeFileSync(path.join(dir, 'config.json'), serializeConfig(cfg));
    writeFileSync(path.join(dir, 'disk.img'), Buffer.alloc(0));
    writeFileSync(path.join(dir, 'nvram.bin'), Buffer.alloc(0));
    launched = await launchApp({ home });
  });
  afterAll(async () => {
    await launched?.close();
    await registry?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('opens one secure window on the app origin showing the library', async () => {
    const { app, window: page } = launched;
    expect(page.url()).toMatch(/^app:\/\/nestbox\/index\.html/);
    await page.getByText('e2e-vm').first().waitFor({ timeout: 30_000 });
    // The page has no Node and sees only the two exposed objects.
    const globals = await page.evaluate(() => ({
      require: typeof (globalThis as Record<string, unknown>).require,
      process: typeof (globalThis as Record<string, unknown>).process,
      bridge: Object.keys((globalThis as unknown as { nestbox: object }).nestbox).sort(),
      files: Object.keys((globalThis as unknown as { nestboxFiles: object }).nestboxFiles).sort(),
    }));
    expect(globals).toEqual({ require: 'undefined', process: 'undefined', bridge: ['invoke', 'subscribe'], files: ['pathForFile', 'pickFile'] });
    expect(await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().length)).toBe(1);
    // window.open never creates a window (not even of the app itself — an http(s) URL would go to the system
    // browser, which a test must not open); remote content never loads
    await page.evaluate(() => window.open('app://nestbox/index.html'));
    expect(await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().length)).toBe(1);
    const remote = await page.evaluate(() => fetch('https://example.com/').then(() => 'loaded', () => 'blocked'));
    expect(remote).toBe('blocked');
  });

  it('has a tray menu listing the VMs with their state', async () => {
    const { app } = launched;
    expect(await app.evaluate(() => (globalThis as unknown as { __nestboxE2E: E2EHooks }).__nestboxE2E.trayExists())).toBe(true);
    const menu = await waitFor('the tray menu to list e2e-vm', async () => {
      const m = await app.evaluate(() => (globalThis as unknown as { __nestboxE2E: E2EHooks }).__nestboxE2E.trayMenu());
      return m.some((i) => i.label === 'e2e-vm — Stopped') ? m : null;
    });
    const vm = menu.find((i) => i.label === 'e2e-vm — Stopped')!;
    expect(vm.submenu!.map((i) => i.label)).toContain('Start');
    expect(menu.map((i) => i.label)).toEqual(expect.arrayContaining(['Pull Image…', 'Open Nestbox', 'Quit Nestbox']));
  });

  it('shows a pull’s progress in the window, and the task finishes', async () => {
    const { window: page } = launched;
    registry = await startRegistry();
    const disk = Buffer.alloc(48 * 1024 * 1024);
    for (let i = 0; i < disk.length; i += 4096) disk[i] = (i / 4096) & 0xff;
    await pushTestImage(registry.host, 'e2e/img:v1', disk, { layerSize: 4 * 1024 * 1024, os: 'linux' });
    const reference = `${registry.host}/e2e/img:v1`;
    const out = (await page.evaluate(
      (ref) => (globalThis as unknown as { nestbox: { invoke(m: string, p: unknown): Promise<unknown> } }).nestbox.invoke('image.pull', { reference: ref, insecure: true }),
      reference,
    )) as { ok: boolean; result?: { taskId: string } };
    expect(out.ok).toBe(true);
    await page.evaluate(() => (location.hash = '#/tasks'));
    await page.getByText(/e2e\/img:v1/).first().waitFor({ timeout: 30_000 });
    await waitFor('the pull to finish', async () => {
      const tasks = (await page.evaluate(() => (globalThis as unknown as { nestbox: { invoke(m: string, p: unknown): Promise<{ ok: boolean; result: { id: string; state: string }[] }> } }).nestbox.invoke('task.list', {}))).result;
      const t = tasks.find((x) => x.id === out.result!.taskId);
      return t && t.state !== 'running' ? t : null;
    }, 120_000).then((t) => expect(t.state).toBe('done'));
  });
});
