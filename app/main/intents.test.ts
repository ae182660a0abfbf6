import { describe, expect, it } from 'vitest';
import { events } from '../api/contract';
import { intent, type Intent } from './intents';

describe('shell intents', () => {
  it('are contract events the renderer’s client accepts', () => {
    const all: Intent[] = [{ kind: 'show-vm', name: 'debian', screen: true }, { kind: 'show-vm', name: 'debian' }, { kind: 'show-task', taskId: 't1' }, { kind: 'pull' }, { kind: 'new-vm' }];
    for (const i of all) expect(intent(i)).toEqual(i);
    expect(events['shell.intent'].safeParse({ kind: 'run', cmd: 'x' }).success).toBe(false);
    expect(() => intent({ kind: 'show-vm' } as unknown as Intent)).toThrow();
  });
});
