import { useShallow } from 'zustand/react/shallow';
import { formatBytes, formatRelative } from '../lib/format';
import { useImages, useStores } from '../stores/react';
import { IconDownload, IconImages } from '../components/icons';
import { ErrorBox } from '../components/TaskError';

/** Cached OCI images (Tart's cache): what was pulled, how big it is, and "Clone to new VM". */
export function Images() {
  const { list, loaded, error } = useImages(useShallow((s) => ({ list: s.list, loaded: s.loaded, error: s.error })));
  const ui = useStores().ui.getState();
  // A tag and its digest name the same files (Tart lists both): show the tag, note the digest, count the bytes once.
  const tagged = new Set(list.filter((i) => i.kind === 'tag').map((i) => i.digest));
  const sorted = list.filter((i) => i.kind === 'tag' || !tagged.has(i.digest)).sort((a, b) => a.name.localeCompare(b.name));
  const total = [...new Map(list.map((i) => [i.digest, i.disk.allocated])).values()].reduce((n, b) => n + b, 0);
  return (
    <section className="view" aria-labelledby="images-title">
      <header className="view-head">
        <div>
          <h1 id="images-title">Images</h1>
          <p className="muted small">{loaded ? `${sorted.length} cached ${sorted.length === 1 ? 'image' : 'images'} · ${formatBytes(total)} on disk` : 'Loading…'}</p>
        </div>
        <div className="view-actions">
          <button type="button" className="button button-primary" onClick={() => ui.open({ kind: 'pull' })}>
            <IconDownload /> Pull image
          </button>
        </div>
      </header>
      {error && <ErrorBox error={error} title="The image cache could not be read" />}
      {loaded && list.length === 0 && !error ? (
        <div className="empty">
          <div className="empty-art" aria-hidden="true">
            <IconImages width={40} height={40} />
          </div>
          <h2>No cached images</h2>
          <p className="muted">Images you pull from a registry are kept here, so cloning them again is instant.</p>
          <button type="button" className="button button-primary" onClick={() => ui.open({ kind: 'pull' })}>
            Pull an image
          </button>
        </div>
      ) : (
        <table className="table" aria-label="Cached images">
          <thead>
            <tr>
              <th scope="col">Image</th>
              <th scope="col" className="col-digest">
                Digest
              </th>
              <th scope="col" className="col-size">
                Size
              </th>
              <th scope="col" className="col-used">
                Last used
              </th>
              <th scope="col" className="col-actions">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {sorted.map((img) => (
              <tr key={img.name} aria-label={img.name}>
                <td className="mono image-name">{img.name}</td>
                <td className="mono muted small" title={img.digest}>
                  {img.digest.slice(0, 19)}…
                </td>
                <td title={`${formatBytes(img.disk.apparent)} apparent, ${formatBytes(img.disk.allocated)} allocated`}>
                  {formatBytes(img.disk.apparent)} <span className="muted small">({formatBytes(img.disk.allocated)} used)</span>
                </td>
                <td className="muted small">{formatRelative(img.accessedAt)}</td>
                <td className="row-actions">
                  <button type="button" className="button button-small" onClick={() => ui.open({ kind: 'clone', source: img.name, fromImage: true })} aria-label={`Clone ${img.name} to new VM`}>
                    Clone to new VM
                  </button>
                  <button type="button" className="button button-small button-ghost" onClick={() => ui.open({ kind: 'deleteImage', name: img.name })} aria-label={`Delete ${img.name}`}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
