import { act, fireEvent, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup } from '@testing-library/react';
import { renderWith } from '../test/render';
import { PullDialog } from './PullDialog';
import { checked, disabled, valueOf } from '../test/dom';
import { Dialogs } from './Dialogs';

afterEach(cleanup);

describe('PullDialog', () => {
  it('validates the reference as you type: locally first, then with the engine', async () => {
    const { fake } = renderWith(() => <PullDialog onClose={() => {}} />);
    const input = screen.getByLabelText('Image reference');
    const pull = screen.getByRole('button', { name: 'Pull' });
    expect(disabled(pull)).toBe(true);

    fireEvent.change(input, { target: { value: 'debian' } });
    expect((await screen.findByRole('alert')).textContent).toContain('Add the registry host');
    expect(disabled(pull)).toBe(true);

    fireEvent.change(input, { target: { value: 'ghcr.io/Org/Debian' } });
    await waitFor(() => expect(screen.getByRole('alert').textContent).toContain('Repository names must be lower-case.'));
    expect(fake.calls.some((c) => c.method === 'image.checkReference')).toBe(true);
    expect(disabled(pull)).toBe(true);

    fireEvent.change(input, { target: { value: 'ghcr.io/cirruslabs/debian' } });
    await waitFor(() => expect(disabled(pull)).toBe(false));
    expect(screen.getByText('Will pull ghcr.io/cirruslabs/debian:latest')).toBeTruthy();
  });

  it('offers well-known images and defaults to insecure for local registries', async () => {
    renderWith(() => <PullDialog onClose={() => {}} />);
    fireEvent.click(screen.getByRole('button', { name: 'Use Debian (stable)' }));
    expect(valueOf(screen.getByLabelText('Image reference'))).toBe('ghcr.io/cirruslabs/debian:latest');
    expect(checked(screen.getByRole('checkbox', { name: /plain HTTP/ }))).toBe(false);
    fireEvent.change(screen.getByLabelText('Image reference'), { target: { value: '127.0.0.1:5000/test/vm:1' } });
    expect(checked(screen.getByRole('checkbox', { name: /plain HTTP/ }))).toBe(true);
    // macOS suggestions say up front that this host cannot run them
    fireEvent.change(screen.getByLabelText('Image reference'), { target: { value: 'macos' } });
    expect((await screen.findAllByText(/Can be pulled here, but not run: macOS guests need a Mac/)).length).toBeGreaterThan(0);
  });

  it('shows a moving progress bar, cancels, resumes, and offers "Clone to new VM" at the end', async () => {
    const { fake, stores } = renderWith(() => (
      <>
        <PullDialog onClose={() => {}} />
        <Dialogs />
      </>
    ));
    fireEvent.change(screen.getByLabelText('Image reference'), { target: { value: '127.0.0.1:5000/test/vm:1' } });
    await waitFor(() => expect(disabled(screen.getByRole('button', { name: 'Pull' }))).toBe(false));
    fireEvent.click(screen.getByRole('button', { name: 'Pull' }));

    const bar = await screen.findByRole('progressbar', { name: 'Pull 127.0.0.1:5000/test/vm:1 progress' });
    const id = Object.keys(stores.tasks.getState().byId)[0]!;
    act(() => void fake.advancePull(id, 250_000_000));
    expect(bar.getAttribute('aria-valuenow')).toBe('25');
    expect(screen.getByText('250 MB of 1 GB')).toBeTruthy();
    expect(screen.getByText('52.4 MB/s')).toBeTruthy();

    fireEvent.click(screen.getByRole('button', { name: /Show layer details/ }));
    expect(screen.getByRole('progressbar', { name: 'Disk layer 1 of 4' }).getAttribute('aria-valuenow')).toBe('100');
    expect(screen.getByRole('progressbar', { name: 'Disk layer 2 of 4' }).getAttribute('aria-valuenow')).toBe('0');

    fireEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    await screen.findByRole('button', { name: 'Resume' });
    expect(fake.tasks.get(id)!.state).toBe('cancelled');

    fireEvent.click(screen.getByRole('button', { name: 'Resume' }));
    await waitFor(() => expect(fake.calls.filter((c) => c.method === 'image.pull')).toHaveLength(2));
    expect(fake.calls.filter((c) => c.method === 'image.pull')[1]!.params).toEqual({ reference: '127.0.0.1:5000/test/vm:1', insecure: true });
    const id2 = [...fake.tasks.keys()].at(-1)!;
    act(() => void fake.advancePull(id2, 1_000_000_000));
    await screen.findByRole('button', { name: 'Clone to new VM' });
    expect(screen.getByRole('progressbar', { name: /progress/ }).getAttribute('aria-valuenow')).toBe('100');

    fireEvent.click(screen.getByRole('button', { name: 'Clone to new VM' }));
    expect(stores.ui.getState().dialog).toEqual({ kind: 'clone', source: '127.0.0.1:5000/test/vm:1', fromImage: true });
    expect(valueOf(await screen.findByLabelText('New VM name'))).toBe('vm');
  });

  it('shows why a pull could not start', async () => {
    const { fake } = renderWith(() => <PullDialog initial="ghcr.io/x/y:1" onClose={() => {}} />);
    fake.on('image.pull', () => {
      throw { code: 'NO_SPACE', message: 'Not enough free space for ghcr.io/x/y:1: needs 50 GB, 3 GB free.', fix: 'Free space or prune the cache.' };
    });
    await waitFor(() => expect(disabled(screen.getByRole('button', { name: 'Pull' }))).toBe(false));
    fireEvent.click(screen.getByRole('button', { name: 'Pull' }));
    expect(await screen.findByText('Not enough free space for ghcr.io/x/y:1: needs 50 GB, 3 GB free.')).toBeTruthy();
    expect(screen.getByText('Free space or prune the cache.')).toBeTruthy();
  });
});
