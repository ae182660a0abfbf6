/** The WebSocket URL for a display endpoint: relative URLs resolve against the page (same origin, the cookie authenticates). */
export function resolveVncUrl(url: string, base: string): string {
  const u = new URL(url, base);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol === 'https:') u.protocol = 'wss:';
  return u.toString();
}

/** X11 keysyms for typing text into a guest that has no clipboard agent (Latin-1 maps 1:1; newline → Return). */
export function keysymsFor(text: string): number[] {
  const out: number[] = [];
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (ch === '\n' || ch === '\r') out.push(0xff0d);
    else if (ch === '\t') out.push(0xff09);
    else if ((c >= 0x20 && c <= 0x7e) || (c >= 0xa0 && c <= 0xff)) out.push(c);
    else if (c > 0xff) out.push(0x01000000 | c);
  }
  return out;
}

const US_SHIFTED = new Set('~!@#$%^&*()_+{}|:"<>?ABCDEFGHIJKLMNOPQRSTUVWXYZ');
export const XK_SHIFT_L = 0xffe1;

/**
 * Keystrokes for typing `text`: each keysym, and whether to hold Shift. Servers that map keysyms to scancodes
 * with a US layout (QEMU) would otherwise type '>' as '.', and 'A' as 'a'; servers that honour keysyms are unaffected.
 */
export function keystrokesFor(text: string): { keysym: number; shift: boolean }[] {
  const syms = keysymsFor(text);
  const chars = [...text].filter((ch) => {
    const c = ch.codePointAt(0)!;
    return ch === '\n' || ch === '\r' || ch === '\t' || (c >= 0x20 && c <= 0x7e) || c >= 0xa0;
  });
  return syms.map((keysym, i) => ({ keysym, shift: US_SHIFTED.has(chars[i]!) }));
}

/** Reconnect delays after an unclean disconnect: quick first, then at most 5 s apart. */
export function reconnectDelay(attempt: number): number {
  return Math.min(5000, 500 * 2 ** Math.min(attempt, 4));
}
