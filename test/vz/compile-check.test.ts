/**
 * Safety net for the Objective-C++ Virtualization.framework addon, which cannot be built or run on this Linux
 * machine: clang compiles native/vz/src/*.mm with -fsyntax-only (Objective-C++, ARC, blocks, Apple runtime
 * semantics) against native/vz/sdk-shim — a header set declaring exactly the SDK subset the addon uses, with the
 * macOS version of each declaration. Both the Apple-silicon (`__arm64__`) and Intel preprocessor branches are
 * checked. It catches syntax, selector and type errors, not API misuse at run time.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '..', '..');
const SRC = path.join(ROOT, 'native', 'vz', 'src');
const SHIM = path.join(ROOT, 'native', 'vz', 'sdk-shim');
const hasClang = spawnSync('clang', ['--version']).status === 0;
const napiInclude = require('node-addon-api').include_dir as string;
// N-API headers: next to the running node (official tarballs), Debian's /usr/include/node, or node-gyp's cache.
const nodeInclude = [
  process.env.NODE_INCLUDE_DIR,
  path.join(path.dirname(process.execPath), '..', 'include', 'node'),
  '/usr/include/node',
  path.join(os.homedir(), '.cache', 'node-gyp', process.versions.node, 'include', 'node'),
].find((d) => !!d && existsSync(path.join(d, 'node_api.h')));

function clang(files: string[], extra: string[] = []) {
  const args = [
    '-x', 'objective-c++', '-fobjc-arc', '-fblocks', '-fobjc-runtime=macosx-14.0', '-fsyntax-only', '-std=c++17',
    '-Wall', '-Wextra', '-Wno-unused-parameter', '-Werror',
    '-DNAPI_VERSION=8', '-DNAPI_CPP_EXCEPTIONS', '-DNODE_ADDON_API_DISABLE_DEPRECATED',
    '-I', SHIM, '-I', path.resolve(ROOT, napiInclude), '-I', nodeInclude!, '-I', SRC,
    ...extra, ...files,
  ];
  const r = spawnSync('clang', args, { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

const sources = readdirSync(SRC).filter((f) => f.endsWith('.mm')).map((f) => path.join(SRC, f));
const scratch = mkdtempSync(path.join(os.tmpdir(), 'nestbox-vz-check-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe.skipIf(!hasClang)('VZ addon compile check (clang -fsyntax-only against the SDK shim; needs clang)', () => {
  it('finds the N-API headers', () => {
    expect(nodeInclude, 'node_api.h not found: set NODE_INCLUDE_DIR to the directory holding it').toBeTruthy();
  });

  it('finds the addon sources', () => {
    expect(sources.map((s) => path.basename(s)).sort()).toEqual(['vz_addon.mm', 'vz_spec.mm']);
  });

  it('compiles cleanly for Apple silicon (-D__arm64__), warnings as errors', () => {
    const r = clang(sources, ['-D__arm64__=1']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('compiles cleanly for Intel Macs (no __arm64__: Mac-guest code compiled out)', () => {
    const r = clang(sources);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('is a real check: a misspelled selector, a wrong argument type and an ARC violation all fail', () => {
    const cases: Record<string, string> = {
      selector: 'void f(VZVirtualMachine *vm) { [vm startWithCompletion:^(NSError *e) {}]; }',
      type: 'void f(VZVirtualMachine *vm) { [vm saveMachineStateToURL:@"/tmp/x" completionHandler:^(NSError *e) {}]; }',
      arc: 'void *f(NSObject *o) { return (void *)o; }', // ARC: needs a __bridge cast
      arm64Only: 'void f() { VZMacOSInstaller *i = nil; (void)i; }',
    };
    for (const [name, body] of Object.entries(cases)) {
      const file = path.join(scratch, `${name}.mm`);
      writeFileSync(file, `#import <Virtualization/Virtualization.h>\n${body}\n`);
      // arm64Only must fail without __arm64__ (as with the real SDK on Intel); the others fail with it.
      const r = clang([file], name === 'arm64Only' ? [] : ['-D__arm64__=1']);
      expect(r.status, `${name} should not compile:\n${r.stderr}`).not.toBe(0);
      expect(r.stderr).toMatch(/error:/);
    }
  });
});

describe('SDK shim', () => {
  it('names the macOS version of every Virtualization.framework class, method and property it declares', () => {
    const text = readFileSync(path.join(SHIM, 'Virtualization', 'Virtualization.h'), 'utf8');
    const lines = text.split('\n');
    const missing: string[] = [];
    let decl = '';
    lines.forEach((line, i) => {
      const t = line.trim();
      if (t.startsWith('@interface')) {
        if (!/API_AVAILABLE\(macos\(\d+\.\d+\)\)/.test(lines[i - 1] ?? '')) missing.push(`line ${i + 1}: ${t}`);
        return;
      }
      // Methods and properties may span lines: collect up to the terminating ';'.
      if (decl || /^[-+] \(|^@property/.test(t)) {
        decl += ' ' + t;
        if (t.endsWith(';')) {
          if (!/API_AVAILABLE\(macos\(\d+\.\d+\)\)/.test(decl)) missing.push(`line ${i + 1}: ${decl.trim()}`);
          decl = '';
        }
      }
    });
    expect(missing).toEqual([]);
    // Spot checks against Apple's documentation.
    expect(text).toMatch(/saveMachineStateToURL:[^;]*API_AVAILABLE\(macos\(14\.0\)\)/);
    expect(text).toMatch(/startWithOptions:[^;]*API_AVAILABLE\(macos\(13\.0\)\)/);
    expect(text).toMatch(/startUpFromMacOSRecovery API_AVAILABLE\(macos\(13\.0\)\)/);
    expect(text).toMatch(/initWithVirtualMachine:[^;]*API_AVAILABLE\(macos\(12\.0\)\)/);
  });
});
