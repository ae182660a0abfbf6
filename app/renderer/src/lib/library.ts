import type { VmSummary } from '../../../api';
import type { SortKey, UiState } from '../stores';

const STATE_ORDER: Record<VmSummary['state'], number> = { running: 0, starting: 1, stopping: 2, paused: 3, suspending: 4, suspended: 5, stopped: 6, error: 7, broken: 8 };
const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

function compare(a: VmSummary, b: VmSummary, key: SortKey): number {
  switch (key) {
    case 'name':
      return collator.compare(a.name, b.name);
    case 'state':
      return STATE_ORDER[a.state] - STATE_ORDER[b.state] || collator.compare(a.name, b.name);
    case 'accessedAt':
      return Date.parse(a.accessedAt) - Date.parse(b.accessedAt) || collator.compare(a.name, b.name);
    case 'disk':
      return a.disk.allocated - b.disk.allocated || collator.compare(a.name, b.name);
  }
}

export function isActive(s: VmSummary['state']): boolean {
  return s === 'running' || s === 'starting' || s === 'paused' || s === 'stopping' || s === 'suspending';
}

/** The library as shown: filtered by text (name, OS, arch) and state, then sorted. */
export function visibleVms(list: VmSummary[], opts: Pick<UiState, 'sort' | 'filter' | 'stateFilter'>): VmSummary[] {
  const q = opts.filter.trim().toLowerCase();
  const out = list.filter((v) => {
    if (opts.stateFilter === 'running' && !isActive(v.state)) return false;
    if (opts.stateFilter === 'stopped' && isActive(v.state)) return false;
    if (!q) return true;
    const os = v.os === 'darwin' ? 'macos darwin' : (v.os ?? '');
    return v.name.toLowerCase().includes(q) || os.includes(q) || (v.arch ?? '').includes(q);
  });
  const dir = opts.sort.dir === 'asc' ? 1 : -1;
  out.sort((a, b) => compare(a, b, opts.sort.key) * dir);
  return out;
}
