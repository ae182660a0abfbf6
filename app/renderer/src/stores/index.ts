/**
 * Domain stores (zustand): vms, images, tasks, host, ui. They are created per client (one per window, one per
 * test), fed by requests and kept fresh by events: `vm.state` patches a VM in place, `library.changed` refetches
 * (coalesced: one request in flight, one queued), `task.updated` upserts a task.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { ApiClient, ApiError, CachedImage, HostInfo, TaskInfo, VmDetail, VmSummary } from '../../../api';
import { ApiCallError } from '../../../api/client';

export function toError(e: unknown): ApiError {
  if (e instanceof ApiCallError) return e.toApiError();
  if (e && typeof e === 'object' && 'code' in e && 'message' in e) return e as ApiError;
  return { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e) };
}

/** Runs `fetch` with at most one call in flight and at most one queued behind it. */
function coalesced(fetch: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | null = null;
  let again = false;
  const loop = async (): Promise<void> => {
    do {
      again = false;
      await fetch();
    } while (again);
  };
  return () => {
    if (running) {
      again = true;
      return running;
    }
    running = loop().finally(() => {
      running = null;
    });
    return running;
  };
}

// ---------- vms ----------
export interface VmsState {
  list: VmSummary[];
  loaded: boolean;
  error: ApiError | null;
  details: Record<string, VmDetail | undefined>;
  refresh(): Promise<void>;
  loadDetail(name: string): Promise<VmDetail | null>;
  applyState(name: string, state: VmSummary['state'], error?: ApiError): void;
}

function createVms(client: ApiClient): StoreApi<VmsState> {
  return createStore<VmsState>()((set, get) => {
    const refresh = coalesced(async () => {
      try {
        const list = await client.request('vm.list', {});
        set({ list, loaded: true, error: null });
      } catch (e) {
        set({ loaded: true, error: toError(e) });
      }
    });
    return {
      list: [],
      loaded: false,
      error: null,
      details: {},
      refresh,
      async loadDetail(name) {
        try {
          const d = await client.request('vm.get', { name });
          set({ details: { ...get().details, [name]: d } });
          return d;
        } catch (e) {
          if (e instanceof ApiCallError && e.code === 'NOT_FOUND') {
            const { [name]: _gone, ...rest } = get().details;
            set({ details: rest });
            return null;
          }
          throw e;
        }
      },
      applyState(name, state, error) {
        const list = get().list;
        const i = list.findIndex((v) => v.name === name);
        if (i >= 0 && list[i]!.state !== state) {
          const next = list.slice();
          next[i] = { ...list[i]!, state, stateReason: error?.message };
          set({ list: next });
        }
        const d = get().details[name];
        if (d && d.state !== state) set({ details: { ...get().details, [name]: { ...d, state, stateReason: error?.message } } });
      },
    };
  });
}

// ---------- images ----------
export interface ImagesState {
  list: CachedImage[];
  loaded: boolean;
  error: ApiError | null;
  refresh(): Promise<void>;
}

function createImages(client: ApiClient): StoreApi<ImagesState> {
  return createStore<ImagesState>()((set) => ({
    list: [],
    loaded: false,
    error: null,
    refresh: coalesced(async () => {
      try {
        set({ list: await client.request('image.list', {}), loaded: true, error: null });
      } catch (e) {
        set({ loaded: true, error: toError(e) });
      }
    }),
  }));
}

// ---------- tasks ----------
export interface PullParams {
  reference: string;
  insecure?: boolean;
}

export interface TasksState {
  byId: Record<string, TaskInfo>;
  /** Parameters of pulls started here, to resume them with the same options. */
  /** How an image was pulled (e.g. --insecure), remembered across restarts for retries and clones. */
  paramsFor(reference: string): PullParams | undefined;
  hidden: Record<string, true>;
  refresh(): Promise<void>;
  upsert(t: TaskInfo): void;
  cancel(id: string): Promise<void>;
  pull(p: PullParams): Promise<string>;
  /** Starts a failed or cancelled task again (pulls resume from the layers already fetched). */
  retry(id: string): Promise<string | null>;
  clearFinished(): void;
}

const PULL_PARAMS_KEY = 'nestbox.pullParams';

/** Read on first use, not at start: the first localStorage access of a page costs several ms. */
let pullParamsCache: Record<string, PullParams> | null = null;
function pullParams(): Record<string, PullParams> {
  return (pullParamsCache ??= loadPullParams());
}

function loadPullParams(): Record<string, PullParams> {
  try {
    const raw = globalThis.localStorage?.getItem(PULL_PARAMS_KEY);
    const v = raw ? (JSON.parse(raw) as unknown) : null;
    return v && typeof v === 'object' ? (v as Record<string, PullParams>) : {};
  } catch {
    return {};
  }
}

function createTasks(client: ApiClient): StoreApi<TasksState> {
  return createStore<TasksState>()((set, get) => ({
    byId: {},
    paramsFor: (reference) => pullParams()[reference],
    hidden: {},
    async refresh() {
      const list = await client.request('task.list', {});
      const byId: Record<string, TaskInfo> = { ...get().byId };
      for (const t of list) byId[t.id] = t;
      set({ byId });
    },
    upsert(t) {
      set({ byId: { ...get().byId, [t.id]: t } });
    },
    async cancel(id) {
      await client.request('task.cancel', { id });
    },
    async pull(p) {
      const { taskId } = await client.request('image.pull', { reference: p.reference, ...(p.insecure ? { insecure: true } : {}) });
      const all = (pullParamsCache = { ...pullParams(), [p.reference]: p });
      try {
        globalThis.localStorage?.setItem(PULL_PARAMS_KEY, JSON.stringify(all));
      } catch {}
      // The first event may arrive before the reply; make sure the task exists in the store either way.
      if (!get().byId[taskId]) await get().refresh().catch(() => {});
      return taskId;
    },
    async retry(id) {
      const t = get().byId[id];
      if (!t) return null;
      if (t.kind === 'pull' && t.target.image) {
        const p = get().paramsFor(t.target.image) ?? { reference: t.target.image };
        const next = await get().pull(p);
        set({ hidden: { ...get().hidden, [id]: true } });
        return next;
      }
      return null;
    },
    clearFinished() {
      const hidden = { ...get().hidden };
      for (const t of Object.values(get().byId)) if (t.state !== 'running') hidden[t.id] = true;
      set({ hidden });
    },
  }));
}

// ---------- host ----------
export interface HostState {
  info: HostInfo | null;
  error: ApiError | null;
  load(): Promise<void>;
}

function createHost(client: ApiClient): StoreApi<HostState> {
  return createStore<HostState>()((set) => ({
    info: null,
    error: null,
    async load() {
      try {
        set({ info: await client.request('host.info', {}), error: null });
      } catch (e) {
        set({ error: toError(e) });
      }
    },
  }));
}

// ---------- ui ----------
export type Route = { view: 'library' } | { view: 'images' } | { view: 'tasks' } | { view: 'vm'; name: string; tab?: VmTab };
export type VmTab = 'screen' | 'serial' | 'settings';
export type SortKey = 'name' | 'state' | 'accessedAt' | 'disk';

export type Dialog =
  | { kind: 'pull'; reference?: string }
  | { kind: 'create'; source?: { path: string; type: 'iso' | 'disk' | 'ipsw' } }
  | { kind: 'clone'; source: string; fromImage?: boolean }
  | { kind: 'rename'; name: string }
  | { kind: 'delete'; name: string }
  | { kind: 'deleteImage'; name: string }
  | { kind: 'push'; name: string }
  | { kind: 'shortcuts' };

export interface Toast {
  id: number;
  title: string;
  description?: string;
  tone: 'info' | 'success' | 'error';
}

export interface UiState {
  route: Route;
  sort: { key: SortKey; dir: 'asc' | 'desc' };
  filter: string;
  stateFilter: 'all' | 'running' | 'stopped';
  selected: string | null;
  dialog: Dialog | null;
  toasts: Toast[];
  navigate(r: Route): void;
  setSort(key: SortKey): void;
  setFilter(f: string): void;
  setStateFilter(f: UiState['stateFilter']): void;
  select(name: string | null): void;
  open(d: Dialog): void;
  close(): void;
  toast(t: Omit<Toast, 'id'>): void;
  dismissToast(id: number): void;
}

export function routeFromHash(hash: string): Route {
  const h = hash.replace(/^#\/?/, '');
  if (h === 'images') return { view: 'images' };
  if (h === 'tasks') return { view: 'tasks' };
  const m = /^vm\/([^/]+)(?:\/(screen|serial|settings))?$/.exec(h);
  if (m) {
    try {
      return { view: 'vm', name: decodeURIComponent(m[1]!), tab: (m[2] as VmTab | undefined) ?? 'screen' };
    } catch {}
  }
  return { view: 'library' };
}

export function hashFromRoute(r: Route): string {
  if (r.view === 'vm') return `#/vm/${encodeURIComponent(r.name)}/${r.tab ?? 'screen'}`;
  return r.view === 'library' ? '#/' : `#/${r.view}`;
}

function createUi(): StoreApi<UiState> {
  let toastId = 1;
  return createStore<UiState>()((set, get) => ({
    route: typeof location !== 'undefined' ? routeFromHash(location.hash) : { view: 'library' },
    sort: { key: 'name', dir: 'asc' },
    filter: '',
    stateFilter: 'all',
    selected: null,
    dialog: null,
    toasts: [],
    navigate(route) {
      set({ route });
      if (typeof history !== 'undefined' && typeof location !== 'undefined') {
        const h = hashFromRoute(route);
        if (location.hash !== h) history.pushState(null, '', h);
      }
    },
    setSort(key) {
      const cur = get().sort;
      set({ sort: cur.key === key ? { key, dir: cur.dir === 'asc' ? 'desc' : 'asc' } : { key, dir: key === 'accessedAt' || key === 'disk' ? 'desc' : 'asc' } });
    },
    setFilter: (filter) => set({ filter }),
    setStateFilter: (stateFilter) => set({ stateFilter }),
    select: (selected) => set({ selected }),
    open: (dialog) => set({ dialog }),
    close: () => set({ dialog: null }),
    toast(t) {
      const id = toastId++;
      set({ toasts: [...get().toasts, { ...t, id }].slice(-4) });
    },
    dismissToast(id) {
      set({ toasts: get().toasts.filter((t) => t.id !== id) });
    },
  }));
}

// ---------- all together ----------
export interface Stores {
  client: ApiClient;
  vms: StoreApi<VmsState>;
  images: StoreApi<ImagesState>;
  tasks: StoreApi<TasksState>;
  host: StoreApi<HostState>;
  ui: StoreApi<UiState>;
  /** Subscribes to events and loads everything (once, however many callers); returns a release function. */
  start(): () => void;
}

export function createStores(client: ApiClient): Stores {
  const vms = createVms(client);
  const images = createImages(client);
  const tasks = createTasks(client);
  const host = createHost(client);
  const ui = createUi();
  let refs = 0;
  let offs: (() => void)[] = [];
  const start = () => {
    if (refs++ > 0) return stopOnce();
    offs = [
      client.on('vm.state', (e) => vms.getState().applyState(e.name, e.state, e.error)),
      client.on('library.changed', (e) => {
        if (e.scope === 'images') void images.getState().refresh();
        else {
          void vms.getState().refresh();
          const details = vms.getState().details;
          for (const n of e.names ?? Object.keys(details)) if (details[n]) void vms.getState().loadDetail(n).catch(() => {});
        }
      }),
      // The desktop shell (tray, menus, notifications, opened files) asks to bring something into view.
      client.on('shell.intent', (i) => {
        const u = ui.getState();
        if (i.kind === 'pull') u.open({ kind: 'pull' });
        else if (i.kind === 'new-vm') u.open({ kind: 'create' });
        else if (i.kind === 'show-task') u.navigate({ view: 'tasks' });
        else if (i.kind === 'show-vm') {
          u.select(i.name);
          u.navigate(i.screen ? { view: 'vm', name: i.name, tab: 'screen' } : { view: 'library' });
        }
      }),
      client.on('task.updated', (t) => {
        const before = tasks.getState().byId[t.id];
        tasks.getState().upsert(t);
        if (before?.state === 'running' && t.state !== 'running') notifyFinished(ui.getState(), t);
      }),
    ];
    void host.getState().load();
    void vms.getState().refresh();
    void images.getState().refresh();
    void tasks.getState().refresh().catch(() => {});
    return stopOnce();
  };
  const stopOnce = () => {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (--refs === 0) offs.forEach((off) => off());
    };
  };
  return { client, vms, images, tasks, host, ui, start };
}

function notifyFinished(ui: UiState, t: TaskInfo): void {
  if (t.state === 'done') ui.toast({ tone: 'success', title: `${t.title} — done` });
  else if (t.state === 'failed') ui.toast({ tone: 'error', title: `${t.title} — failed`, description: t.error?.message });
}
