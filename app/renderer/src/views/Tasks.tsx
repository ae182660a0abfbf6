import { useMemo } from 'react';
import { useStores, useTasks } from '../stores/react';
import { TaskCard } from '../components/TaskCard';
import { IconTasks } from '../components/icons';
import type { TaskInfo } from '../../../api';

export function sortTasks(tasks: TaskInfo[]): TaskInfo[] {
  return [...tasks].sort((a, b) => {
    const ra = a.state === 'running' ? 0 : 1;
    const rb = b.state === 'running' ? 0 : 1;
    return ra - rb || Date.parse(b.finishedAt ?? b.startedAt) - Date.parse(a.finishedAt ?? a.startedAt);
  });
}

/** All tasks: running first, then finished newest first; errors with message, cause, fix and "copy details". */
export function Tasks() {
  const byId = useTasks((s) => s.byId);
  const hidden = useTasks((s) => s.hidden);
  const stores = useStores();
  const tasks = useMemo(() => sortTasks(Object.values(byId).filter((t) => !hidden[t.id])), [byId, hidden]);
  const running = tasks.filter((t) => t.state === 'running');
  const finished = tasks.filter((t) => t.state !== 'running');
  return (
    <section className="view" aria-labelledby="tasks-title">
      <header className="view-head">
        <div>
          <h1 id="tasks-title">Tasks</h1>
          <p className="muted small">{running.length ? `${running.length} running` : 'Nothing running'}</p>
        </div>
        <div className="view-actions">
          <button type="button" className="button" disabled={finished.length === 0} onClick={() => stores.tasks.getState().clearFinished()}>
            Clear finished
          </button>
        </div>
      </header>
      {tasks.length === 0 ? (
        <div className="empty">
          <div className="empty-art" aria-hidden="true">
            <IconTasks width={40} height={40} />
          </div>
          <h2>No tasks</h2>
          <p className="muted">Pulls, pushes, clones and installs show their progress here.</p>
        </div>
      ) : (
        <div className="task-list">
          {running.length > 0 && (
            <section aria-label="Running tasks">
              <h2 className="section-title">Running</h2>
              {running.map((t) => (
                <TaskCard key={t.id} task={t} />
              ))}
            </section>
          )}
          {finished.length > 0 && (
            <section aria-label="Finished tasks">
              <h2 className="section-title">Finished</h2>
              {finished.map((t) => (
                <TaskCard key={t.id} task={t} />
              ))}
            </section>
          )}
        </div>
      )}
    </section>
  );
}
