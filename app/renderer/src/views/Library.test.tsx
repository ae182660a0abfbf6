import { act, cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeVm, manyVms } from '../test/fakeBridge';
import { renderApp } from '../test/render';
import { disabled } from '../test/dom';

afterEach(() => {
  cleanup();
  history.replaceState(null, '', '#/');
});

describe('Library', () => {
  it('tells a new user what to do when there is nothing yet', async () => {
    const { stores } = renderApp();
    expect(await screen.findByText('No virtual machines yet')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: /Pull a ready-made image/ }));
    expect(stores.ui.getState().dialog).toEqual({ kind: 'pull', reference: 'ghcr.io/cirruslabs/ubuntu:latest' });
    expect(screen.getByText('macOS guests: macOS guests need a Mac with Apple silicon; this host is Linux.')).toBeTruthy();
  });

  it('shows each VM with OS, resources, state and last use; filters and sorts', async () => {
    renderApp({ vms: [fakeVm('web', { state: 'running' }), fakeVm('db', { os: 'darwin', arch: 'arm64' }), fakeVm('ci-runner', { state: 'broken', stateReason: 'config.json is missing' })] });
    const row = await screen.findByRole('listitem', { name: 'web' });
    expect(row.textContent).toContain('Linux · amd64');
    expect(row.textContent).toContain('2 CPU');
    expect(row.textContent).toContain('4 GB');
    expect(row.textContent).toContain('20 GB (2.5 GB used)');
    expect(row.textContent).toContain('Running');
    expect(screen.getByText('3 VMs · 1 running')).toBeTruthy();
    expect(within(screen.getByRole('listitem', { name: 'ci-runner' })).getByText('Broken').closest('[title]')!.getAttribute('title')).toBe('config.json is missing');

    const names = () => screen.getAllByRole('listitem').map((li) => li.getAttribute('aria-label'));
    expect(names()).toEqual(['ci-runner', 'db', 'web']);
    fireEvent.change(screen.getByLabelText('Filter VMs'), { target: { value: 'macos' } });
    expect(names()).toEqual(['db']);
    fireEvent.change(screen.getByLabelText('Filter VMs'), { target: { value: '' } });
    fireEvent.click(screen.getByRole('radio', { name: 'Active' }));
    expect(names()).toEqual(['web']);
  });

  it('deletes from the context menu after a confirmation that names what will be lost', async () => {
    const { fake } = renderApp({ vms: [fakeVm('old', { disk: { apparent: 64e9, allocated: 12e9 } }), fakeVm('keep')] });
    const row = await screen.findByRole('listitem', { name: 'old' });
    fireEvent.contextMenu(row);
    const item = await screen.findByRole('menuitem', { name: /Delete…/ });
    fireEvent.click(item);
    const dialog = await screen.findByRole('dialog', { name: 'Delete “old”?' });
    expect(dialog.textContent).toContain('permanently deletes the VM’s disk (12 GB of data, 64 GB disk), its configuration and its NVRAM');
    fireEvent.click(within(dialog).getByRole('button', { name: 'Delete old' }));
    await waitFor(() => expect(screen.queryByRole('listitem', { name: 'old' })).toBeNull());
    expect(fake.calls.find((c) => c.method === 'vm.delete')!.params).toEqual({ name: 'old' });
  });

  it('sorts from the sort menu: by last used, newest first, and back by name', async () => {
    const vms = [fakeVm('b', { accessedAt: '2026-11-01T00:00:00Z' }), fakeVm('a', { accessedAt: '2026-10-01T00:00:00Z' }), fakeVm('c', { accessedAt: '2026-11-20T00:00:00Z' })];
    renderApp({ vms });
    await screen.findByRole('listitem', { name: 'a' });
    const names = () => screen.getAllByRole('listitem').map((li) => li.getAttribute('aria-label'));
    expect(names()).toEqual(['a', 'b', 'c']);
    const button = screen.getByRole('button', { name: 'Sort by Name, ascending' });
    expect(button.getAttribute('aria-expanded')).toBe('false');
    fireEvent.click(button);
    const menu = await screen.findByRole('menu', { name: 'Sort by' });
    expect(button.getAttribute('aria-expanded')).toBe('true');
    fireEvent.click(within(menu).getByRole('menuitemradio', { name: /Last used/ }));
    await waitFor(() => expect(names()).toEqual(['c', 'b', 'a']));
    expect(screen.getByRole('button', { name: /^Sort by Last used, descending$/ })).toBeTruthy();
    await waitFor(() => expect(screen.queryByRole('menu', { name: 'Sort by' })).toBeNull());
    fireEvent.click(screen.getByRole('button', { name: /^Sort by Last used/ }));
    fireEvent.click(within(await screen.findByRole('menu', { name: 'Sort by' })).getByRole('menuitemradio', { name: /Name/ }));
    await waitFor(() => expect(names()).toEqual(['a', 'b', 'c']));
  });

  it('refuses to delete a running VM until it is stopped', async () => {
    renderApp({ vms: [fakeVm('busy', { state: 'running' })] });
    fireEvent.click(await screen.findByRole('button', { name: 'More actions for busy' }));
    // The menus load on first use.
    expect(await screen.findByRole('menu', { name: 'Actions for busy' })).toBeTruthy();
    fireEvent.click(await screen.findByRole('menuitem', { name: /Delete…/ }));
    const dialog = await screen.findByRole('dialog');
    expect(dialog.textContent).toContain('busy is running. Stop it before deleting it.');
    expect(disabled(within(dialog).getByRole('button', { name: 'Delete busy' }))).toBe(true);
  });

  it('keyboard: arrows select, Delete asks, Ctrl+Shift+P pulls, Ctrl+N creates, Enter opens', async () => {
    const { stores } = renderApp({ vms: [fakeVm('a'), fakeVm('b')] });
    await screen.findByRole('listitem', { name: 'a' });
    fireEvent.keyDown(window, { key: 'ArrowDown' });
    fireEvent.keyDown(window, { key: 'ArrowDown' });
    expect(stores.ui.getState().selected).toBe('b');
    fireEvent.keyDown(window, { key: 'Delete' });
    expect(stores.ui.getState().dialog).toEqual({ kind: 'delete', name: 'b' });
    act(() => stores.ui.getState().close());
    fireEvent.keyDown(window, { key: 'P', ctrlKey: true, shiftKey: true });
    expect(stores.ui.getState().dialog).toEqual({ kind: 'pull' });
    act(() => stores.ui.getState().close());
    fireEvent.keyDown(window, { key: 'n', ctrlKey: true });
    expect(stores.ui.getState().dialog).toEqual({ kind: 'create' });
    act(() => stores.ui.getState().close());
    fireEvent.keyDown(document.body, { key: 'Enter' });
    expect(stores.ui.getState().route).toEqual({ view: 'vm', name: 'b', tab: 'screen' });
  });

  it('renders only a window of rows for 500 VMs', async () => {
    renderApp({ vms: manyVms(500) });
    await screen.findByText('500 VMs · 125 running');
    const rows = screen.getAllByRole('listitem');
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThan(40);
  });
});
