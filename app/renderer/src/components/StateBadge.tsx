import type { VmState } from '../../../api';

const LABEL: Record<VmState, string> = {
  stopped: 'Stopped',
  starting: 'Starting',
  running: 'Running',
  paused: 'Paused',
  suspending: 'Suspending',
  suspended: 'Suspended',
  stopping: 'Stopping',
  error: 'Error',
  broken: 'Broken',
};

export function stateLabel(s: VmState): string {
  return LABEL[s];
}

/** A calm pill: green running, amber paused/suspended, grey stopped, red error/broken; transitions pulse. */
export function StateBadge({ state, reason }: { state: VmState; reason?: string }) {
  return (
    <span className={`badge badge-${state}`} title={reason ?? undefined} data-state={state}>
      <span className="badge-dot" aria-hidden="true" />
      {LABEL[state]}
    </span>
  );
}
