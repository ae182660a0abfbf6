import * as Progress from '@radix-ui/react-progress';
import { useState } from 'react';
import type { TaskInfo } from '../../../api';
import { formatCount, percentOf, progressView } from '../lib/format';

/** A real progress bar: amount, percent, rate, ETA, and per-item (layer) detail on demand. */
export function TaskProgress({ task, compact = false }: { task: TaskInfo; compact?: boolean }) {
  const v = progressView(task);
  const [showItems, setShowItems] = useState(false);
  const items = task.progress.items ?? [];
  const label = `${task.title} progress`;
  return (
    <div className={`task-progress task-${task.state}`}>
      <Progress.Root className="progress" value={v.percent} max={100} aria-label={label} aria-valuetext={v.percent === null ? 'In progress' : `${v.percent}%`} data-indeterminate={v.percent === null ? '' : undefined}>
        <Progress.Indicator className="progress-fill" style={{ transform: `translateX(-${100 - (v.percent ?? 30)}%)` }} />
      </Progress.Root>
      <div className="progress-meta">
        <span className="progress-step">{task.state === 'running' ? v.step || 'Working…' : task.state === 'done' ? 'Done' : task.state === 'cancelled' ? 'Cancelled' : 'Failed'}</span>
        <span className="progress-numbers">
          {v.amount && <span>{v.amount}</span>}
          {v.percent !== null && <span data-testid="percent">{v.percent.toFixed(v.percent < 10 && v.percent % 1 ? 1 : 0)}%</span>}
          {v.rate && <span>{v.rate}</span>}
          {v.eta && <span>{v.eta}</span>}
        </span>
      </div>
      {!compact && items.length > 0 && (
        <div className="progress-items">
          <button type="button" className="link" aria-expanded={showItems} onClick={() => setShowItems(!showItems)}>
            {showItems ? 'Hide' : 'Show'} layer details ({items.filter((i) => i.state === 'done' || i.state === 'skipped').length} of {items.length} done)
          </button>
          {showItems && (
            <ul className="item-list" aria-label="Layers">
              {items.map((it) => {
                const p = percentOf(it.done, it.total);
                return (
                  <li key={it.id} className={`item item-${it.state}`}>
                    <span className="item-label">{it.label}</span>
                    <span className="item-bar" role="progressbar" aria-label={it.label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={p ?? undefined}>
                      <span style={{ width: `${p ?? 0}%` }} />
                    </span>
                    <span className="item-amount">{it.state === 'skipped' ? 'already here' : formatCount(it.done, it.total, task.progress.unit ?? 'bytes')}</span>
                  </li>
                );
              })}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}
