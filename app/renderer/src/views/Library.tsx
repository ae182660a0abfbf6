import { elementScroll, useVirtualizer, type Virtualizer } from '@tanstack/react-virtual';
import { lazy, memo, Suspense, useEffect, useMemo, useRef, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { VmSummary } from '../../../api';
import { formatBytes, formatDateTime, formatMemory, formatRelative, osLabel } from '../lib/format';
import { isActive, visibleVms } from '../lib/library';
import { whenIdle } from '../lib/idle';
import type { SortKey } from '../stores';
import { useHost, useStores, useUi, useVms } from '../stores/react';
import { IconDisc, IconDownload, IconMore, IconPlay, IconPlus, IconSearch, IconSort, IconStop } from '../components/icons';
import { StateBadge } from '../components/StateBadge';
import { Thumbnail } from '../components/Thumbnail';
import type { MenuAnchor } from '../components/VmMenus';

// The menus (Radix + floating-ui, a fifth of the page's script) load on first use, or when the pointer comes near.
const loadMenus = () => import('../components/VmMenus');
const preloadMenus = () => void loadMenus().catch(() => {});
const VmListMenu = lazy(() => loadMenus().then((m) => ({ default: m.VmListMenu })));
const SortMenu = lazy(() => loadMenus().then((m) => ({ default: m.SortMenu })));
import { MOD, runVmAction } from '../components/vmActions';
import { ErrorBox } from '../components/TaskError';

const ROW_HEIGHT = 76;
const SORTS: { key: SortKey; label: string }[] = [
  { key: 'name', label: 'Name' },
  { key: 'state', label: 'State' },
  { key: 'accessedAt', label: 'Last used' },
  { key: 'disk', label: 'Disk used' },
];

export function Library() {
  const { list, loaded, error } = useVms(useShallow((s) => ({ list: s.list, loaded: s.loaded, error: s.error })));
  const { sort, filter, stateFilter } = useUi(useShallow((s) => ({ sort: s.sort, filter: s.filter, stateFilter: s.stateFilter })));
  const stores = useStores();
  const ui = stores.ui.getState();
  const shown = useMemo(() => visibleVms(list, { sort, filter, stateFilter }), [list, sort, filter, stateFilter]);
  const running = useMemo(() => list.filter((v) => isActive(v.state)).length, [list]);
  const [sortAt, setSortAt] = useState<MenuAnchor | null>(null);

  return (
    <section className="view" aria-labelledby="library-title">
      <header className="view-head">
        <div>
          <h1 id="library-title">Library</h1>
          <p className="muted small" aria-live="polite">
            {loaded ? `${list.length} ${list.length === 1 ? 'VM' : 'VMs'}${running ? ` · ${running} running` : ''}` : 'Loading…'}
          </p>
        </div>
        <div className="view-actions">
          <button type="button" className="button" onClick={() => ui.open({ kind: 'pull' })} title={`Pull an image (${MOD}Shift+P)`}>
            <IconDownload /> Pull image
          </button>
          <button type="button" className="button button-primary" onClick={() => ui.open({ kind: 'create' })} title={`New VM (${MOD}N)`}>
            <IconPlus /> New VM
          </button>
        </div>
      </header>
      {error && <ErrorBox error={error} title="The library could not be read" />}
      {loaded && list.length === 0 && !error ? (
        <EmptyLibrary />
      ) : (
        <>
          <div className="toolbar" role="toolbar" aria-label="Library view options">
            <div className="search">
              <IconSearch />
              <input type="search" className="input" placeholder="Filter by name, OS or architecture" aria-label="Filter VMs" value={filter} onChange={(e) => ui.setFilter(e.target.value)} data-shortcut-target="filter" />
            </div>
            <div className="segmented" role="radiogroup" aria-label="Show">
              {(['all', 'running', 'stopped'] as const).map((f) => (
                <button key={f} type="button" role="radio" aria-checked={stateFilter === f} className={stateFilter === f ? 'on' : ''} onClick={() => ui.setStateFilter(f)}>
                  {f === 'all' ? 'All' : f === 'running' ? 'Active' : 'Stopped'}
                </button>
              ))}
            </div>
            <button
              type="button"
              className="button button-ghost"
              aria-haspopup="menu"
              aria-expanded={sortAt !== null}
              aria-label={`Sort by ${SORTS.find((s) => s.key === sort.key)!.label}, ${sort.dir === 'asc' ? 'ascending' : 'descending'}`}
              onPointerEnter={preloadMenus}
              onClick={(e) => {
                const r = e.currentTarget.getBoundingClientRect();
                setSortAt(sortAt ? null : { x: r.right, y: r.bottom, returnFocus: e.currentTarget });
              }}
            >
              <IconSort /> {SORTS.find((s) => s.key === sort.key)!.label}
            </button>
            {sortAt && (
              <Suspense fallback={null}>
                <SortMenu options={SORTS} value={sort.key} dir={sort.dir} at={sortAt} onPick={(k) => ui.setSort(k as SortKey)} onClose={() => setSortAt(null)} />
              </Suspense>
            )}
          </div>
          {shown.length === 0 && loaded ? <p className="empty-inline muted">No VM matches “{filter}”.</p> : <VmList vms={shown} />}
        </>
      )}
    </section>
  );
}

/**
 * The list's size from a ResizeObserver only. TanStack's default reads getBoundingClientRect() in a layout effect,
 * which forces a synchronous layout of the whole page during the first commit (≈50 ms of a cold start here); the
 * observer reports after the browser's own layout instead, and until then initialRect gives a screenful of rows.
 * A container without layout (happy-dom in tests) keeps initialRect.
 */
function observeRectWithoutForcedLayout(instance: Virtualizer<HTMLDivElement, Element>, cb: (rect: { width: number; height: number }) => void) {
  const el = instance.scrollElement;
  if (!el || typeof ResizeObserver === 'undefined') return;
  const ro = new ResizeObserver((entries) => {
    const box = entries[0]?.borderBoxSize?.[0];
    const width = box ? box.inlineSize : el.clientWidth;
    const height = box ? box.blockSize : el.clientHeight;
    if (height > 0) cb({ width, height });
  });
  ro.observe(el, { box: 'border-box' });
  return () => ro.disconnect();
}

/** The list's likely size before it has been laid out: the window less the header and toolbar above it. */
function firstRect(): { width: number; height: number } {
  const h = typeof window !== 'undefined' && window.innerHeight > 0 ? window.innerHeight - 150 : 800;
  return { width: 900, height: Math.max(ROW_HEIGHT, h) };
}

function VmList({ vms }: { vms: VmSummary[] }) {
  const parent = useRef<HTMLDivElement>(null);
  const selected = useUi((s) => s.selected);
  const stores = useStores();
  const [menu, setMenu] = useState<{ vm: { name: string; state: VmSummary['state'] }; at: MenuAnchor } | null>(null);
  // The first render draws what fits on the screen and one row more; the overscan grows once the page is idle.
  const [overscan, setOverscan] = useState(1);
  useEffect(() => whenIdle(() => setOverscan(8), { timeout: 500, fallbackMs: 0 }), []);
  const virtualizer = useVirtualizer({
    count: vms.length,
    getScrollElement: () => parent.current,
    estimateSize: () => ROW_HEIGHT,
    overscan,
    initialRect: firstRect(),
    observeElementRect: observeRectWithoutForcedLayout,
    // The first "scroll to 0" on mount would force a layout as well; the list is already at 0.
    scrollToFn: (offset, opts, instance) => {
      if (offset === 0 && !instance.scrollOffset) return;
      elementScroll(offset, opts, instance);
    },
    getItemKey: (i) => vms[i]!.name,
  });
  const selIndex = selected ? vms.findIndex((v) => v.name === selected) : -1;
  useEffect(() => {
    if (selIndex >= 0) virtualizer.scrollToIndex(selIndex, { align: 'auto' });
  }, [selIndex, virtualizer]);

  return (
    <>
    <div
      ref={parent}
      className="vm-scroll"
      role="list"
      aria-label="Virtual machines"
      onPointerEnter={preloadMenus}
      onContextMenu={(e) => {
        const target = e.target as HTMLElement;
        const row = target.closest<HTMLElement>('[data-vm]');
        if (!row) return;
        e.preventDefault();
        const name = row.dataset['vm']!;
        stores.ui.getState().select(name);
        // From the keyboard (the Menu key, Shift+F10) there is no pointer position: open at the row.
        const r = row.getBoundingClientRect();
        const keyboard = e.clientX === 0 && e.clientY === 0;
        setMenu({ vm: { name, state: row.dataset['vmState'] as VmSummary['state'] }, at: { x: keyboard ? r.left + 24 : e.clientX, y: keyboard ? r.bottom : e.clientY, returnFocus: target.closest('button') ?? row } });
      }}
    >
      <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
        {virtualizer.getVirtualItems().map((item) => {
          const vm = vms[item.index]!;
          return (
            <div key={item.key} className="vm-row-pos" style={{ transform: `translateY(${item.start}px)`, height: ROW_HEIGHT }}>
              <VmRow vm={vm} selected={vm.name === selected} />
            </div>
          );
        })}
      </div>
    </div>
    {menu && (
      <Suspense fallback={null}>
        <VmListMenu key={`${menu.vm.name} ${menu.at.x} ${menu.at.y}`} vm={menu.vm} at={menu.at} onClose={() => setMenu(null)} />
      </Suspense>
    )}
    </>
  );
}

/** "More actions": opens the list's menu below itself (mouse or keyboard), through the same contextmenu path. */
function MoreButton({ name }: { name: string }) {
  return (
    <button
      type="button"
      className="icon-button"
      aria-label={`More actions for ${name}`}
      aria-haspopup="menu"
      onClick={(e) => {
        e.stopPropagation();
        const r = e.currentTarget.getBoundingClientRect();
        e.currentTarget.dispatchEvent(new MouseEvent('contextmenu', { bubbles: true, cancelable: true, clientX: r.left, clientY: r.bottom + 2 }));
      }}
    >
      <IconMore />
    </button>
  );
}

const VmRow = memo(function VmRow({ vm, selected }: { vm: VmSummary; selected: boolean }) {
  const stores = useStores();
  const ui = stores.ui.getState();
  const canStart = vm.state === 'stopped' || vm.state === 'suspended';
  const canStop = vm.state === 'running' || vm.state === 'paused';
  return (
      <div
        role="listitem"
        data-vm={vm.name}
        data-vm-state={vm.state}
        aria-label={vm.name}
        aria-current={selected ? 'true' : undefined}
        className={`vm-row${selected ? ' selected' : ''}`}
        onClick={() => ui.select(vm.name)}
        onDoubleClick={() => ui.navigate({ view: 'vm', name: vm.name, tab: 'screen' })}
      >
        <Thumbnail vm={vm} />
        <div className="vm-main">
          <button type="button" className="vm-name" aria-label={`Open ${vm.name}`} onClick={(e) => (e.stopPropagation(), ui.select(vm.name), ui.navigate({ view: 'vm', name: vm.name, tab: 'screen' }))}>
            {vm.name}
          </button>
          <span className="muted small">{osLabel(vm.os, vm.arch)}</span>
        </div>
        <div className="vm-res small">
          <span title="CPUs">{vm.cpuCount ?? '—'} CPU</span>
          <span title="Memory">{formatMemory(vm.memorySize)}</span>
          <span title={`Disk: ${formatBytes(vm.disk.apparent)} apparent, ${formatBytes(vm.disk.allocated)} allocated on the host`}>
            {formatBytes(vm.disk.apparent)} <span className="muted">({formatBytes(vm.disk.allocated)} used)</span>
          </span>
        </div>
        <StateBadge state={vm.state} reason={vm.stateReason} />
        <span className="vm-used muted small" title={`Last used ${formatDateTime(vm.accessedAt)}`}>
          {formatRelative(vm.accessedAt)}
        </span>
        <div className="vm-actions">
          {canStart && (
            <button type="button" className="icon-button" aria-label={`Start ${vm.name}`} onClick={(e) => (e.stopPropagation(), void runVmAction(stores, vm.name, 'start'))}>
              <IconPlay />
            </button>
          )}
          {canStop && (
            <button type="button" className="icon-button" aria-label={`Stop ${vm.name}`} onClick={(e) => (e.stopPropagation(), void runVmAction(stores, vm.name, 'stop'))}>
              <IconStop />
            </button>
          )}
          <MoreButton name={vm.name} />
        </div>
      </div>
  );
});

function EmptyLibrary() {
  const ui = useStores().ui.getState();
  const host = useHost((s) => s.info);
  const mac = host?.limitations.find((l) => l.feature === 'macos-guests');
  return (
    <div className="empty">
      <div className="empty-art" aria-hidden="true">
        <IconDisc width={40} height={40} />
      </div>
      <h2>No virtual machines yet</h2>
      <p className="muted">Start from a ready-made image, or install an operating system yourself.</p>
      <div className="empty-actions">
        <button type="button" className="card-button" onClick={() => ui.open({ kind: 'pull', reference: 'ghcr.io/cirruslabs/ubuntu:latest' })}>
          <IconDownload width={22} height={22} />
          <strong>Pull a ready-made image</strong>
          <span className="muted small">Ubuntu, Debian, Fedora{mac ? '' : ' or macOS'} from a registry — then clone it to a VM.</span>
        </button>
        <button type="button" className="card-button" onClick={() => ui.open({ kind: 'create' })}>
          <IconPlus width={22} height={22} />
          <strong>Create from an ISO{mac ? ' or disk image' : ' or IPSW'}</strong>
          <span className="muted small">Drop an installer onto this window, or pick one.</span>
        </button>
      </div>
      {mac && <p className="muted small">macOS guests: {mac.reason}</p>}
    </div>
  );
}
