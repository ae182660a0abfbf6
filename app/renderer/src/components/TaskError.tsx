import type { ApiError, TaskInfo } from '../../../api';
import { copyText } from '../lib/clipboard';
import { useUi } from '../stores/react';
import { IconCopy, IconWarning } from './icons';

function causeOf(e: ApiError): string | null {
  const c = e.details?.['cause'];
  if (typeof c === 'string') return c;
  if (c && typeof c === 'object' && typeof (c as { message?: unknown }).message === 'string') return (c as { message: string }).message;
  return null;
}

export function errorDetailsText(e: ApiError, task?: TaskInfo): string {
  return JSON.stringify(
    {
      ...(task ? { task: { id: task.id, kind: task.kind, title: task.title, target: task.target, startedAt: task.startedAt, finishedAt: task.finishedAt } } : {}),
      code: e.code,
      message: e.message,
      ...(e.fix ? { fix: e.fix } : {}),
      ...(e.details ? { details: e.details } : {}),
    },
    null,
    2,
  );
}

/** An error as the user should see it: what happened, why, what to do — and "copy details" for a report. */
export function ErrorBox({ error, task, title }: { error: ApiError; task?: TaskInfo; title?: string }) {
  const toast = useUi((s) => s.toast);
  const cause = causeOf(error);
  return (
    <div className="error-box" role="alert">
      <IconWarning className="error-icon" />
      <div className="error-text">
        {title && <strong>{title}</strong>}
        <p className="error-message">{error.message}</p>
        {cause && (
          <p className="error-cause">
            <span className="muted">Cause: </span>
            {cause}
          </p>
        )}
        {error.fix && (
          <p className="error-fix">
            <span className="muted">What to do: </span>
            {error.fix}
          </p>
        )}
      </div>
      <button
        type="button"
        className="button button-small"
        onClick={async () => {
          const ok = await copyText(errorDetailsText(error, task));
          toast({ tone: ok ? 'info' : 'error', title: ok ? 'Error details copied' : 'Could not copy to the clipboard' });
        }}
      >
        <IconCopy /> Copy details
      </button>
    </div>
  );
}
