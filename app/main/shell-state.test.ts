import { describe, expect, it } from 'vitest';
import { TaskInfoSchema, type TaskInfo } from '../api/models';
import { applyEvent, dockProgress, EMPTY_STATE, taskNotification, withTasks, type ShellState } from './shell-state';
import { activeVms, quitDialog, quitRequests, quitWhenAllWindowsClosed } from './quit-flow';

function task(id: string, over: Partial<TaskInfo> = {}): TaskInfo {
  return TaskInfoSchema.parse({ id, kind: 'pull', title: `Pull ghcr.io/a/${id}`, target: { image: `ghcr.io/a/${id}:latest` }, state: 'running', progress: {}, startedAt: '2026-11-29T15:00:00.000Z', ...over });
}

describe('dock/taskbar progress', () => {
  it('is removed without running tasks, the mean fraction with, indeterminate when a total is unknown', () => {
    expect(dockProgress(EMPTY_STATE)).toBe(-1);
    let s: ShellState = withTasks(EMPTY_STATE, [task('a', { progress: { done: 25, total: 100 } }), task('b', { progress: { done: 75, unit: 'percent' } })]);
    expect(dockProgress(s)).toBe(0.5);
    s = applyEvent(s, 'task.updated', task('c', { progress: { step: 'Resolving' } })).state;
    expect(dockProgress(s)).toBe(2);
    s = applyEvent(s, 'task.updated', task('c', { state: 'cancelled', finishedAt: '2026-11-29T15:00:05.000Z' })).state;
    expect(dockProgress(s)).toBe(0.5);
    s = withTasks(s, [task('a', { state: 'done', progress: { done: 100, total: 100 } })]);
    expect(dockProgress(s)).toBe(-1);
  });
});

describe('notifications', () => {
  const started = task('t', { progress: { done: 1, total: 10 } });

  it('notify when a long task finishes, naming what is ready; not for short ones, not when the window is focused', () => {
    const r = applyEvent(withTasks(EMPTY_STATE, [started]), 'task.updated', task('t', { state: 'done', finishedAt: '2026-11-29T15:02:00.000Z', result: { image: 'ghcr.io/a/t:latest' } }));
    expect(r.finished).toBeDefined();
    expect(taskNotification(r.finished!.before, r.finished!.after, false)).toEqual({ title: 'Pull ghcr.io/a/t finished', body: 'ghcr.io/a/t:latest is ready.', taskId: 't' });
    expect(taskNotification(r.finished!.before, r.finished!.after, true)).toBeNull();
    const quick = task('t', { state: 'done', finishedAt: '2026-11-29T15:00:03.000Z' });
    expect(taskNotification(started, quick, false)).toBeNull();
  });

  it('notify every failure with the reason and fix; never a cancel the user asked for', () => {
    const failed = task('t', { state: 'failed', finishedAt: '2026-11-29T15:00:01.000Z', error: { code: 'AUTH', message: 'ghcr.io refused the credentials.', fix: 'Sign in again.' } });
    expect(taskNotification(started, failed, false)).toEqual({ title: 'Pull ghcr.io/a/t failed', body: 'ghcr.io refused the credentials. Sign in again.', taskId: 't' });
    expect(taskNotification(started, task('t', { state: 'cancelled', finishedAt: '2026-11-29T15:05:00.000Z' }), false)).toBeNull();
  });

  it('only for transitions the shell saw (not for old tasks listed at launch)', () => {
    const r = applyEvent(EMPTY_STATE, 'task.updated', task('old', { state: 'failed', finishedAt: '2026-11-29T15:00:01.000Z' }));
    expect(r.finished).toBeUndefined();
  });
});

describe('quit flow', () => {
  const vms = [
    { name: 'debian', state: 'running' as const, os: 'linux' as const },
    { name: 'mac', state: 'running' as const, os: 'darwin' as const },
    { name: 'off', state: 'stopped' as const },
    { name: 'halting', state: 'stopping' as const },
  ];

  it('quits at once when nothing runs', () => {
    expect(quitDialog([{ name: 'off', state: 'stopped' }, { name: 'x', state: 'suspended' }])).toBeNull();
  });

  it('asks whether to leave, stop or suspend running VMs (suspend only when a VM can)', () => {
    const d = quitDialog(vms)!;
    expect(d.message).toBe('3 virtual machines are running.');
    expect(d.choices).toEqual(['leave', 'stop', 'suspend', 'cancel']);
    expect(d.buttons).toEqual(['Leave Running', 'Stop and Quit', 'Suspend and Quit', 'Cancel']);
    expect(d.choices[d.cancelId]).toBe('cancel');
    const linuxOnly = quitDialog([vms[0]!])!;
    expect(linuxOnly.message).toBe('“debian” is running.');
    expect(linuxOnly.choices).toEqual(['leave', 'stop', 'cancel']);
  });

  it('turns the choice into contract requests', () => {
    expect(quitRequests('leave', vms)).toEqual([]);
    expect(quitRequests('cancel', vms)).toEqual([]);
    expect(quitRequests('stop', vms)).toEqual([
      { method: 'vm.stop', params: { name: 'debian', timeoutSeconds: 30 } },
      { method: 'vm.stop', params: { name: 'mac', timeoutSeconds: 30 } },
    ]);
    expect(quitRequests('suspend', vms)).toEqual([
      { method: 'vm.stop', params: { name: 'debian', timeoutSeconds: 30 } },
      { method: 'vm.suspend', params: { name: 'mac' } },
    ]);
    expect(activeVms(vms).map((v) => v.name)).toEqual(['debian', 'mac', 'halting']);
  });

  it('keeps the app alive when the window closes while there is a tray, VMs run, or on macOS', () => {
    expect(quitWhenAllWindowsClosed({ platform: 'darwin', hasTray: false, vms: [] })).toBe(false);
    expect(quitWhenAllWindowsClosed({ platform: 'linux', hasTray: true, vms: [] })).toBe(false);
    expect(quitWhenAllWindowsClosed({ platform: 'linux', hasTray: false, vms })).toBe(false);
    expect(quitWhenAllWindowsClosed({ platform: 'linux', hasTray: false, vms: [vms[2]!] })).toBe(true);
  });
});
