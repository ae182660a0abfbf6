import { useId, useMemo, useState } from 'react';
import { formatBytes } from '../lib/format';
import { useAction } from '../lib/useAction';
import { isLocalRegistry, referenceQuickProblem, vmNameProblem } from '../lib/validate';
import type { Dialog } from '../stores';
import { useImages, useStores, useUi, useVms } from '../stores/react';
import { CreateDialog } from './CreateDialog';
import { Field, Modal } from './Modal';
import { PullDialog } from './PullDialog';
import { ErrorBox } from './TaskError';
import { MOD } from './vmActions';

/** Renders whichever dialog the ui store has open. */
export function Dialogs() {
  const dialog = useUi((s) => s.dialog);
  const close = useStores().ui.getState().close;
  if (!dialog) return null;
  switch (dialog.kind) {
    case 'pull':
      return <PullDialog initial={dialog.reference} onClose={close} />;
    case 'create':
      return <CreateDialog source={dialog.source} onClose={close} />;
    case 'clone':
      return <CloneDialog d={dialog} onClose={close} />;
    case 'rename':
      return <RenameDialog name={dialog.name} onClose={close} />;
    case 'delete':
      return <DeleteDialog name={dialog.name} onClose={close} />;
    case 'deleteImage':
      return <DeleteImageDialog name={dialog.name} onClose={close} />;
    case 'push':
      return <PushDialog name={dialog.name} onClose={close} />;
    case 'shortcuts':
      return <ShortcutsDialog onClose={close} />;
  }
}

function useTakenNames(): Set<string> {
  const list = useVms((s) => s.list);
  return useMemo(() => new Set(list.map((v) => v.name)), [list]);
}

/** A sensible VM name from an image reference: ghcr.io/cirruslabs/debian:latest → debian. */
export function suggestName(source: string, taken: Set<string>): string {
  const last = source.split('/').pop() ?? source;
  let base = last.split('@')[0]!.split(':')[0]!.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[.-]+/, '') || 'vm';
  if (!source.includes('/')) base = `${base}-copy`;
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) if (!taken.has(`${base}-${i}`)) return `${base}-${i}`;
}

function CloneDialog({ d, onClose }: { d: Extract<Dialog, { kind: 'clone' }>; onClose(): void }) {
  const stores = useStores();
  const taken = useTakenNames();
  const id = useId();
  const [name, setName] = useState(() => suggestName(d.source, taken));
  const { busy, error, run } = useAction();
  const problem = vmNameProblem(name, taken);
  const submit = async () => {
    if (problem) return;
    await run(async () => {
      const pp = stores.tasks.getState().paramsFor(d.source);
      await stores.client.request('vm.clone', { source: d.source, name, ...(pp?.insecure || isLocalRegistry(d.source) ? { insecure: true } : {}) });
      stores.ui.getState().toast({ tone: 'info', title: `Cloning ${d.source} to ${name}…` });
      onClose();
    });
  };
  return (
    <Modal
      open
      onOpenChange={(o) => !o && onClose()}
      title={d.fromImage ? 'Clone to new VM' : `Clone ${d.source}`}
      description={d.fromImage ? `Make a VM from the cached image ${d.source}.` : `Copy ${d.source} to a new VM. Disks are copied sparsely (or cloned copy-on-write where the file system can).`}
      footer={
        <>
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" form={`${id}-f`} className="button button-primary" disabled={!!problem || busy}>
            Clone
          </button>
        </>
      }
    >
      <form id={`${id}-f`} onSubmit={(e) => (e.preventDefault(), void submit())}>
        <Field id={`${id}-n`} label="New VM name" error={problem}>
          <input id={`${id}-n`} className="input" autoFocus value={name} onChange={(e) => setName(e.target.value)} spellCheck={false} />
        </Field>
      </form>
      {error && <ErrorBox error={error} title="The clone did not start" />}
    </Modal>
  );
}

function RenameDialog({ name, onClose }: { name: string; onClose(): void }) {
  const stores = useStores();
  const taken = useTakenNames();
  const id = useId();
  const [newName, setNewName] = useState(name);
  const { error, run } = useAction();
  const others = useMemo(() => new Set([...taken].filter((n) => n !== name)), [taken, name]);
  const problem = newName === name ? 'Enter a different name.' : vmNameProblem(newName, others);
  const submit = async () => {
    if (problem) return;
    await run(async () => {
      await stores.client.request('vm.rename', { name, newName });
      const ui = stores.ui.getState();
      if (ui.route.view === 'vm' && ui.route.name === name) ui.navigate({ ...ui.route, name: newName });
      if (ui.selected === name) ui.select(newName);
      onClose();
    });
  };
  return (
    <Modal
      open
      onOpenChange={(o) => !o && onClose()}
      title={`Rename ${name}`}
      footer={
        <>
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" form={`${id}-f`} className="button button-primary" disabled={!!problem}>
            Rename
          </button>
        </>
      }
    >
      <form id={`${id}-f`} onSubmit={(e) => (e.preventDefault(), void submit())}>
        <Field id={`${id}-n`} label="New name" error={newName === name ? null : problem}>
          <input id={`${id}-n`} className="input" autoFocus value={newName} onChange={(e) => setNewName(e.target.value)} spellCheck={false} />
        </Field>
      </form>
      {error && <ErrorBox error={error} title="The VM was not renamed" />}
    </Modal>
  );
}

function DeleteDialog({ name, onClose }: { name: string; onClose(): void }) {
  const stores = useStores();
  const vm = useVms((s) => s.list.find((v) => v.name === name));
  const { busy, error, run } = useAction();
  const running = vm && vm.state !== 'stopped' && vm.state !== 'suspended' && vm.state !== 'broken' && vm.state !== 'error';
  const submit = () =>
    run(async () => {
      await stores.client.request('vm.delete', { name });
      const ui = stores.ui.getState();
      if (ui.route.view === 'vm' && ui.route.name === name) ui.navigate({ view: 'library' });
      if (ui.selected === name) ui.select(null);
      ui.toast({ tone: 'info', title: `Deleted ${name}` });
      onClose();
    });
  return (
    <Modal
      open
      onOpenChange={(o) => !o && onClose()}
      title={`Delete “${name}”?`}
      description={
        <>
          This permanently deletes the VM’s disk{vm ? ` (${formatBytes(vm.disk.allocated)} of data, ${formatBytes(vm.disk.apparent)} disk)` : ''}, its configuration and its NVRAM
          {vm?.state === 'suspended' ? ', and its saved state' : ''}. Everything installed in it is lost. This cannot be undone.
        </>
      }
      footer={
        <>
          <button type="button" className="button" onClick={onClose} autoFocus>
            Keep it
          </button>
          <button type="button" className="button button-danger" disabled={busy || !!running} onClick={() => void submit()}>
            Delete {name}
          </button>
        </>
      }
    >
      {running && <p className="notice">{name} is {vm!.state}. Stop it before deleting it.</p>}
      {error && <ErrorBox error={error} title="The VM was not deleted" />}
    </Modal>
  );
}

function DeleteImageDialog({ name, onClose }: { name: string; onClose(): void }) {
  const stores = useStores();
  const img = useImages((s) => s.list.find((i) => i.name === name));
  const { error, run } = useAction();
  return (
    <Modal
      open
      onOpenChange={(o) => !o && onClose()}
      title={`Remove ${name} from the cache?`}
      description={`This frees ${img ? formatBytes(img.disk.allocated) : 'its space'}. VMs cloned from it keep working; pulling it again downloads it again.`}
      footer={
        <>
          <button type="button" className="button" onClick={onClose}>
            Keep it
          </button>
          <button
            type="button"
            className="button button-danger"
            onClick={() =>
              void run(async () => {
                await stores.client.request('image.delete', { name });
                onClose();
              })
            }
          >
            Remove image
          </button>
        </>
      }
    >
      {error && <ErrorBox error={error} />}
    </Modal>
  );
}

function PushDialog({ name, onClose }: { name: string; onClose(): void }) {
  const stores = useStores();
  const id = useId();
  const [target, setTarget] = useState('');
  const [insecure, setInsecure] = useState(false);
  const { error, run } = useAction();
  const problem = target ? referenceQuickProblem(target) : null;
  const submit = async () => {
    if (!target || problem) return;
    await run(async () => {
      await stores.client.request('image.push', { source: name, targets: [target.trim()], ...(insecure || isLocalRegistry(target) ? { insecure: true } : {}) });
      stores.ui.getState().toast({ tone: 'info', title: `Pushing ${name} to ${target.trim()}…`, description: 'Progress is in Tasks.' });
      onClose();
    });
  };
  return (
    <Modal
      open
      onOpenChange={(o) => !o && onClose()}
      title={`Push ${name}`}
      description="Upload this VM as an OCI image that Tart and Nestbox can pull."
      footer={
        <>
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" form={`${id}-f`} className="button button-primary" disabled={!target || !!problem}>
            Push
          </button>
        </>
      }
    >
      <form id={`${id}-f`} onSubmit={(e) => (e.preventDefault(), void submit())}>
        <Field id={`${id}-t`} label="Target reference" error={problem} hint="host[:port]/repository:tag — log in first for private registries (nestbox login).">
          <input id={`${id}-t`} className="input mono" autoFocus value={target} placeholder="ghcr.io/you/my-vm:latest" onChange={(e) => setTarget(e.target.value)} spellCheck={false} />
        </Field>
        <label className="checkbox">
          <input type="checkbox" checked={insecure || isLocalRegistry(target)} onChange={(e) => setInsecure(e.target.checked)} /> Registry uses plain HTTP (insecure)
        </label>
      </form>
      {error && <ErrorBox error={error} title="The push did not start" />}
    </Modal>
  );
}

export const SHORTCUTS: [string, string][] = [
  [`${MOD}N`, 'New VM'],
  [`${MOD}Shift+P`, 'Pull an image'],
  [`${MOD}1 / 2 / 3`, 'Library / Images / Tasks'],
  ['/', 'Filter the library'],
  ['↑ ↓', 'Select a VM'],
  ['Enter', 'Open the selected VM'],
  ['Delete', 'Delete the selected VM (asks first)'],
  ['?', 'This list'],
];

function ShortcutsDialog({ onClose }: { onClose(): void }) {
  return (
    <Modal open onOpenChange={(o) => !o && onClose()} title="Keyboard shortcuts">
      <dl className="shortcuts">
        {SHORTCUTS.map(([k, v]) => (
          <div key={k}>
            <dt>
              <kbd>{k}</kbd>
            </dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>
    </Modal>
  );
}
