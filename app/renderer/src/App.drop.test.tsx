import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { renderApp } from './test/render';
import { valueOf } from './test/dom';

afterEach(() => {
  cleanup();
  delete window.nestboxFiles;
});

function drop(container: HTMLElement, name: string) {
  const app = container.querySelector('.app')!;
  const file = new File(['x'], name);
  const dataTransfer = { files: [file], types: ['Files'] };
  fireEvent.dragOver(app, { dataTransfer });
  fireEvent.drop(app, { dataTransfer });
}

describe('dropping a file onto the window', () => {
  it('in the desktop app: an ISO opens the create flow with its path filled in', async () => {
    window.nestboxFiles = { pathForFile: (f) => `/Users/me/Downloads/${f.name}` };
    const { container } = renderApp();
    drop(container, 'debian-12.iso');
    const dialog = await screen.findByRole('dialog', { name: 'New virtual machine' });
    await waitFor(() => expect(valueOf(within(dialog).getByLabelText('Installer ISO (optional)'))).toBe('/Users/me/Downloads/debian-12.iso'));
  });

  it('in the browser: opens the create flow and asks for the path on the server', async () => {
    const { container } = renderApp();
    drop(container, 'debian-12.iso');
    await screen.findByRole('dialog', { name: 'New virtual machine' });
    expect(await screen.findByText('Enter where debian-12.iso is on the server')).toBeTruthy();
  });

  it('refuses a file that is not an installer, saying what it takes', async () => {
    const { container } = renderApp();
    drop(container, 'notes.txt');
    expect(await screen.findByText('notes.txt is not an installer')).toBeTruthy();
    expect(screen.getByText('Drop an .iso, a raw disk image (.img, .raw) or a macOS .ipsw.')).toBeTruthy();
    expect(screen.queryByRole('dialog', { name: 'New virtual machine' })).toBeNull();
  });
});
