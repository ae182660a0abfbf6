/**
 * The UI end to end, in Debian's Chromium (playwright-core) against a real `nestbox serve` on a temp TART_HOME:
 * VMs created with the CLI, a real docker-registry (behind a throttling proxy so a pull takes a few seconds and its
 * progress can be watched), the engine's pull/clone/set, and the amd64 test guest under QEMU with its screen in noVNC.
 * Every screen is saved under e2e/artifacts/ for reviewers.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { PNG } from 'pngjs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NESTBOX_BIN, ROOT, nestbox, tempHome, waitFor, type TempHome } from '../../test/helpers';
import { pushTestImage, startRegistry, type StartedRegistry } from '../../test/helpers/registry';
import { makeGuestVm, GUEST_BANNER } from '../../test/guests/build';
import { launchChromium } from '../../test/helpers/chromium.mjs';

const ARTIFACTS = path.join(ROOT, 'e2e', 'artifacts');
const IMAGE_BYTES = 24 * 1024 * 1024;
const THROTTLE_BYTES_PER_SECOND = 5 * 1000 * 1000;

let home: TempHome;
let reg: StartedRegistry;
let proxy: ThrottleProxy;
let serve: { proc: ChildProcess; url: string; stderr: () => string };
let browser: Browser;
let ctx: BrowserContext;
let page: Page;
let imageRef: string;
const pageErrors: string[] = [];
const cspViolations: string[] = [];

// ---------- helpers ----------

interface ThrottleProxy {
  host: string;
  /** Blob bytes forwarded so far. */
  served(): number;
  stop(): Promise<void>;
}

/** Forwards to the registry; blob downloads are paced to `rate` bytes per second (a slow network, in-process). */
function startThrottleProxy(targetPort: number, rate: number): Promise<ThrottleProxy> {
  let served = 0;
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    const up = http.request({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      if (!(req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? ''))) return void r.pipe(res);
      r.on('data', (chunk: Buffer) => {
        served += chunk.length;
        res.write(chunk);
        r.pause();
        setTimeout(() => r.resume(), (chunk.length / rate) * 1000);
      });
      r.on('end', () => res.end());
    });
    up.on('error', () => res.destroy());
    res.on('close', () => up.destroy());
    req.pipe(up);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        host: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
        served: () => served,
        stop: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      }),
    ),
  );
}

function startServe(env: NodeJS.ProcessEnv): Promise<{ proc: ChildProcess; url: string; stderr: () => string }> {
  const proc = spawn(process.execPath, [NESTBOX_BIN, 'serve', '--listen', '127.0.0.1:0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nestbox serve printed no URL in 20 s: ${err}`)), 20_000);
    proc.on('exit', (code) => reject(new Error(`nestbox serve exited (${code}): ${err}`)));
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /Nestbox is serving at (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, url: m[1]!, stderr: () => err });
      }
    });
  });
}

async function shot(name: string): Promise<void> {
  // Finished animations: a dialog caught mid-fade would mislead a reviewer.
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), animations: 'disabled' });
}

function qemuPids(): number[] {
  try {
    return execFileSync('pgrep', ['-f', `qemu-system.*${home.root}`], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function readConfig(vm: string): Record<string, any> {
  return JSON.parse(readFileSync(path.join(home.root, 'vms', vm, 'config.json'), 'utf8'));
}

/** Bright (text) and dark (background) pixels of a PNG. */
function pixels(png: Buffer): { bright: number; dark: number; total: number } {
  const img = PNG.sync.read(png);
  let bright = 0;
  let dark = 0;
  for (let i = 0; i < img.data.length; i += 4) {
    const l = (img.data[i]! + img.data[i + 1]! + img.data[i + 2]!) / 3;
    if (l > 140) bright++;
    else if (l < 40) dark++;
  }
  return { bright, dark, total: img.width * img.height };
}

async function goto(section: 'Library' | 'Images' | 'Tasks'): Promise<void> {
  await page.getByRole('navigation', { name: 'Sections' }).getByRole('button', { name: section }).click();
}

// ---------- setup ----------

beforeAll(async () => {
  for (const f of [path.join(ROOT, 'dist', 'renderer', 'index.html'), path.join(ROOT, 'dist', 'cli', 'main.js')]) {
    if (!existsSync(f)) throw new Error(`${f} is missing: run "node scripts/build.mjs" first`);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  home = tempHome('nestbox-ui-e2e-');
  reg = await startRegistry();
  proxy = await startThrottleProxy(reg.port, THROTTLE_BYTES_PER_SECOND);
  // Incompressible, so the pull really moves IMAGE_BYTES through the slow proxy; 3 MiB layers.
  await pushTestImage(reg.host, 'e2e/small:1', randomBytes(IMAGE_BYTES), { layerSize: 3 * 1024 * 1024 });
  imageRef = `${proxy.host}/e2e/small:1`;
  serve = await startServe(home.env);
  browser = await launchChromium();
  ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
  // The clipboard sync reads and writes this computer's clipboard (a user grants this to the page once).
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(serve.url).origin });
  page = await ctx.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/.test(m.text()) && !/frame-ancestors' is ignored/.test(m.text())) cspViolations.push(m.text());
  });
  page.setDefaultTimeout(20_000);
  await page.goto(serve.url);
});

afterAll(async () => {
  await ctx?.close().catch(() => {});
  await browser?.close().catch(() => {});
  // `serve` leaves running VMs running (like the desktop app): stop the guest first.
  if (home && qemuPids().length) await nestbox(['stop', 'guest', '--timeout', '5'], home.env).catch(() => {});
  for (const pid of home ? qemuPids() : []) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  if (serve?.proc.exitCode === null) {
    serve.proc.kill('SIGTERM');
    await new Promise((r) => {
      const t = setTimeout(() => (serve.proc.kill('SIGKILL'), r(null)), 5000);
      serve.proc.on('exit', () => (clearTimeout(t), r(null)));
    });
  }
  await proxy?.stop();
  await reg?.stop();
  home?.cleanup();
});

// ---------- flows ----------

describe('Nestbox UI in Chromium on nestbox serve', () => {
  it('shows the empty library, then VMs created through the CLI appear without a reload', async () => {
    await page.getByText('No virtual machines yet').waitFor();
    await shot('library-empty');

    expect((await nestbox(['create', '--linux', 'alpha', '--disk-size', '2'], home.env)).code).toBe(0);
    expect((await nestbox(['create', '--linux', 'beta', '--disk-size', '3', '--cpu', '1', '--memory', '1024'], home.env)).code).toBe(0);
    const alpha = page.getByRole('listitem', { name: 'alpha' });
    const beta = page.getByRole('listitem', { name: 'beta' });
    await alpha.waitFor();
    await beta.waitFor();
    expect(await beta.textContent()).toContain('1 CPU');
    expect(await beta.textContent()).toContain('1 GB');
    expect(await beta.textContent()).toContain('Stopped');
    expect(await page.getByText('2 VMs').textContent()).toBe('2 VMs');
    await shot('library');

    // Right-click → Rename (a real rename on disk).
    await alpha.click({ button: 'right' });
    await page.getByRole('menu', { name: 'Actions for alpha' }).waitFor();
    await shot('context-menu');
    await page.getByRole('menuitem', { name: 'Rename…' }).click();
    await page.getByLabel('New name').fill('alpha-renamed');
    await page.getByRole('button', { name: 'Rename', exact: true }).click();
    await page.getByRole('listitem', { name: 'alpha-renamed' }).waitFor();
    expect(existsSync(path.join(home.root, 'vms', 'alpha-renamed', 'config.json'))).toBe(true);
    expect(existsSync(path.join(home.root, 'vms', 'alpha'))).toBe(false);

    // Right-click → Delete, with a confirmation naming what will be lost.
    await beta.click({ button: 'right' });
    await page.getByRole('menuitem', { name: 'Delete…' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete “beta”?' });
    expect(await confirm.textContent()).toContain('permanently deletes the VM’s disk');
    await shot('delete-confirm');
    await confirm.getByRole('button', { name: 'Delete beta' }).click();
    await waitFor('beta to leave the library', async () => (await page.getByRole('listitem', { name: 'beta' }).count()) === 0, 10_000);
    // Gone from disk too (on failure, the listing shows what was left behind).
    const betaDir = path.join(home.root, 'vms', 'beta');
    expect(existsSync(betaDir) ? execFileSync('ls', ['-laR', betaDir], { encoding: 'utf8' }) : '').toBe('');
  });

  it('creates a Linux VM from the New VM dialog with defaults that fit the host', async () => {
    await page.getByRole('button', { name: 'New VM' }).click();
    const dialog = page.getByRole('dialog', { name: 'New virtual machine' });
    await page.getByRole('tab', { name: 'macOS' }).click();
    expect(await dialog.textContent()).toContain('macOS guests cannot run on this host');
    await shot('create-macos');
    await page.getByRole('tab', { name: 'Linux' }).click();
    await dialog.getByLabel('Name').fill('made-in-ui');
    await dialog.getByLabel('Disk size (GB)').fill('2');
    await dialog.getByLabel('CPUs').fill('99');
    expect(await dialog.getByRole('alert').textContent()).toMatch(/^At most \d+: this host has \d+ CPUs\.$/);
    await dialog.getByLabel('CPUs').fill('1');
    await shot('create');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('listitem', { name: 'made-in-ui' }).waitFor({ timeout: 60_000 });
    const cfg = readConfig('made-in-ui');
    expect(cfg.os).toBe('linux');
    expect(cfg.cpuCount).toBe(1);
  });

  it('pulls from the local registry: validation as you type, a progress bar that moves, cancel, resume, a cached image', async () => {
    await page.getByRole('button', { name: 'Pull image' }).click();
    const dialog = page.getByRole('dialog', { name: 'Pull image' });
    const input = dialog.getByLabel('Image reference');
    await input.fill('debian');
    expect(await dialog.getByRole('alert').textContent()).toContain('Add the registry host');
    await input.fill(`${proxy.host}/e2e/small@sha256:1234`);
    await waitFor('the engine to refuse the digest', async () => /is not a valid sha256 digest/.test((await dialog.getByRole('alert').textContent().catch(() => '')) ?? ''), 10_000);
    await shot('pull-validation');
    await input.fill(imageRef);
    const pull = dialog.getByRole('button', { name: 'Pull', exact: true });
    await waitFor('Pull to be enabled', () => pull.isEnabled(), 10_000);
    expect(await dialog.getByRole('checkbox', { name: /plain HTTP/ }).isChecked()).toBe(true);
    await pull.click();

    const bar = dialog.getByRole('progressbar').first();
    const seen: number[] = [];
    await waitFor(
      'the pull to pass 40%',
      async () => {
        const v = Number((await bar.getAttribute('aria-valuenow')) ?? NaN);
        if (Number.isFinite(v) && v !== seen.at(-1)) seen.push(v);
        return v >= 40;
      },
      90_000,
    );
    // The bar moved through several values, never backwards.
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    expect(await dialog.textContent()).toMatch(/MB of \d+(\.\d)? MB/);
    await dialog.getByRole('button', { name: /Show layer details/ }).click();
    await shot('pull-progress');

    await dialog.getByRole('button', { name: 'Cancel', exact: true }).click();
    const resume = dialog.getByRole('button', { name: /^(Resume|Retry)$/ });
    await resume.waitFor();
    const servedAtCancel = proxy.served();
    expect(servedAtCancel).toBeLessThan(IMAGE_BYTES);
    await shot('pull-cancelled');

    await resume.click();
    await dialog.getByRole('button', { name: 'Clone to new VM' }).waitFor({ timeout: 120_000 });
    expect(await dialog.getByRole('progressbar').first().getAttribute('aria-valuenow')).toBe('100');
    // Resumed, not restarted: the second run fetched less than the whole image again.
    expect(proxy.served() - servedAtCancel).toBeLessThan(IMAGE_BYTES);
    await shot('pull-done');

    // "Clone to new VM" straight from the finished pull.
    await dialog.getByRole('button', { name: 'Clone to new VM' }).click();
    const clone = page.getByRole('dialog', { name: 'Clone to new VM' });
    expect(await clone.getByLabel('New VM name').inputValue()).toBe('small');
    await clone.getByLabel('New VM name').fill('pulled');
    await shot('clone');
    await clone.getByRole('button', { name: 'Clone', exact: true }).click();

    await goto('Images');
    const row = page.getByRole('row', { name: `${proxy.host}/e2e/small:1` });
    await row.waitFor();
    await shot('images');
    expect(existsSync(path.join(home.root, 'cache', 'OCIs', proxy.host.replace(':', '%3A'), 'e2e', 'small', '1'))).toBe(true);
  });

  it('shows the clone in the library and edits its settings; invalid values are refused with the reason', async () => {
    await goto('Tasks');
    await page.getByRole('article', { name: /^Clone .*small:1 to pulled$/ }).waitFor();
    await waitFor('the clone to finish', async () => (await page.getByRole('button', { name: 'Open pulled' }).count()) > 0, 120_000);
    await shot('tasks');
    await page.getByRole('button', { name: 'Open pulled' }).click();
    await page.getByRole('tab', { name: 'Settings' }).click();
    const form = page.getByRole('form', { name: 'Settings of pulled' });
    const save = form.getByRole('button', { name: 'Save' });

    const before = readConfig('pulled');
    await form.getByLabel('CPUs', { exact: true }).fill('999');
    expect(await form.getByRole('alert').first().textContent()).toMatch(/^At most \d+ CPUs: this host allows at most \d+\.$/);
    expect(await save.isDisabled()).toBe(true);
    await form.getByLabel('CPUs', { exact: true }).fill('1');
    await form.getByLabel('Memory (MB)', { exact: true }).fill('16');
    expect(await form.getByRole('alert').first().textContent()).toMatch(/^At least \d+ MB: /);
    const currentGB = Math.ceil(Number((await form.getByLabel('Disk size (GB)').inputValue())));
    await form.getByLabel('Memory (MB)', { exact: true }).fill('512');
    await form.getByLabel('Disk size (GB)').fill(String(Math.max(0, currentGB - 1)));
    expect(await form.getByRole('alert').first().textContent()).toMatch(/^Disks can only grow/);
    expect(await save.isDisabled()).toBe(true);
    await shot('settings-invalid');
    // Nothing reached the disk.
    expect(readConfig('pulled')).toEqual(before);

    await form.getByLabel('Disk size (GB)').fill(String(currentGB + 1));
    await form.getByLabel('Display width').fill('1280');
    await form.getByLabel('Display height').fill('800');
    await save.click();
    await page.getByText('Saved the settings of pulled', { exact: true }).waitFor();
    const after = readConfig('pulled');
    expect(after.memorySize).toBe(512 * 1024 * 1024);
    expect(after.cpuCount).toBe(1);
    expect(after.display).toMatchObject({ width: 1280, height: 800 });
    await shot('settings-saved');
  });

  it('pushes a VM to the registry from its menu, and the registry has the tag', async () => {
    await goto('Library');
    await page.getByRole('button', { name: 'More actions for pulled' }).click();
    await page.getByRole('menuitem', { name: 'Push to registry…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Push pulled' });
    await dialog.getByLabel('Target reference').fill(`${reg.host}/e2e/pushed:1`);
    await shot('push');
    await dialog.getByRole('button', { name: 'Push', exact: true }).click();
    await goto('Tasks');
    const card = page.getByRole('article', { name: `Push pulled to ${reg.host}/e2e/pushed:1` });
    await waitFor('the push to finish', async () => (await card.textContent())?.includes('Finished'), 120_000);
    const tags = await new Promise<string>((resolve, reject) =>
      http.get(`${reg.url}/v2/e2e/pushed/tags/list`, (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => resolve(b));
      }).on('error', reject),
    );
    expect(JSON.parse(tags)).toEqual({ name: 'e2e/pushed', tags: ['1'] });
  });

  it('runs the amd64 test guest with its screen in the noVNC canvas: typed keys and text, the clipboard both ways, full screen, Ctrl-Alt-Del, stop, and a reconnect after a restart', async () => {
    await makeGuestVm(home.root, 'guest', 'amd64');
    await goto('Library');
    await page.getByRole('listitem', { name: 'guest' }).waitFor();
    await page.getByRole('button', { name: 'Open guest' }).click();
    // QEMU 7.2 cannot suspend a VM with the clipboard port, so "Automatic" leaves it off here: ask for it.
    await page.getByRole('tab', { name: 'Settings' }).click();
    await page.getByLabel('Clipboard sharing').selectOption('on');
    await page.getByRole('tab', { name: 'Screen' }).click();
    await page.getByRole('button', { name: 'Start guest' }).click();
    await page.locator('.vm-title .badge[data-state="running"]').waitFor({ timeout: 60_000 });
    const status = page.getByTestId('screen-status');
    await waitFor('the screen to connect', async () => (await status.textContent()) === 'Connected', 60_000);
    const canvas = page.locator('.screen canvas');
    await canvas.waitFor();

    // The guest draws a big "NESTBOX" in '#' on tty1: wait for text pixels on a dark console.
    const serialPath = path.join(home.root, 'vms', 'guest', 'nestbox-serial.log');
    await waitFor('the guest banner on serial', () => existsSync(serialPath) && readFileSync(serialPath, 'utf8').includes(GUEST_BANNER), 120_000);
    const shotPixels = await waitFor(
      'text on the screen',
      async () => {
        const p = pixels(await canvas.screenshot());
        return p.bright > p.total * 0.005 && p.dark > p.total * 0.5 ? p : null;
      },
      30_000,
    );
    expect(shotPixels.bright).toBeGreaterThan(0);
    await shot('vm-console');

    // Type into the guest through noVNC (unshifted text; '>' with an explicit Shift) and read the effect on serial.
    await canvas.click();
    await page.keyboard.type('echo nestboxtyped ', { delay: 30 });
    await page.keyboard.press('Shift+Period');
    await page.keyboard.type(' /dev/console', { delay: 30 });
    await page.keyboard.press('Enter');
    await waitFor('the command on the screen', async () => pixels(await canvas.screenshot()).bright > shotPixels.bright, 15_000);
    await shot('vm-console-typed');
    await page.getByRole('tab', { name: 'Serial console' }).click();
    const log = page.getByRole('log', { name: 'Serial console output' });
    await waitFor('the typed command\'s output on the serial console', async () => ((await log.textContent()) ?? '').includes('nestboxtyped'), 30_000);
    // And the other way: a line sent from the serial input runs in the guest's serial shell.
    await page.getByLabel('Serial input').fill('echo serial-$((6*7))');
    await page.getByLabel('Serial input').press('Enter');
    await waitFor('the serial shell to answer', async () => ((await log.textContent()) ?? '').includes('serial-42'), 30_000);
    await shot('vm-serial');

    // Text to the guest without a clipboard agent: typed as keystrokes (keysyms) through noVNC.
    await page.getByRole('tab', { name: 'Screen' }).click();
    await waitFor('the screen to reconnect to its tab', async () => (await status.textContent()) === 'Connected', 30_000);
    await page.getByRole('button', { name: 'Clipboard' }).click();
    const clip = page.getByRole('dialog', { name: 'Clipboard' });
    await clip.getByLabel('To the guest').fill('echo viaclipboard > /dev/console\n');
    await shot('vm-clipboard');
    await clip.getByRole('button', { name: 'Type it into the guest' }).click();
    await waitFor('the typed text to run in the guest', () => readFileSync(serialPath, 'utf8').includes('viaclipboard'), 30_000);

    // The clipboard through the guest's SPICE agent (test/guests/clip-agent.c stands in for spice-vdagent): the guest
    // copies "from-guest-42" and it shows in the dialog; text sent from the dialog arrives in the guest's clipboard.
    await page.getByRole('button', { name: 'Clipboard' }).click();
    await clip.getByLabel('To the guest').fill('nestbox-clip from-guest-$((6*7)) > /dev/console &\n');
    await clip.getByRole('button', { name: 'Type it into the guest' }).click();
    await waitFor('the guest clipboard agent', () => readFileSync(serialPath, 'utf8').includes('NESTBOX-CLIP-AGENT ready'), 30_000);
    await page.getByRole('button', { name: 'Clipboard' }).click();
    await waitFor('the guest\'s clipboard in the dialog', async () => (await clip.getByLabel('From the guest').inputValue()) === 'from-guest-42', 30_000);
    // Synced automatically: it is on this computer's clipboard too.
    expect(await clip.getByRole('checkbox', { name: /Sync automatically/ }).isChecked()).toBe(true);
    await waitFor('the guest\'s text on the host clipboard', async () => (await page.evaluate(() => navigator.clipboard.readText())) === 'from-guest-42', 10_000);
    await clip.getByLabel('To the guest').fill('to-guest-text');
    await clip.getByRole('button', { name: 'Send to guest clipboard' }).click();
    await waitFor('the text in the guest\'s clipboard', () => readFileSync(serialPath, 'utf8').includes('NESTBOX-CLIP-IN to-guest-text'), 30_000);
    await shot('vm-clipboard-agent');
    await clip.getByRole('button', { name: 'Done' }).click();
    // And the other way by itself: something copied on this computer reaches the guest when the pointer returns to its screen.
    await page.evaluate(() => navigator.clipboard.writeText('host-copied-77'));
    await page.mouse.move(5, 5);
    await canvas.hover();
    await waitFor('the host clipboard in the guest', () => readFileSync(serialPath, 'utf8').includes('NESTBOX-CLIP-IN host-copied-77'), 30_000);
    // A page not yet allowed to read the clipboard never triggers a prompt by itself: the dialog offers to allow it.
    await ctx.clearPermissions();
    await page.getByRole('button', { name: 'Clipboard' }).click();
    const allow = clip.getByRole('button', { name: 'Allow clipboard access' });
    await allow.waitFor();
    await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(serve.url).origin });
    await allow.click();
    await allow.waitFor({ state: 'detached' });
    await clip.getByRole('button', { name: 'Done' }).click();

    // With the agent connected, this QEMU cannot save the VM: suspend says why and how, and the VM keeps running.
    await page.getByRole('toolbar', { name: 'VM controls' }).getByRole('button', { name: 'Suspend' }).click();
    await page.getByText(/clipboard agent \(spice-vdagent\) is connected/).first().waitFor({ timeout: 60_000 });
    await page.locator('.vm-title .badge[data-state="running"]').waitFor();

    // Full screen: the screen fills the window, scaled up, and comes back out.
    const before = (await canvas.boundingBox())!;
    await page.getByRole('button', { name: 'Full screen' }).click();
    await waitFor('full screen', () => page.evaluate(() => document.fullscreenElement?.classList.contains('screen-wrap') === true), 10_000);
    await waitFor('the screen scaled up to the window', async () => ((await canvas.boundingBox())?.height ?? 0) > before.height + 20, 10_000);
    await shot('vm-fullscreen');
    await page.getByRole('button', { name: 'Exit full screen' }).click();
    await waitFor('full screen to end', () => page.evaluate(() => document.fullscreenElement === null), 10_000);

    // Ctrl-Alt-Del reaches the guest kernel, which reboots: a second boot banner on the serial console.
    const banners = () => readFileSync(serialPath, 'utf8').split(GUEST_BANNER).length - 1;
    expect(banners()).toBe(1);
    await page.getByRole('button', { name: 'Send Ctrl-Alt-Del' }).click();
    await waitFor('the guest to reboot', () => banners() === 2, 120_000);

    const stop = async () => {
      await page.getByRole('toolbar', { name: 'VM controls' }).getByRole('button', { name: 'Stop' }).click();
      await page.locator('.vm-title .badge[data-state="stopped"]').waitFor({ timeout: 90_000 });
      await waitFor('QEMU to exit', () => qemuPids().length === 0, 30_000);
    };
    await stop();
    await shot('vm-stopped');

    // Started again, the screen reconnects by itself.
    await page.getByRole('toolbar', { name: 'VM controls' }).getByRole('button', { name: 'Start' }).click();
    await page.locator('.vm-title .badge[data-state="running"]').waitFor({ timeout: 60_000 });
    await waitFor('the screen to reconnect after the restart', async () => (await status.textContent()) === 'Connected', 60_000);
    await waitFor('text on the screen again', async () => pixels(await canvas.screenshot()).bright > 0, 60_000);
    await stop();
  });

  it('follows the OS into dark mode; the page raised no errors and no CSP violations', async () => {
    const dark = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'dark' });
    try {
      const p = await dark.newPage();
      p.on('pageerror', (e) => pageErrors.push(e.message));
      // A new sign-in needs the token URL; the cookie of the other context does not carry over.
      await p.goto(serve.url);
      await p.getByRole('listitem', { name: 'guest' }).waitFor();
      const bg = await p.evaluate(() => getComputedStyle(document.body).backgroundColor);
      expect(bg).toBe('rgb(28, 28, 30)');
      await p.screenshot({ path: path.join(ARTIFACTS, 'library-dark.png') });
    } finally {
      await dark.close();
    }
    expect(pageErrors).toEqual([]);
    expect(cspViolations).toEqual([]);
  });
});
