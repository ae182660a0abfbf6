/**
 * The contract bound to Electron IPC, written against a narrow interface so tests drive it with real
 * contract messages and real dispatchers, without Electron:
 *  - one invoke channel carries every request: (method, params) → InvokeOutcome (from createDispatcher);
 *  - one event channel carries every event to every trusted window;
 *  - every message's sender is checked first: the top frame of one of our own windows, on the app origin.
 *    Sub-frames, DevTools, other webContents and pages that navigated elsewhere get NOT_ALLOWED and the
 *    handler never runs.
 */
import type { Dispatch, InvokeOutcome } from '../api/wire';
import { INVOKE_CHANNEL, EVENT_CHANNEL, PICK_FILE_CHANNEL } from '../preload/channels';
import { isAppUrl } from './window-options';

export { INVOKE_CHANNEL, EVENT_CHANNEL, PICK_FILE_CHANNEL };

/** The part of Electron's WebFrameMain the sender check reads. */
export interface FrameLike {
  readonly url: string;
  readonly parent: FrameLike | null;
}

/** The part of Electron's WebContents the binding reads and writes. */
export interface WebContentsLike {
  readonly id: number;
  isDestroyed(): boolean;
  getType?(): string;
  readonly mainFrame?: FrameLike;
  send(channel: string, ...args: unknown[]): void;
}

/** The part of IpcMainInvokeEvent the binding reads. */
export interface InvokeEventLike {
  readonly sender: WebContentsLike;
  readonly senderFrame: FrameLike | null;
}

/** The part of ipcMain the binding uses. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: InvokeEventLike, ...args: unknown[]) => Promise<unknown> | unknown): void;
  removeHandler(channel: string): void;
}

/** The webContents ids of Nestbox's own windows (DevTools and any other webContents are not in it). */
export interface TrustedWindows {
  has(webContentsId: number): boolean;
  /** The webContents of every open window (events go to each). */
  list(): Iterable<WebContentsLike>;
}

export type SenderVerdict = { ok: true } | { ok: false; reason: string };

/**
 * Is this message from the app itself? The frame must exist (it is null when the frame navigated away or
 * was destroyed), be the top frame, be on the app origin, and belong to one of our windows' webContents.
 */
export function checkSender(event: InvokeEventLike, windows: TrustedWindows): SenderVerdict {
  const frame = event.senderFrame;
  if (!frame) return { ok: false, reason: 'the sending frame is gone' };
  if (frame.parent !== null) return { ok: false, reason: 'sub-frames may not call the API' };
  if (!isAppUrl(frame.url)) return { ok: false, reason: `the sending page (${describeUrl(frame.url)}) is not the app` };
  const sender = event.sender;
  if (!sender || sender.isDestroyed()) return { ok: false, reason: 'the sending window is gone' };
  if (!windows.has(sender.id)) return { ok: false, reason: 'the sender is not a Nestbox window' };
  const type = sender.getType?.();
  if (type !== undefined && type !== 'window') return { ok: false, reason: `senders of type "${type}" may not call the API` };
  return { ok: true };
}

export function isTrustedSender(event: InvokeEventLike, windows: TrustedWindows): boolean {
  return checkSender(event, windows).ok;
}

export interface IpcBinding {
  /** Sends an event to every trusted window whose page is still the app. */
  broadcast(event: string, payload: unknown): void;
  dispose(): void;
}

export interface BindIpcOptions<Ctx> {
  ipc: IpcMainLike;
  dispatch: Dispatch<Ctx>;
  windows: TrustedWindows;
  /** The handler context for a trusted sender (e.g. which window asked). */
  context: (sender: WebContentsLike) => Ctx;
  /** Called for every rejected message (logged by main; never includes params — they may hold secrets). */
  onRejected?: (reason: string, method: string) => void;
}

export function bindIpc<Ctx>(o: BindIpcOptions<Ctx>): IpcBinding {
  o.ipc.handle(INVOKE_CHANNEL, async (event, ...args): Promise<InvokeOutcome> => {
    const method = typeof args[0] === 'string' ? args[0].slice(0, 100) : String(typeof args[0]);
    const verdict = checkSender(event, o.windows);
    if (!verdict.ok) {
      o.onRejected?.(verdict.reason, method);
      return { ok: false, error: { code: 'NOT_ALLOWED', message: `Request "${method}" refused: ${verdict.reason}.`, fix: 'Only the Nestbox window may call the Nestbox API.' } };
    }
    if (args.length > 2) {
      return { ok: false, error: { code: 'INVALID_ARGUMENT', message: `Request "${method}" has ${args.length} arguments; expected a method and one params object.`, fix: 'Update the client: it does not match this Nestbox version.' } };
    }
    return o.dispatch(args[0], args[1], o.context(event.sender));
  });

  return {
    broadcast(event, payload) {
      for (const wc of o.windows.list()) {
        if (wc.isDestroyed()) continue;
        // Never leak events into a page that is not the app (navigation is blocked, but check anyway).
        if (wc.mainFrame && !isAppUrl(wc.mainFrame.url)) continue;
        try {
          wc.send(EVENT_CHANNEL, event, payload);
        } catch {
          // the window is closing; the next broadcast skips it
        }
      }
    },
    dispose() {
      o.ipc.removeHandler(INVOKE_CHANNEL);
    },
  };
}

function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return 'an unknown page';
  }
}

// ---------------- the file picker (window.nestboxFiles.pickFile) ----------------

export interface PickFileOptions {
  title?: string;
  /** Extensions without the dot, e.g. ["iso", "img"]. */
  extensions?: string[];
}

/** Validates the page's picker options: short title, at most 20 plain extensions. Anything else is dropped. */
export function sanitizePickOptions(raw: unknown): PickFileOptions {
  const o = raw && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
  const out: PickFileOptions = {};
  if (typeof o.title === 'string') out.title = o.title.slice(0, 200);
  if (Array.isArray(o.extensions)) {
    const exts = o.extensions.filter((e): e is string => typeof e === 'string').map((e) => e.replace(/^\./, '').toLowerCase()).filter((e) => /^[a-z0-9]{1,10}$/.test(e));
    if (exts.length > 0) out.extensions = [...new Set(exts)].slice(0, 20);
  }
  return out;
}

/**
 * Binds the native open dialog the create dialog's "Choose…" uses. The user picks the file, so the page learns
 * only a path the user chose; the same sender check as the API applies.
 */
export function bindFilePicker(o: { ipc: IpcMainLike; windows: TrustedWindows; pick: (opts: PickFileOptions, sender: WebContentsLike) => Promise<string | null> }): () => void {
  o.ipc.handle(PICK_FILE_CHANNEL, async (event, ...args): Promise<string | null> => {
    if (!checkSender(event, o.windows).ok) return null;
    return o.pick(sanitizePickOptions(args[0]), event.sender);
  });
  return () => o.ipc.removeHandler(PICK_FILE_CHANNEL);
}
