import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeVm } from '../test/fakeBridge';
import { renderWith } from '../test/render';
import { disabled, valueOf } from '../test/dom';
import { CreateDialog } from './CreateDialog';

afterEach(cleanup);
const GiB = 1024 ** 3;

describe('CreateDialog', () => {
  it('starts from defaults that fit the host and creates a Linux VM from an ISO', async () => {
    const { fake } = renderWith(() => <CreateDialog onClose={() => {}} />, { vms: [fakeVm('linux')], host: { cpus: 16, memory: 64 * GiB } });
    const dialog = await screen.findByRole('dialog', { name: 'New virtual machine' });
    await waitFor(() => expect(valueOf(within(dialog).getByLabelText('CPUs'))).toBe('8'));
    expect(valueOf(within(dialog).getByLabelText('Memory (MB)'))).toBe('8192');
    expect(valueOf(within(dialog).getByLabelText('Name'))).toBe('linux-2'); // "linux" is taken

    fireEvent.change(within(dialog).getByLabelText('CPUs'), { target: { value: '32' } });
    expect(within(dialog).getByRole('alert').textContent).toBe('At most 16: this host has 16 CPUs.');
    expect(disabled(within(dialog).getByRole('button', { name: 'Create' }))).toBe(true);
    fireEvent.change(within(dialog).getByLabelText('CPUs'), { target: { value: '4' } });
    fireEvent.change(within(dialog).getByLabelText('Installer ISO (optional)'), { target: { value: 'debian.iso' } });
    expect(within(dialog).getByRole('alert').textContent).toBe('Enter an absolute path on the host (starting with “/”).');
    fireEvent.change(within(dialog).getByLabelText('Installer ISO (optional)'), { target: { value: '/isos/debian-12.iso' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Create' }));
    await waitFor(() => expect(fake.calls.some((c) => c.method === 'vm.create')).toBe(true));
    expect(fake.calls.find((c) => c.method === 'vm.create')!.params).toEqual({
      name: 'linux-2',
      os: 'linux',
      arch: 'amd64',
      cpuCount: 4,
      memoryMB: 8192,
      diskSizeGB: 50,
      installerIso: '/isos/debian-12.iso',
    });
  });

  it('says up front why macOS guests cannot be created on this host', async () => {
    renderWith(() => <CreateDialog source={{ path: '/dl/UniversalMac.ipsw', type: 'ipsw' }} onClose={() => {}} />);
    const dialog = await screen.findByRole('dialog', { name: 'New virtual machine' });
    expect(within(dialog).getByRole('tab', { name: 'macOS' }).getAttribute('aria-selected')).toBe('true');
    await waitFor(() => expect(dialog.textContent).toContain('macOS guests cannot run on this host: macOS guests need a Mac with Apple silicon; this host is Linux.'));
    expect(dialog.textContent).toContain('Run macOS VMs on a Mac.');
    expect(disabled(within(dialog).getByRole('button', { name: 'Create' }))).toBe(true);
  });
});
