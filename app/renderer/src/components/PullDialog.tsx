import { useEffect, useId, useMemo, useRef, useState } from 'react';
import { toError } from '../stores';
import { useApi, useHost, useStores, useTasks } from '../stores/react';
import { useAction } from '../lib/useAction';
import { isLocalRegistry, referenceQuickProblem } from '../lib/validate';
import { Field, Modal } from './Modal';
import { TaskCard } from './TaskCard';
import { ErrorBox } from './TaskError';

/** Well-known images (Tart's and Cirrus Labs' public ones) offered as suggestions. */
export const SUGGESTED_IMAGES: { reference: string; label: string; os: 'linux' | 'darwin' }[] = [
  { reference: 'ghcr.io/cirruslabs/ubuntu:latest', label: 'Ubuntu (latest LTS)', os: 'linux' },
  { reference: 'ghcr.io/cirruslabs/debian:latest', label: 'Debian (stable)', os: 'linux' },
  { reference: 'ghcr.io/cirruslabs/fedora:latest', label: 'Fedora', os: 'linux' },
  { reference: 'ghcr.io/cirruslabs/macos-sequoia-base:latest', label: 'macOS Sequoia', os: 'darwin' },
  { reference: 'ghcr.io/cirruslabs/macos-sonoma-base:latest', label: 'macOS Sonoma', os: 'darwin' },
];

/** The engine's reasons are clauses ("a remote name needs …"); show them as sentences. */
export function sentence(s: string): string {
  const t = s.trim();
  if (!t) return t;
  return t[0]!.toUpperCase() + t.slice(1) + (/[.!?]$/.test(t) ? '' : '.');
}

type Check = { state: 'idle' } | { state: 'checking' } | { state: 'ok'; normalized?: string } | { state: 'bad'; reason: string };

/** Pull: a reference validated as you type (locally, then by the engine), then the task's live progress. */
export function PullDialog({ initial, onClose }: { initial?: string; onClose(): void }) {
  const api = useApi();
  const stores = useStores();
  const host = useHost((s) => s.info);
  const [reference, setReference] = useState(initial ?? '');
  const [insecure, setInsecure] = useState(initial ? isLocalRegistry(initial) : false);
  const [insecureTouched, setInsecureTouched] = useState(false);
  const [check, setCheck] = useState<Check>({ state: 'idle' });
  const [taskId, setTaskId] = useState<string | null>(null);
  const { busy, error: submitError, setError: setSubmitError, run } = useAction();
  const task = useTasks((s) => (taskId ? s.byId[taskId] : undefined));
  const id = useId();
  const seq = useRef(0);

  const quick = referenceQuickProblem(reference);
  const macBlocked = host?.limitations.find((l) => l.feature === 'macos-guests');

  useEffect(() => {
    if (!insecureTouched) setInsecure(isLocalRegistry(reference));
  }, [reference, insecureTouched]);

  // Ask the engine (debounced) once the quick check passes.
  useEffect(() => {
    if (quick) {
      setCheck({ state: 'idle' });
      return;
    }
    const mine = ++seq.current;
    setCheck({ state: 'checking' });
    const t = setTimeout(async () => {
      try {
        const r = await api.request('image.checkReference', { reference: reference.trim() });
        if (mine !== seq.current) return;
        setCheck(r.ok ? { state: 'ok', normalized: r.normalized } : { state: 'bad', reason: sentence(r.reason ?? 'this is not a valid image reference') });
      } catch (e) {
        if (mine === seq.current) setCheck({ state: 'bad', reason: toError(e).message });
      }
    }, 200);
    return () => clearTimeout(t);
  }, [reference, quick, api]);

  const suggestions = useMemo(() => {
    const q = reference.trim().toLowerCase();
    return SUGGESTED_IMAGES.filter((s) => !q || s.reference.includes(q) || s.label.toLowerCase().includes(q)).slice(0, 5);
  }, [reference]);

  const shownError = reference.length > 0 ? (quick ?? (check.state === 'bad' ? check.reason : null)) : null;
  const canPull = !quick && check.state === 'ok' && !busy;

  const submit = async () => {
    if (!canPull) return;
    await run(async () => {
      setSubmitError(null);
      const ref = check.state === 'ok' && check.normalized ? check.normalized : reference.trim();
      setTaskId(await stores.tasks.getState().pull({ reference: ref, insecure }));
    });
  };

  if (taskId) {
    return (
      <Modal
        open
        onOpenChange={(o) => !o && onClose()}
        title="Pull image"
        description={task?.state === 'running' ? 'You can close this window: the pull continues in Tasks.' : undefined}
        wide
        footer={
          <button type="button" className="button" onClick={onClose}>
            {task?.state === 'running' ? 'Continue in background' : 'Close'}
          </button>
        }
      >
        {task ? <TaskCard task={task} onRetried={setTaskId} /> : <p className="muted">Starting…</p>}
      </Modal>
    );
  }

  return (
    <Modal
      open
      onOpenChange={(o) => !o && onClose()}
      title="Pull image"
      description="Download a VM image from an OCI registry into the local cache."
      wide
      footer={
        <>
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" form={`${id}-form`} className="button button-primary" disabled={!canPull}>
            Pull
          </button>
        </>
      }
    >
      <form
        id={`${id}-form`}
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <Field
          id={`${id}-ref`}
          label="Image reference"
          error={shownError}
          hint={check.state === 'checking' ? 'Checking…' : check.state === 'ok' ? `Will pull ${check.normalized ?? reference.trim()}` : 'host[:port]/repository[:tag] or …@sha256:digest'}
        >
          <input
            id={`${id}-ref`}
            className="input mono"
            value={reference}
            autoFocus
            spellCheck={false}
            autoComplete="off"
            placeholder="ghcr.io/cirruslabs/debian:latest"
            aria-invalid={shownError ? true : undefined}
            aria-describedby={shownError ? `${id}-ref-error` : `${id}-ref-hint`}
            onChange={(e) => setReference(e.target.value)}
          />
        </Field>
        <label className="checkbox">
          <input
            type="checkbox"
            checked={insecure}
            onChange={(e) => {
              setInsecure(e.target.checked);
              setInsecureTouched(true);
            }}
          />
          Registry uses plain HTTP (insecure)
        </label>
        {suggestions.length > 0 && (
          <div className="suggestions">
            <p className="muted small">Suggestions</p>
            <ul aria-label="Suggested images">
              {suggestions.map((s) => {
                const blocked = s.os === 'darwin' && macBlocked;
                return (
                  <li key={s.reference}>
                    <button type="button" className="suggestion" onClick={() => setReference(s.reference)} aria-label={`Use ${s.label}`}>
                      <span>{s.label}</span>
                      <span className="mono muted small">{s.reference}</span>
                      {blocked && <span className="muted small">Can be pulled here, but not run: {blocked.reason}</span>}
                    </button>
                  </li>
                );
              })}
            </ul>
          </div>
        )}
        {submitError && <ErrorBox error={submitError} title="The pull could not start" />}
      </form>
    </Modal>
  );
}
