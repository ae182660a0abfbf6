import { cleanup, fireEvent, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeImage } from '../test/fakeBridge';
import { renderWith } from '../test/render';
import { Images } from './Images';

afterEach(cleanup);

describe('Images', () => {
  it('shows a tag once (not again as its digest), counts shared bytes once, and offers clone and delete', async () => {
    const digest = 'sha256:' + '12'.repeat(32);
    const { stores } = renderWith(() => <Images />, {
      images: [
        fakeImage('ghcr.io/x/debian:latest', { digest, disk: { apparent: 20e9, allocated: 3e9 } }),
        fakeImage(`ghcr.io/x/debian@${digest}`, { kind: 'digest', digest, disk: { apparent: 20e9, allocated: 3e9 } }),
        fakeImage('ghcr.io/x/other@sha256:' + '34'.repeat(32), { kind: 'digest', digest: 'sha256:' + '34'.repeat(32), disk: { apparent: 5e9, allocated: 1e9 } }),
      ],
    });
    await screen.findByRole('row', { name: 'ghcr.io/x/debian:latest' });
    expect(screen.queryByRole('row', { name: `ghcr.io/x/debian@${digest}` })).toBeNull();
    expect(screen.getByRole('row', { name: /ghcr.io\/x\/other@sha256/ })).toBeTruthy();
    expect(screen.getByText('2 cached images · 4 GB on disk')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Clone ghcr.io/x/debian:latest to new VM' }));
    expect(stores.ui.getState().dialog).toEqual({ kind: 'clone', source: 'ghcr.io/x/debian:latest', fromImage: true });
  });
});
