import { describe, expect, it } from 'vitest';
import { cleanSerial } from './SerialConsole';

describe('serial console text', () => {
  it('drops terminal control sequences (firmware, shells) and carriage returns', () => {
    expect(cleanSerial('\x1b[=3h\x1b[=3hBdsDxe: loading\r\n')).toBe('BdsDxe: loading\n');
    expect(cleanSerial('\x1b[2J\x1b[H\x1b[1;32mok\x1b[0m ~ # \x1b]0;title\x07x\r\n')).toBe('ok ~ # x\n');
    expect(cleanSerial('progress 10%\rprogress 20%')).toBe('progress 10%progress 20%');
  });
});
