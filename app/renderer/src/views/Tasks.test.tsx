import { cleanup, fireEvent, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { renderWith } from '../test/render';
import { Tasks } from './Tasks';

afterEach(cleanup);

describe('Tasks panel', () => {
  it('lists running tasks first, with progress, and failed ones with message, cause, fix and "copy details"', async () => {
    const { fake } = renderWith(() => <Tasks />);
    const done = fake.startTask('clone', 'Clone base to dev', { vm: 'dev' });
    fake.updateTask(done.id, { state: 'done', result: { vm: 'dev' } });
    const failed = fake.startTask('push', 'Push dev to ghcr.io/me/dev:1', { vm: 'dev', image: 'ghcr.io/me/dev:1' }, { done: 10, total: 100, unit: 'bytes' });
    fake.failTask(failed.id, {
      code: 'AUTH',
      message: 'ghcr.io refused the upload of ghcr.io/me/dev:1: not authorized.',
      fix: 'Log in with nestbox login ghcr.io and try again.',
      details: { cause: 'HTTP 401 from https://ghcr.io/v2/me/dev/blobs/uploads/', registry: 'ghcr.io' },
    }, false);
    const running = fake.startTask('pull', 'Pull ghcr.io/x/y:1', { image: 'ghcr.io/x/y:1' }, { done: 1, total: 4, unit: 'items' });

    const runningSection = await screen.findByRole('region', { name: 'Running tasks' });
    expect(runningSection.textContent).toContain('Pull ghcr.io/x/y:1');
    expect(screen.getByRole('progressbar', { name: 'Pull ghcr.io/x/y:1 progress' }).getAttribute('aria-valuenow')).toBe('25');

    const card = screen.getByRole('article', { name: 'Push dev to ghcr.io/me/dev:1' });
    expect(card.textContent).toContain('ghcr.io refused the upload of ghcr.io/me/dev:1: not authorized.');
    expect(card.textContent).toContain('Cause: HTTP 401 from https://ghcr.io/v2/me/dev/blobs/uploads/');
    expect(card.textContent).toContain('What to do: Log in with nestbox login ghcr.io and try again.');

    const writeText = vi.fn(async () => {});
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    fireEvent.click(screen.getByRole('button', { name: 'Copy details' }));
    await waitFor(() => expect(writeText).toHaveBeenCalled());
    const copied = JSON.parse((writeText.mock.calls[0] as unknown as [string])[0]);
    expect(copied).toMatchObject({ code: 'AUTH', fix: 'Log in with nestbox login ghcr.io and try again.', task: { id: failed.id, kind: 'push' }, details: { registry: 'ghcr.io' } });

    expect(screen.getByRole('button', { name: 'Open dev' })).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    await waitFor(() => expect(fake.tasks.get(running.id)!.state).toBe('cancelled'));
    fireEvent.click(screen.getByRole('button', { name: 'Clear finished' }));
    expect(screen.getByText('No tasks')).toBeTruthy();
  });
});
