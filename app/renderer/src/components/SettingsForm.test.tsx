import { cleanup, fireEvent, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeBridge, fakeVm } from '../test/fakeBridge';
import { renderWith } from '../test/render';
import { disabled, valueOf } from '../test/dom';
import { SettingsForm } from './SettingsForm';
import { runVmAction } from './vmActions';

afterEach(cleanup);
const MiB = 1024 * 1024;

function setup(state: 'stopped' | 'running' = 'stopped') {
  const fake = new FakeBridge({ vms: [fakeVm('dev', { state, cpuCount: 2, memorySize: 4096 * MiB, disk: { apparent: 20e9, allocated: 1e9 } })] });
  const vm = { ...fake.detail('dev'), cpuCountMin: 2, memorySizeMin: 2048 * MiB };
  return renderWith(() => <SettingsForm vm={vm} />, fake);
}

describe('SettingsForm', () => {
  it('refuses invalid values with the reason and keeps Save disabled', async () => {
    setup();
    const save = screen.getByRole('button', { name: 'Save' });
    expect(disabled(save)).toBe(true);

    fireEvent.change(screen.getByLabelText('CPUs'), { target: { value: '1' } });
    expect(screen.getByRole('alert').textContent).toBe("At least 2 CPUs: this guest's configuration requires at least 2 (cpuCountMin).");
    expect(disabled(save)).toBe(true);

    fireEvent.change(screen.getByLabelText('CPUs'), { target: { value: '64' } });
    expect(screen.getByRole('alert').textContent).toBe('At most 8 CPUs: this host allows at most 8.');

    fireEvent.change(screen.getByLabelText('CPUs'), { target: { value: '4' } });
    fireEvent.change(screen.getByLabelText('Disk size (GB)'), { target: { value: '10' } });
    expect(screen.getByRole('alert').textContent).toMatch(/^Disks can only grow: this disk is already 20 GB,/);
    expect(disabled(save)).toBe(true);
  });

  it('saves only what changed through vm.set and shows the result', async () => {
    const { fake } = setup();
    fireEvent.change(screen.getByLabelText('CPUs'), { target: { value: '4' } });
    fireEvent.change(screen.getByLabelText('Memory (MB)'), { target: { value: '6144' } });
    fireEvent.change(screen.getByLabelText('Disk size (GB)'), { target: { value: '40' } });
    expect(screen.getByText('Unsaved changes')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(fake.calls.some((c) => c.method === 'vm.set')).toBe(true));
    expect(fake.calls.find((c) => c.method === 'vm.set')!.params).toEqual({ name: 'dev', cpuCount: 4, memoryMB: 6144, diskSizeGB: 40 });
    await waitFor(() => expect(fake.vms[0]!.cpuCount).toBe(4));
  });

  it('shows the engine\'s refusal with its fix', async () => {
    const { fake } = setup();
    fake.on('vm.set', () => {
      throw { code: 'INVALID_ARGUMENT', message: 'The disk of "dev" cannot grow: the volume has 3 GB free.', fix: 'Free space on the volume holding ~/.tart.' };
    });
    fireEvent.change(screen.getByLabelText('Disk size (GB)'), { target: { value: '500' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    expect(await screen.findByText('The disk of "dev" cannot grow: the volume has 3 GB free.')).toBeTruthy();
    expect(screen.getByText('Free space on the volume holding ~/.tart.')).toBeTruthy();
  });

  it('says a running VM must be stopped, and disables the fields', () => {
    setup('running');
    expect(screen.getByRole('note').textContent).toContain('dev is running. Stop it to change CPUs, memory, disk or display');
    expect(disabled(screen.getByLabelText('CPUs'))).toBe(true);
    expect(disabled(screen.getByRole('button', { name: 'Save' }))).toBe(true);
  });

  it('remembers shared folders for the next start', () => {
    setup();
    fireEvent.change(screen.getByLabelText('Shared folder path'), { target: { value: '/srv/project' } });
    fireEvent.click(screen.getByRole('button', { name: 'Add folder' }));
    expect(screen.getByRole('button', { name: 'Remove shared folder /srv/project' })).toBeTruthy();
    expect(JSON.parse(localStorage.getItem('nestbox.sharedDirs.dev')!)).toEqual([{ path: '/srv/project', readOnly: false }]);
    expect(valueOf(screen.getByLabelText('Shared folder path'))).toBe('');
    localStorage.clear();
  });

  it('clipboard sharing: Automatic sends nothing; On/Off are remembered and sent with the next start', async () => {
    const { fake, stores } = setup();
    const select = screen.getByLabelText('Clipboard sharing');
    expect(valueOf(select)).toBe('auto');
    await runVmAction(stores, 'dev', 'start');
    expect(fake.calls.filter((c) => c.method === 'vm.start').at(-1)!.params).toEqual({ name: 'dev' });
    fireEvent.change(select, { target: { value: 'on' } });
    expect(localStorage.getItem('nestbox.clipboard.dev')).toBe('on');
    await runVmAction(stores, 'dev', 'start');
    expect(fake.calls.filter((c) => c.method === 'vm.start').at(-1)!.params).toEqual({ name: 'dev', clipboard: true });
    fireEvent.change(select, { target: { value: 'off' } });
    await runVmAction(stores, 'dev', 'start');
    expect(fake.calls.filter((c) => c.method === 'vm.start').at(-1)!.params).toEqual({ name: 'dev', clipboard: false });
    fireEvent.change(select, { target: { value: 'auto' } });
    expect(localStorage.getItem('nestbox.clipboard.dev')).toBeNull();
  });
});
