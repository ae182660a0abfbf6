import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { requests } from '../api/contract';
import { validateVmName } from '../core/library/config';
import { classifyFile, confirmCreate, extractLaunchTargets, planCreateFromFile, uniqueVmName, vmNameFromFile } from './file-open';

const dir = mkdtempSync(path.join(os.tmpdir(), 'nestbox-open-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
function file(name: string, bytes = 16): string {
  const p = path.join(dir, name);
  writeFileSync(p, Buffer.alloc(bytes, 1));
  return p;
}

describe('file-open routing', () => {
  it('classifies by extension, case-insensitively', () => {
    expect(classifyFile('/x/UniversalMac_15.1_Restore.ipsw')).toBe('ipsw');
    expect(classifyFile('/x/debian-12.ISO')).toBe('iso');
    expect(classifyFile('/x/disk.img')).toBe('disk');
    expect(classifyFile('/x/disk.raw')).toBe('disk');
    for (const f of ['/x/disk.qcow2', '/x/a.dmg', '/x/noext', '/x/.iso', '/x/a.iso.txt']) expect(classifyFile(f), f).toBeNull();
  });

  it('plans the matching create request, with params the contract accepts', () => {
    const ipsw = planCreateFromFile(file('UniversalMac_15.1_24B83_Restore.ipsw'), []);
    expect(ipsw).toEqual({ ok: true, plan: { kind: 'ipsw', request: 'vm.createMacos', params: { name: 'UniversalMac_15.1_24B83_Restore', ipsw: path.join(dir, 'UniversalMac_15.1_24B83_Restore.ipsw') }, file: path.join(dir, 'UniversalMac_15.1_24B83_Restore.ipsw') } });
    const iso = planCreateFromFile(file('debian-12.7.0-amd64-netinst.iso'), []);
    expect(iso).toMatchObject({ ok: true, plan: { kind: 'iso', request: 'vm.create', params: { name: 'debian-12.7.0-amd64-netinst', os: 'linux', installerIso: path.join(dir, 'debian-12.7.0-amd64-netinst.iso') } } });
    const raw = planCreateFromFile(file('ubuntu cloud (arm64).raw'), []);
    expect(raw).toMatchObject({ ok: true, plan: { kind: 'disk', request: 'vm.create', params: { name: 'ubuntu-cloud-arm64', os: 'linux', diskImage: path.join(dir, 'ubuntu cloud (arm64).raw') } } });
    for (const r of [ipsw, iso, raw]) {
      if (!r.ok) throw new Error('planned');
      expect(requests[r.plan.request].params.safeParse(r.plan.params).success).toBe(true);
    }
  });

  it('picks a name that is not taken', () => {
    const r = planCreateFromFile(file('debian.iso'), ['debian', 'debian-2']);
    expect(r).toMatchObject({ ok: true, plan: { params: { name: 'debian-3' } } });
  });

  it('refuses missing, empty, relative, folder and unknown files with a reason and a fix', () => {
    mkdirSync(path.join(dir, 'folder.iso'));
    const cases: [string, RegExp][] = [
      [path.join(dir, 'missing.iso'), /does not exist/],
      [file('empty.img', 0), /is empty/],
      ['relative/debian.iso', /absolute/],
      [path.join(dir, 'folder.iso'), /not a regular file/],
      [file('disk.qcow2'), /only \.ipsw, \.iso, \.img, \.raw/],
    ];
    for (const [f, reason] of cases) {
      const r = planCreateFromFile(f, []);
      expect(r.ok, f).toBe(false);
      if (!r.ok) {
        expect(r.reason, f).toMatch(reason);
        expect(r.fix.length).toBeGreaterThan(0);
      }
    }
  });

  it('derives valid VM names from any file name', () => {
    const names = ['UniversalMac_15.1_24B83_Restore.ipsw', 'debian 12 (netinst).iso', '..hidden.iso', '---.iso', 'a..b.img', 'Ünïcödé ímage.iso', 'x'.repeat(300) + '.iso', 'rm -rf ~.iso', 'a/b/c.raw'];
    for (const n of names) {
      const name = vmNameFromFile(n);
      expect(() => validateVmName(name), `${n} → ${name}`).not.toThrow();
      expect(name, n).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]*$/);
      expect(name.length).toBeLessThanOrEqual(64);
    }
    expect(vmNameFromFile('debian 12 (netinst).iso')).toBe('debian-12-netinst');
    expect(vmNameFromFile('Ünïcödé ímage.iso')).toBe('Unicode-image');
    expect(vmNameFromFile('---.iso')).toBe('vm');
    expect(uniqueVmName('vm', ['vm', 'vm-2', 'vm-4'])).toBe('vm-3');
  });

  it('confirms with the VM name and what will happen', () => {
    const r = planCreateFromFile(file('alpine.iso'), []);
    if (!r.ok) throw new Error(r.reason);
    const d = confirmCreate(r.plan);
    expect(d.message).toBe('Create "alpine"?');
    expect(d.detail).toContain('boots the installer alpine.iso');
    expect(d.buttons[d.defaultId]).toBe('Create');
  });

  it('finds files and links on a command line, skipping switches, the app path and other URLs', () => {
    const argv = ['/usr/lib/nestbox/nestbox', '/usr/lib/nestbox/resources/app.asar', '--no-sandbox', '--original-process-start-time=1', 'Downloads/debian.iso', '/abs/mac.IPSW', 'nestbox://pull?ref=ghcr.io/a/b', 'https://evil.example/x.iso', 'notes.txt', 'Downloads/debian.iso'];
    expect(extractLaunchTargets(argv, '/home/me')).toEqual({ files: ['/home/me/Downloads/debian.iso', '/abs/mac.IPSW'], urls: ['nestbox://pull?ref=ghcr.io/a/b'] });
    expect(extractLaunchTargets(['electron', '.'], '/repo')).toEqual({ files: [], urls: [] });
  });
});
