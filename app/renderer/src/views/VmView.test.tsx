import { act, cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeBridge, fakeVm } from '../test/fakeBridge';
import { renderWith } from '../test/render';
import { VmView } from './VmView';

afterEach(cleanup);

describe('VmView', () => {
  it('offers the controls that fit the state, follows vm.state events, and copies the IP', async () => {
    const { fake } = renderWith(() => <VmView name="dev" tab="screen" />, { vms: [fakeVm('dev')] });
    const controls = await screen.findByRole('toolbar', { name: 'VM controls' });
    expect(within(controls).queryByRole('button', { name: 'Stop' })).toBeNull();
    fireEvent.click(within(controls).getByRole('button', { name: 'Start' }));
    await waitFor(() => expect(within(controls).getByRole('button', { name: 'Stop' })).toBeTruthy());
    expect(fake.calls.find((c) => c.method === 'vm.start')!.params).toEqual({ name: 'dev' });
    expect(within(controls).getByRole('button', { name: 'Pause' })).toBeTruthy();
    expect(within(controls).getByRole('button', { name: 'Suspend' })).toBeTruthy();

    const writeText = vi.fn(async () => {});
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    fireEvent.click(await screen.findByRole('button', { name: 'Copy IP address' }));
    await waitFor(() => expect(writeText).toHaveBeenCalledWith('10.0.2.15'));

    // Stopped elsewhere (CLI, another window): the page follows.
    act(() => {
      fake.vms[0]!.state = 'stopped';
      fake.emit('vm.state', { name: 'dev', state: 'stopped' });
    });
    await waitFor(() => expect(within(controls).getByRole('button', { name: 'Start' })).toBeTruthy());
    expect(screen.getByRole('button', { name: 'Start dev' })).toBeTruthy();
  });

  it('explains why a VM cannot run here instead of failing later', async () => {
    const fake = new FakeBridge({ vms: [fakeVm('mac', { os: 'darwin', arch: 'arm64' })] });
    const detail = fake.detail.bind(fake);
    fake.detail = (n) => ({ ...detail(n), canRun: { ok: false, reason: 'macOS guests need a Mac with Apple silicon.', fix: 'Run it on a Mac, or push it and pull it there.' } });
    renderWith(() => <VmView name="mac" tab="screen" />, fake);
    expect(await screen.findByText('macOS guests need a Mac with Apple silicon.', { selector: '.error-message' })).toBeTruthy();
    expect(screen.getByText('Run it on a Mac, or push it and pull it there.')).toBeTruthy();
    expect((within(screen.getByRole('toolbar', { name: 'VM controls' })).getByRole('button', { name: 'Start' }) as HTMLButtonElement).disabled).toBe(true);
  });

  it('says when the VM is gone', async () => {
    renderWith(() => <VmView name="ghost" tab="settings" />);
    expect(await screen.findByText('“ghost” is not in the library')).toBeTruthy();
  });
});
