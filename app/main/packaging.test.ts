/**
 * Packaging cannot run here (electron-builder downloads Electron), so this checks what it would consume:
 * electron-builder.yml against electron-builder's own JSON schema, every file it names, the entitlements,
 * the icons' pixels, and the afterPack fuse step run by the real @electron/fuses on a file carrying a fuse wire.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { OPENABLE_EXTENSIONS } from './file-open';
import { URL_SCHEME } from './url-scheme';

const ROOT = path.resolve(__dirname, '..', '..');
// electron-builder's own YAML parser and schema validator (resolved from app-builder-lib, so hoisting cannot
// hand us eslint's older Ajv).
const builderRequire = createRequire(require.resolve('app-builder-lib/package.json'));
const yaml = builderRequire('js-yaml') as { load(text: string): unknown };
const Ajv = builderRequire('ajv') as new (o: object) => { addKeyword(k: object): void; compile(s: object): ((d: unknown) => boolean) & { errors?: { instancePath: string; message?: string; params: unknown }[] | null } };
const at = (p: string) => path.join(ROOT, p);
const config = yaml.load(readFileSync(at('electron-builder.yml'), 'utf8')) as Record<string, any>;

describe('electron-builder.yml', () => {
  it("is valid against electron-builder's schema (no unknown or mistyped keys)", () => {
    const schema = JSON.parse(readFileSync(at('node_modules/app-builder-lib/scheme.json'), 'utf8'));
    const ajv = new Ajv({ strict: false, allErrors: true });
    ajv.addKeyword({ keyword: 'typeof' }); // electron-builder's schema marks function-typed options this way
    const validate = ajv.compile(schema);
    const ok = validate(config);
    expect(ok ? [] : validate.errors!.map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`)).toEqual([]);
  });

  it('names only files that exist', () => {
    expect(existsSync(at(config.afterPack))).toBe(true);
    expect(existsSync(at(config.mac.entitlements))).toBe(true);
    expect(existsSync(at(config.mac.entitlementsInherit))).toBe(true);
    expect(existsSync(at(config.mac.icon))).toBe(true);
    expect(statSync(at(config.linux.icon)).isDirectory()).toBe(true);
    expect(statSync(at(config.directories.buildResources)).isDirectory()).toBe(true);
    for (const pattern of (config.files as string[]).filter((f) => f.startsWith('assets/'))) {
      const re = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*') + '$');
      const matches = readdirSync(at('assets')).map((f) => `assets/${f}`).filter((f) => re.test(f));
      expect(matches.length, pattern).toBeGreaterThan(0);
    }
    const pkg = JSON.parse(readFileSync(at('package.json'), 'utf8'));
    expect(pkg.main).toBe('dist/main/main.js');
    expect(existsSync(at('app/main/main.ts'))).toBe(true);
    expect(config.files).toContain('dist/**');
  });

  it('builds dmg + zip for arm64 and x64 with the hardened runtime, and AppImage + deb on Linux', () => {
    const mac = config.mac.target as { target: string; arch: string[] }[];
    expect(mac.map((t) => t.target).sort()).toEqual(['dmg', 'zip']);
    for (const t of mac) expect(t.arch.sort()).toEqual(['arm64', 'x64']);
    expect(config.mac.hardenedRuntime).toBe(true);
    expect([...config.linux.target].sort()).toEqual(['AppImage', 'deb']);
    expect(config.asarUnpack).toContain('**/*.node');
  });

  it('makes the deb depend on QEMU, qemu-img and UEFI firmware, keeping Electron’s own libraries', () => {
    const depends = config.deb.depends as string[];
    expect(depends).toContain('qemu-system-x86 | qemu-system-arm');
    expect(depends).toContain('qemu-utils');
    expect(depends).toContain('ovmf | qemu-efi-aarch64');
    for (const lib of ['libgtk-3-0', 'libnss3', 'libsecret-1-0', 'xdg-utils']) expect(depends).toContain(lib);
  });

  it('associates exactly the files the app opens, and registers the nestbox:// scheme', () => {
    const exts = (config.fileAssociations as { ext: string | string[] }[]).flatMap((a) => (Array.isArray(a.ext) ? a.ext : [a.ext]));
    expect(exts.map((e) => `.${e}`).sort()).toEqual([...OPENABLE_EXTENSIONS].sort());
    expect(config.protocols.flatMap((p: { schemes: string[] }) => p.schemes)).toEqual([URL_SCHEME]);
    expect(config.linux.mimeTypes).toContain(`x-scheme-handler/${URL_SCHEME}`);
  });
});

describe('entitlements', () => {
  const keys = (file: string) => {
    const xml = readFileSync(at(file), 'utf8').replace(/<!--[\s\S]*?-->/g, '');
    return Object.fromEntries([...xml.matchAll(/<key>([^<]+)<\/key>\s*<(true|false)\/>/g)].map((m) => [m[1], m[2] === 'true']));
  };

  it('main executable: virtualization and JIT, nothing else', () => {
    expect(keys('entitlements.plist')).toEqual({ 'com.apple.security.virtualization': true, 'com.apple.security.cs.allow-jit': true });
  });

  it('helpers: JIT only', () => {
    expect(keys('entitlements.inherit.plist')).toEqual({ 'com.apple.security.cs.allow-jit': true });
  });
});

describe('icons', () => {
  const png = (f: string) => PNG.sync.read(readFileSync(at(f)));

  it('app icon: 1024×1024 with a transparent margin (macOS grid)', () => {
    const p = png('assets/icon.png');
    expect([p.width, p.height]).toEqual([1024, 1024]);
    expect(p.data[3]).toBe(0); // corner pixel alpha
    const c = ((512 * 1024 + 512) * 4) + 3;
    expect(p.data[c]).toBe(255);
  });

  it('Linux icon set: NxN files of their stated size', () => {
    const files = readdirSync(at('assets/icons'));
    expect(files.length).toBeGreaterThanOrEqual(5);
    for (const f of files) {
      const m = /^(\d+)x(\d+)\.png$/.exec(f)!;
      expect(m, f).not.toBeNull();
      const p = png(`assets/icons/${f}`);
      expect([p.width, p.height], f).toEqual([Number(m[1]), Number(m[2])]);
    }
  });

  it('macOS tray: template images (black with alpha) at 16 and 32 px', () => {
    for (const [f, size] of [['assets/trayTemplate.png', 16], ['assets/trayTemplate@2x.png', 32]] as const) {
      const p = png(f);
      expect([p.width, p.height], f).toEqual([size, size]);
      let opaque = 0;
      for (let i = 0; i < p.data.length; i += 4) {
        if (p.data[i + 3]! > 0) {
          opaque++;
          expect(Math.max(p.data[i]!, p.data[i + 1]!, p.data[i + 2]!), f).toBeLessThan(16);
        }
      }
      expect(opaque, f).toBeGreaterThan(size * 2);
      expect(opaque, f).toBeLessThan(size * size * 0.8);
    }
    expect(png('assets/tray.png').width).toBe(32);
  });
});

describe('afterPack: fuses', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nestbox-fuses-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';

  /** A file laid out like an Electron binary around its fuse wire: sentinel, version 1, 9 fuses as shipped. */
  function fakeElectron(file: string): void {
    mkdirSync(path.dirname(file), { recursive: true });
    const shipped = '101100010'; // RunAsNode on, cookies off, NODE_OPTIONS on, inspect on, asar-integrity off, only-asar off, snapshot off, file-priv on, wasm off
    writeFileSync(file, Buffer.concat([Buffer.alloc(4096, 0x90), Buffer.from(SENTINEL), Buffer.from([1, shipped.length]), Buffer.from(shipped), Buffer.alloc(4096, 0x90)]));
  }
  async function wireOf(target: string): Promise<Record<string, string>> {
    const { getCurrentFuseWire, FuseV1Options } = await import('@electron/fuses');
    const wire = await getCurrentFuseWire(target);
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(wire)) if (k !== 'version') out[(FuseV1Options as any)[k]] = String.fromCharCode(v as number);
    return out;
  }
  const afterPack = require(at('scripts/after-pack.cjs')) as (ctx: unknown) => Promise<void>;

  it('Linux: flips the security fuses in the packaged executable', async () => {
    const out = path.join(dir, 'linux-unpacked');
    fakeElectron(path.join(out, 'nestbox-desktop'));
    await afterPack({ electronPlatformName: 'linux', arch: 1, appOutDir: out, packager: { appInfo: { productFilename: 'Nestbox' }, executableName: 'nestbox-desktop' } });
    expect(await wireOf(path.join(out, 'nestbox-desktop'))).toEqual({
      RunAsNode: '0',
      EnableCookieEncryption: '1',
      EnableNodeOptionsEnvironmentVariable: '0',
      EnableNodeCliInspectArguments: '0',
      EnableEmbeddedAsarIntegrityValidation: '0', // not supported by Electron on Linux: left as shipped
      OnlyLoadAppFromAsar: '1',
      LoadBrowserProcessSpecificV8Snapshot: '0',
      GrantFileProtocolExtraPrivileges: '0',
      WasmTrapHandlers: '0',
    });
  });

  it('macOS: flips them in the framework inside the .app, with ASAR integrity on', async () => {
    const out = path.join(dir, 'mac');
    const framework = path.join(out, 'Nestbox.app', 'Contents', 'Frameworks', 'Electron Framework.framework', 'Electron Framework');
    fakeElectron(framework);
    await afterPack({ electronPlatformName: 'darwin', arch: 1, appOutDir: out, packager: { appInfo: { productFilename: 'Nestbox' } } });
    expect(await wireOf(path.join(out, 'Nestbox.app'))).toMatchObject({ RunAsNode: '0', EnableCookieEncryption: '1', EnableEmbeddedAsarIntegrityValidation: '1', OnlyLoadAppFromAsar: '1', EnableNodeCliInspectArguments: '0' });
  });
});
