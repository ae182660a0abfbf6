/**
 * The main window's size and position, remembered across launches in <userData>/window-state.json and
 * checked against the screens present now: a window saved on a monitor that is gone is brought back onto
 * the primary screen instead of opening off-screen.
 */
import { promises as fsp } from 'node:fs';
import { writeFileAtomic } from '../core/fsutil';
import { DEFAULT_WINDOW_SIZE, MIN_WINDOW_SIZE, type WindowBounds } from './window-options';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface SavedWindowState {
  bounds: Rect;
  maximized: boolean;
  fullScreen: boolean;
}

export interface RestoredWindowState {
  bounds: WindowBounds;
  maximized: boolean;
  fullScreen: boolean;
}

/** Visible pixels a saved window must keep on some screen (its title bar must be reachable). */
const MIN_VISIBLE = 64;

/**
 * Bounds to open with: the saved ones when they are sane and a reachable part (≥ 64×64 px including the
 * top edge) lies on a current screen's work area; clamped to the largest screen; otherwise the default size,
 * centred by the window manager (no x/y).
 */
export function restoreWindowState(saved: unknown, workAreas: readonly Rect[]): RestoredWindowState {
  const fallback: RestoredWindowState = { bounds: { ...DEFAULT_WINDOW_SIZE }, maximized: false, fullScreen: false };
  const s = parseSaved(saved);
  if (!s || workAreas.length === 0) return fallback;
  const maxW = Math.max(...workAreas.map((a) => a.width));
  const maxH = Math.max(...workAreas.map((a) => a.height));
  const width = Math.min(Math.max(Math.round(s.bounds.width), MIN_WINDOW_SIZE.width), maxW);
  const height = Math.min(Math.max(Math.round(s.bounds.height), MIN_WINDOW_SIZE.height), maxH);
  const b: Rect = { x: Math.round(s.bounds.x), y: Math.round(s.bounds.y), width, height };
  const titleBar: Rect = { x: b.x, y: b.y, width: b.width, height: Math.min(b.height, MIN_VISIBLE) };
  const reachable = workAreas.some((a) => {
    const w = overlap(titleBar.x, titleBar.width, a.x, a.width);
    const h = overlap(titleBar.y, titleBar.height, a.y, a.height);
    return w >= MIN_VISIBLE && h >= Math.min(MIN_VISIBLE, titleBar.height) && b.y >= a.y;
  });
  if (!reachable) return { bounds: { width, height }, maximized: s.maximized, fullScreen: false };
  return { bounds: b, maximized: s.maximized, fullScreen: s.fullScreen };
}

function overlap(a0: number, aLen: number, b0: number, bLen: number): number {
  return Math.max(0, Math.min(a0 + aLen, b0 + bLen) - Math.max(a0, b0));
}

function parseSaved(v: unknown): SavedWindowState | null {
  if (!v || typeof v !== 'object') return null;
  const o = v as Record<string, unknown>;
  const b = o.bounds as Record<string, unknown> | undefined;
  if (!b || typeof b !== 'object') return null;
  const nums = ['x', 'y', 'width', 'height'].map((k) => b[k]);
  if (!nums.every((n) => typeof n === 'number' && Number.isFinite(n) && Math.abs(n) < 1e6)) return null;
  const [x, y, width, height] = nums as number[];
  if (width! <= 0 || height! <= 0) return null;
  return { bounds: { x: x!, y: y!, width: width!, height: height! }, maximized: o.maximized === true, fullScreen: o.fullScreen === true };
}

export async function loadWindowState(file: string): Promise<unknown> {
  try {
    return JSON.parse(await fsp.readFile(file, 'utf8')) as unknown;
  } catch {
    return null; // missing or corrupt: start with the default
  }
}

export async function saveWindowState(file: string, s: SavedWindowState): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(s) + '\n', 0o644);
}
