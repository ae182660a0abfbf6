import { lazy, Suspense, useEffect, useMemo, useState } from 'react';
import type { Stores } from './stores';
import { routeFromHash } from './stores';
import { StoresProvider, useHost, useStores, useTasks, useUi } from './stores/react';
import { Library } from './views/Library';

// The library is what opens first; everything else loads on demand (keeps the first render small).
const Images = lazy(() => import('./views/Images').then((m) => ({ default: m.Images })));
const Tasks = lazy(() => import('./views/Tasks').then((m) => ({ default: m.Tasks })));
const VmView = lazy(() => import('./views/VmView').then((m) => ({ default: m.VmView })));
const Dialogs = lazy(() => import('./components/Dialogs').then((m) => ({ default: m.Dialogs })));
// Notifications (Radix Toast) load with the first one, or once the page is idle — not on the way to the library.
const loadToasts = () => import('./components/ToastLayer');
const ToastLayer = lazy(() => loadToasts().then((m) => ({ default: m.ToastLayer })));
import { IconImages, IconLibrary, IconTasks } from './components/icons';
import { useShortcuts } from './lib/shortcuts';
import { pathOfDroppedFile, sourceKindOf } from './lib/files';
import { visibleVms } from './lib/library';
import { whenIdle } from './lib/idle';

export function App({ stores }: { stores: Stores }) {
  useEffect(() => stores.start(), [stores]);
  useEffect(() => {
    const onHash = () => stores.ui.setState({ route: routeFromHash(location.hash) });
    window.addEventListener('popstate', onHash);
    window.addEventListener('hashchange', onHash);
    return () => {
      window.removeEventListener('popstate', onHash);
      window.removeEventListener('hashchange', onHash);
    };
  }, [stores]);
  return (
    <StoresProvider stores={stores}>
      <Shell />
      <DeferredToasts />
    </StoresProvider>
  );
}

function Shell() {
  const stores = useStores();
  const route = useUi((s) => s.route);
  const [dragging, setDragging] = useState(false);
  useShortcuts(stores, () => visibleVms(stores.vms.getState().list, stores.ui.getState()));

  const onDrop = (e: React.DragEvent) => {
    e.preventDefault();
    setDragging(false);
    const file = e.dataTransfer.files[0];
    if (!file) return;
    const kind = sourceKindOf(file.name);
    const ui = stores.ui.getState();
    if (!kind) {
      ui.toast({ tone: 'error', title: `${file.name} is not an installer`, description: 'Drop an .iso, a raw disk image (.img, .raw) or a macOS .ipsw.' });
      return;
    }
    const path = pathOfDroppedFile(file);
    if (!path) {
      ui.open({ kind: 'create', source: { path: '', type: kind } });
      ui.toast({ tone: 'info', title: `Enter where ${file.name} is on the server`, description: 'In the browser, Nestbox reads files on the machine that runs nestbox serve — type that path.' });
      return;
    }
    ui.open({ kind: 'create', source: { path, type: kind } });
  };

  return (
    <div
      className="app"
      onDragOver={(e) => {
        if (e.dataTransfer.types.includes('Files')) {
          e.preventDefault();
          setDragging(true);
        }
      }}
      onDragLeave={(e) => {
        if (e.currentTarget === e.target) setDragging(false);
      }}
      onDrop={onDrop}
    >
      <Sidebar />
      <main className="content" aria-label="Nestbox">
        <HostBanner />
        <Suspense fallback={null}>
          {route.view === 'library' && <Library />}
          {route.view === 'images' && <Images />}
          {route.view === 'tasks' && <Tasks />}
          {route.view === 'vm' && <VmView key={route.name} name={route.name} tab={route.tab ?? 'screen'} />}
        </Suspense>
      </main>
      <DialogHost />
      {dragging && (
        <div className="drop-overlay" aria-hidden="true">
          <div>Drop an ISO, disk image or IPSW to create a VM</div>
        </div>
      )}
    </div>
  );
}

function DialogHost() {
  const open = useUi((s) => s.dialog !== null);
  return open ? (
    <Suspense fallback={null}>
      <Dialogs />
    </Suspense>
  ) : null;
}

function Sidebar() {
  const stores = useStores();
  const route = useUi((s) => s.route);
  const tasks = useTasks((s) => s.byId);
  const runningTasks = useMemo(() => Object.values(tasks).filter((t) => t.state === 'running').length, [tasks]);
  const failedTasks = useTasks((s) => Object.values(s.byId).filter((t) => t.state === 'failed' && !s.hidden[t.id]).length);
  const host = useHost((s) => s.info);
  const nav = (view: 'library' | 'images' | 'tasks', label: string, icon: React.ReactNode, badge?: React.ReactNode) => {
    const active = route.view === view || (view === 'library' && route.view === 'vm');
    return (
      <button type="button" className={`nav${active ? ' active' : ''}`} aria-current={active ? 'page' : undefined} onClick={() => stores.ui.getState().navigate({ view })}>
        {icon}
        <span>{label}</span>
        {badge}
      </button>
    );
  };
  return (
    <nav className="sidebar" aria-label="Sections">
      <div className="brand">
        <span className="brand-mark" aria-hidden="true" />
        Nestbox
      </div>
      {nav('library', 'Library', <IconLibrary />)}
      {nav('images', 'Images', <IconImages />)}
      {nav(
        'tasks',
        'Tasks',
        <IconTasks />,
        runningTasks > 0 ? (
          <span className="nav-badge" aria-label={`${runningTasks} running`}>
            {runningTasks}
          </span>
        ) : failedTasks > 0 ? (
          <span className="nav-badge nav-badge-error" aria-label={`${failedTasks} failed`}>
            {failedTasks}
          </span>
        ) : null,
      )}
      <div className="sidebar-foot muted small">
        {host ? (
          <>
            <div>
              {host.cpus} CPUs · {Math.round(host.memory / 1024 ** 3)} GB
            </div>
            <div className="mono" title={host.home}>
              {host.home}
            </div>
          </>
        ) : null}
        <button type="button" className="link small" onClick={() => stores.ui.getState().open({ kind: 'shortcuts' })}>
          Keyboard shortcuts
        </button>
      </div>
    </nav>
  );
}

function HostBanner() {
  const error = useHost((s) => s.error);
  if (!error) return null;
  return (
    <div className="banner" role="alert">
      Cannot reach Nestbox: {error.message} {error.fix}
    </div>
  );
}

function DeferredToasts() {
  const any = useUi((s) => s.toasts.length > 0);
  const [mounted, setMounted] = useState(false);
  useEffect(() => {
    if (any) setMounted(true);
  }, [any]);
  useEffect(() => whenIdle(() => void loadToasts().catch(() => {}), { fallbackMs: 200 }), []);
  return any || mounted ? (
    <Suspense fallback={null}>
      <ToastLayer />
    </Suspense>
  ) : null;
}
