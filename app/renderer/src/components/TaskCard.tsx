import type { TaskInfo } from '../../../api';
import { toError } from '../stores';
import { useStores } from '../stores/react';
import { ErrorBox } from './TaskError';
import { TaskProgress } from './TaskProgress';
import { formatRelative } from '../lib/format';

/** One task with its progress, its error, and what can be done next (cancel, resume, clone, open). */
export function TaskCard({ task, onRetried, compact = false }: { task: TaskInfo; onRetried?(newId: string): void; compact?: boolean }) {
  const stores = useStores();
  const ui = stores.ui.getState();
  const running = task.state === 'running';
  const canResume = (task.state === 'failed' || task.state === 'cancelled') && task.kind === 'pull';
  const resultVm = typeof task.result?.['vm'] === 'string' ? (task.result['vm'] as string) : task.kind !== 'pull' ? task.target.vm : undefined;
  const resultImage = typeof task.result?.['image'] === 'string' ? (task.result['image'] as string) : task.target.image;

  const act = async (f: () => Promise<unknown>) => {
    try {
      await f();
    } catch (e) {
      const err = toError(e);
      ui.toast({ tone: 'error', title: err.message, description: err.fix });
    }
  };

  return (
    <article className={`task-card task-card-${task.state}`} aria-label={task.title}>
      <header className="task-head">
        <div>
          <h3 className="task-title">{task.title}</h3>
          <p className="muted small">
            {task.state === 'running' ? `Started ${formatRelative(task.startedAt)}` : `${task.state === 'done' ? 'Finished' : task.state === 'failed' ? 'Failed' : 'Cancelled'} ${formatRelative(task.finishedAt ?? task.startedAt)}`}
          </p>
        </div>
        <div className="task-actions">
          {running && (
            <button type="button" className="button button-small" onClick={() => act(() => stores.tasks.getState().cancel(task.id))}>
              Cancel
            </button>
          )}
          {canResume && (
            <button
              type="button"
              className="button button-small button-primary"
              onClick={() =>
                act(async () => {
                  const id = await stores.tasks.getState().retry(task.id);
                  if (id) onRetried?.(id);
                })
              }
            >
              {task.resumable ? 'Resume' : 'Retry'}
            </button>
          )}
          {task.state === 'done' && task.kind === 'pull' && resultImage && (
            <button type="button" className="button button-small button-primary" onClick={() => ui.open({ kind: 'clone', source: resultImage, fromImage: true })}>
              Clone to new VM
            </button>
          )}
          {task.state === 'done' && resultVm && task.kind !== 'pull' && (
            <button type="button" className="button button-small" onClick={() => ui.navigate({ view: 'vm', name: resultVm, tab: 'screen' })}>
              Open {resultVm}
            </button>
          )}
        </div>
      </header>
      <TaskProgress task={task} compact={compact} />
      {task.error && task.state === 'failed' && <ErrorBox error={task.error} task={task} />}
      {task.state === 'cancelled' && <p className="muted small">{task.resumable ? 'Cancelled. Resume picks up where it stopped.' : 'Cancelled.'}</p>}
    </article>
  );
}
