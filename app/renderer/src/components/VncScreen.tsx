import { forwardRef, useEffect, useImperativeHandle, useRef, useState } from 'react';
import type RFB from '@novnc/novnc';
import type { DisplayEndpoint } from '../../../api';
import { toError } from '../stores';
import { useApi } from '../stores/react';
import { keystrokesFor, reconnectDelay, resolveVncUrl, XK_SHIFT_L } from '../lib/vnc';

export type ScreenStatus = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'unavailable';

export interface VncHandle {
  ctrlAltDel(): void;
  fullscreen(): void;
  pasteToGuest(text: string): void;
  typeText(text: string): void;
  focus(): void;
}

/**
 * The guest's screen through noVNC, scaled to fit. One RFB per connection (created in an effect, disconnected
 * in its cleanup); after an unclean disconnect — the VM rebooted, the server restarted — it asks for the display
 * again and reconnects with backoff while the VM is running.
 */
export const VncScreen = forwardRef<VncHandle, { name: string; running: boolean; onStatus?(s: ScreenStatus): void; onGuestClipboard?(text: string): void; onEndpoint?(d: DisplayEndpoint | null): void }>(
  function VncScreen({ name, running, onStatus, onGuestClipboard, onEndpoint }, ref) {
    const api = useApi();
    const box = useRef<HTMLDivElement>(null);
    /** Full screen takes the wrapper (noVNC owns the box's children), so it can hold the way back out. */
    const wrap = useRef<HTMLDivElement>(null);
    const [fullscreen, setFullscreen] = useState(false);
    useEffect(() => {
      const onChange = () => setFullscreen(document.fullscreenElement !== null && document.fullscreenElement === wrap.current);
      document.addEventListener('fullscreenchange', onChange);
      return () => document.removeEventListener('fullscreenchange', onChange);
    }, []);
    const rfbRef = useRef<RFB | null>(null);
    const [status, setStatus] = useState<ScreenStatus>('idle');
    const [attempt, setAttempt] = useState(0);
    const failures = useRef(0);
    const [message, setMessage] = useState<string | null>(null);
    const cb = useRef({ onStatus, onGuestClipboard, onEndpoint });
    cb.current = { onStatus, onGuestClipboard, onEndpoint };

    useEffect(() => cb.current.onStatus?.(status), [status]);

    useImperativeHandle(ref, () => ({
      ctrlAltDel: () => rfbRef.current?.sendCtrlAltDel(),
      fullscreen: () => void wrap.current?.requestFullscreen?.().then(() => rfbRef.current?.focus()).catch(() => {}),
      pasteToGuest: (text) => rfbRef.current?.clipboardPasteFrom(text),
      typeText: (text) => {
        const rfb = rfbRef.current;
        if (!rfb) return;
        for (const k of keystrokesFor(text)) {
          if (k.shift) rfb.sendKey(XK_SHIFT_L, 'ShiftLeft', true);
          rfb.sendKey(k.keysym, null);
          if (k.shift) rfb.sendKey(XK_SHIFT_L, 'ShiftLeft', false);
        }
      },
      focus: () => rfbRef.current?.focus(),
    }));

    useEffect(() => {
      if (!running) {
        setStatus('idle');
        cb.current.onEndpoint?.(null);
        return;
      }
      let cancelled = false;
      let rfb: RFB | null = null;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const retry = () => {
        if (cancelled) return;
        setStatus('reconnecting');
        timer = setTimeout(() => setAttempt((a) => a + 1), reconnectDelay(failures.current++));
      };
      setStatus(attempt === 0 ? 'connecting' : 'reconnecting');
      (async () => {
        const d = await api.request('vm.display', { name });
        if (cancelled) return;
        cb.current.onEndpoint?.(d);
        if (d.kind !== 'vnc') {
          setStatus('unavailable');
          setMessage(d.kind === 'none' ? d.reason : null);
          return;
        }
        const { default: RFBClass } = await import('@novnc/novnc');
        if (cancelled || !box.current) return;
        rfb = new RFBClass(box.current, resolveVncUrl(d.url, location.href), { shared: true });
        rfb.scaleViewport = true;
        rfb.resizeSession = false;
        rfb.focusOnClick = true;
        rfb.background = 'transparent';
        rfb.addEventListener('connect', () => {
          if (cancelled) return;
          setStatus('connected');
          setMessage(null);
          failures.current = 0;
        });
        rfb.addEventListener('disconnect', () => {
          rfbRef.current = null;
          retry();
        });
        rfb.addEventListener('securityfailure', (e) => setMessage(`The screen refused the connection: ${String((e as CustomEvent).detail?.reason ?? 'security failure')}`));
        rfb.addEventListener('clipboard', (e) => cb.current.onGuestClipboard?.(String((e as CustomEvent).detail?.text ?? '')));
        rfbRef.current = rfb;
      })().catch((e) => {
        setMessage(toError(e).message);
        retry();
      });
      return () => {
        cancelled = true;
        clearTimeout(timer);
        rfbRef.current = null;
        try {
          rfb?.disconnect();
        } catch {}
      };
      // `attempt` re-runs the effect to reconnect.
    }, [api, name, running, attempt]);

    return (
      <div ref={wrap} className="screen-wrap">
        <div ref={box} className="screen" data-status={status} aria-label={`Screen of ${name}`} role="application" onMouseEnter={() => rfbRef.current?.focus()} />
        {status !== 'connected' && running && (
          <div className="screen-overlay" role="status">
            {status === 'unavailable' ? (message ?? 'This VM has no screen.') : status === 'reconnecting' ? `Reconnecting to the screen…${message ? ` (${message})` : ''}` : 'Connecting to the screen…'}
          </div>
        )}
        {fullscreen && (
          <button type="button" className="button button-small screen-exit" onClick={() => void document.exitFullscreen().catch(() => {})}>
            Exit full screen
          </button>
        )}
      </div>
    );
  },
);
