import { useCallback, useEffect, useRef, useState } from 'react';

const AUTO_KEY = 'nestbox.clipboardAutoSync';

/** "Sync the clipboard automatically" (default on), remembered for all VMs. */
export function loadAutoSync(): boolean {
  try {
    return globalThis.localStorage?.getItem(AUTO_KEY) !== 'off';
  } catch {
    return true;
  }
}

export function saveAutoSync(on: boolean): void {
  try {
    if (on) globalThis.localStorage?.removeItem(AUTO_KEY);
    else globalThis.localStorage?.setItem(AUTO_KEY, 'off');
  } catch {}
}

export type ReadPermission = 'granted' | 'prompt' | 'denied' | 'unknown';

/** Whether this page may read the clipboard without asking (Electron grants the app; a browser asks once). */
export async function clipboardReadPermission(): Promise<ReadPermission> {
  try {
    const s = await navigator.permissions.query({ name: 'clipboard-read' as PermissionName });
    return s.state === 'granted' || s.state === 'denied' || s.state === 'prompt' ? s.state : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The clipboard-read permission, kept current (the browser's answer to a prompt arrives as a change). */
export function useClipboardReadPermission(): [ReadPermission, () => void] {
  const [state, setState] = useState<ReadPermission>('unknown');
  const refresh = useCallback(() => void clipboardReadPermission().then(setState), []);
  useEffect(refresh, [refresh]);
  return [state, refresh];
}

/**
 * Keeps the host's clipboard and the guest agent's in step, the way VM apps do, while `enabled` (the VM has the
 * clipboard port, its screen is connected, and the user has not turned syncing off):
 *  - guest → host: text the guest copies is written to this computer's clipboard (when this window has focus —
 *    browsers refuse otherwise);
 *  - host → guest: when the user comes back to the screen (window focus, pointer over the screen, connecting),
 *    this computer's clipboard is read and, if it changed, offered to the guest.
 * Text that just came from the guest is not sent back to it. The host clipboard is read only once the page may
 * (never a permission prompt out of the blue: the Clipboard dialog offers to allow it); without it, and with denied
 * permissions, the dialog still works by hand.
 */
export function useClipboardSync(enabled: boolean, paste: (text: string) => void): { pushHost(): void; fromGuest(text: string): void } {
  const last = useRef<{ toGuest: string | null; fromGuest: string | null }>({ toGuest: null, fromGuest: null });
  const state = useRef({ enabled, paste });
  state.current = { enabled, paste };

  const pushHost = useCallback(() => {
    if (!state.current.enabled || !navigator.clipboard?.readText) return;
    void clipboardReadPermission()
      .then((p) => (p === 'granted' ? navigator.clipboard.readText() : ''))
      .then((text) => {
        if (!state.current.enabled || !text || text === last.current.toGuest || text === last.current.fromGuest) return;
        last.current.toGuest = text;
        state.current.paste(text);
      })
      .catch(() => {});
  }, []);

  const fromGuest = useCallback((text: string) => {
    last.current.fromGuest = text;
    if (!state.current.enabled || !text || typeof document === 'undefined' || !document.hasFocus()) return;
    void navigator.clipboard?.writeText(text).catch(() => {});
  }, []);

  useEffect(() => {
    if (!enabled) return;
    pushHost();
    window.addEventListener('focus', pushHost);
    return () => window.removeEventListener('focus', pushHost);
  }, [enabled, pushHost]);

  return { pushHost, fromGuest };
}
