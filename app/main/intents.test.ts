import { describe, expect, it } from 'vitest';
import { events } from '../api/contract';
import { intentHash, setHashScript, type Intent } from './intents';

describe('shell intents', () => {
  it('are contract events the client accepts', () => {
    const all: Intent[] = [{ kind: 'show-vm', name: 'debian', screen: true }, { kind: 'show-task', taskId: 't1' }, { kind: 'pull' }, { kind: 'new-vm' }];
    for (const i of all) expect(events['shell.intent'].safeParse(i).success, i.kind).toBe(true);
    expect(events['shell.intent'].safeParse({ kind: 'run', cmd: 'x' }).success).toBe(false);
  });

  it('map to the renderer routes (#/vm/<name>/<tab>, #/tasks)', () => {
    expect(intentHash({ kind: 'show-vm', name: 'debian 12', screen: true })).toBe('#/vm/debian%2012/screen');
    expect(intentHash({ kind: 'show-vm', name: 'debian' })).toBe('#/vm/debian/settings');
    expect(intentHash({ kind: 'show-task', taskId: 't1' })).toBe('#/tasks');
    expect(intentHash({ kind: 'pull' })).toBeNull();
  });

  it('navigate with a quoted literal only, whatever the VM name', () => {
    const hostile = `x";alert(1);"`;
    const hash = intentHash({ kind: 'show-vm', name: hostile, screen: true })!;
    expect(setHashScript(hash)).toBe(`location.hash = "#/vm/x%22%3Balert(1)%3B%22/screen";`);
    expect(() => setHashScript('#/"; alert(1); "')).toThrow(/refusing/);
    expect(() => setHashScript('javascript:alert(1)')).toThrow(/refusing/);
  });
});
