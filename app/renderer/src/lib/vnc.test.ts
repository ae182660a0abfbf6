import { describe, expect, it } from 'vitest';
import { keysymsFor, keystrokesFor, reconnectDelay, resolveVncUrl } from './vnc';

describe('console helpers', () => {
  it('resolves the display URL against the page, as ws:// or wss://', () => {
    expect(resolveVncUrl('vnc/guest', 'http://127.0.0.1:7780/#/vm/guest/screen')).toBe('ws://127.0.0.1:7780/vnc/guest');
    expect(resolveVncUrl('/vnc/a%20b', 'https://nestbox.local/app/')).toBe('wss://nestbox.local/vnc/a%20b');
    expect(resolveVncUrl('ws://127.0.0.1:5901/websockify?token=x', 'app://nestbox/index.html')).toBe('ws://127.0.0.1:5901/websockify?token=x');
  });

  it('turns text into keysyms, holding Shift where a US layout needs it', () => {
    expect(keysymsFor('a>\n')).toEqual([0x61, 0x3e, 0xff0d]);
    expect(keystrokesFor('e >A\t')).toEqual([
      { keysym: 0x65, shift: false },
      { keysym: 0x20, shift: false },
      { keysym: 0x3e, shift: true },
      { keysym: 0x41, shift: true },
      { keysym: 0xff09, shift: false },
    ]);
    expect(keysymsFor('é€')).toEqual([0xe9, 0x010020ac]);
  });

  it('backs off reconnects up to 5 s', () => {
    expect([0, 1, 2, 3, 4, 10].map(reconnectDelay)).toEqual([500, 1000, 2000, 4000, 5000, 5000]);
  });
});
