import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_WINDOW_SIZE } from './window-options';
import { loadWindowState, restoreWindowState, saveWindowState } from './window-state';

const laptop = { x: 0, y: 0, width: 1440, height: 875 };
const external = { x: 1440, y: -200, width: 2560, height: 1415 };

describe('window state', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nestbox-winstate-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('restores saved bounds that are on a screen', () => {
    const saved = { bounds: { x: 1600, y: 0, width: 1300, height: 900 }, maximized: false, fullScreen: false };
    expect(restoreWindowState(saved, [laptop, external])).toEqual({ bounds: { x: 1600, y: 0, width: 1300, height: 900 }, maximized: false, fullScreen: false });
  });

  it('brings a window from a monitor that is gone back (size kept, position left to the system)', () => {
    const saved = { bounds: { x: 1600, y: 0, width: 1300, height: 900 }, maximized: true, fullScreen: true };
    expect(restoreWindowState(saved, [laptop])).toEqual({ bounds: { width: 1300, height: 875 }, maximized: true, fullScreen: false });
  });

  it('does not restore a window whose title bar is off the top or barely on a screen', () => {
    expect(restoreWindowState({ bounds: { x: 100, y: -300, width: 1000, height: 700 }, maximized: false }, [laptop]).bounds).toEqual({ width: 1000, height: 700 });
    expect(restoreWindowState({ bounds: { x: 1420, y: 100, width: 1000, height: 700 }, maximized: false }, [laptop]).bounds).toEqual({ width: 1000, height: 700 });
  });

  it('clamps sizes to the minimum and to the largest screen', () => {
    expect(restoreWindowState({ bounds: { x: 0, y: 0, width: 100, height: 50 } }, [laptop]).bounds).toMatchObject({ width: 720, height: 480 });
    expect(restoreWindowState({ bounds: { x: 0, y: 0, width: 9000, height: 9000 } }, [laptop]).bounds).toMatchObject({ width: 1440, height: 875 });
  });

  it('falls back to the default for garbage', () => {
    for (const bad of [null, 'x', {}, { bounds: { x: 'a', y: 0, width: 1, height: 1 } }, { bounds: { x: 0, y: 0, width: -5, height: 100 } }, { bounds: { x: NaN, y: 0, width: 100, height: 100 } }]) {
      expect(restoreWindowState(bad, [laptop])).toEqual({ bounds: DEFAULT_WINDOW_SIZE, maximized: false, fullScreen: false });
    }
  });

  it('saves and loads through a file; a corrupt file reads as nothing', async () => {
    const f = path.join(dir, 'window-state.json');
    await saveWindowState(f, { bounds: { x: 5, y: 6, width: 1000, height: 700 }, maximized: true, fullScreen: false });
    expect(JSON.parse(readFileSync(f, 'utf8'))).toEqual({ bounds: { x: 5, y: 6, width: 1000, height: 700 }, maximized: true, fullScreen: false });
    expect(restoreWindowState(await loadWindowState(f), [laptop])).toEqual({ bounds: { x: 5, y: 6, width: 1000, height: 700 }, maximized: true, fullScreen: false });
    writeFileSync(f, '{"bounds": ');
    expect(await loadWindowState(f)).toBeNull();
    expect(await loadWindowState(path.join(dir, 'missing.json'))).toBeNull();
  });
});
