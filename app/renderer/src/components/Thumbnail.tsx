import { useEffect, useState } from 'react';
import type { ApiClient, VmSummary } from '../../../api';
import { useApi } from '../stores/react';
import { IconScreen } from './icons';

const cache = new WeakMap<ApiClient, Map<string, { version: number | undefined; url: string | null; at: number }>>();
const LIVE_MS = 5000;

/** The VM's screen in miniature: fetched when its version changes, refreshed every few seconds while it runs. */
export function Thumbnail({ vm }: { vm: Pick<VmSummary, 'name' | 'state' | 'thumbnailVersion' | 'os'> }) {
  const api = useApi();
  const perClient = cache.get(api) ?? new Map();
  if (!cache.has(api)) cache.set(api, perClient);
  const cached = perClient.get(vm.name);
  const [url, setUrl] = useState<string | null>(cached?.url ?? null);
  const live = vm.state === 'running';

  useEffect(() => {
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const fetchOnce = async () => {
      const c = perClient.get(vm.name);
      const fresh = c && c.version === vm.thumbnailVersion && (!live || Date.now() - c.at < LIVE_MS);
      if (!fresh && (vm.thumbnailVersion !== undefined || live)) {
        try {
          // While it runs, take a fresh screenshot (which also refreshes the stored thumbnail); else read the stored one.
          const { png } = live ? await api.request('vm.screenshot', { name: vm.name }).catch(() => api.request('vm.thumbnail', { name: vm.name })) : await api.request('vm.thumbnail', { name: vm.name });
          const u = png ? `data:image/png;base64,${png}` : null;
          perClient.set(vm.name, { version: vm.thumbnailVersion, url: u, at: Date.now() });
          if (!stop) setUrl(u);
        } catch {}
      } else if (c && !stop) setUrl(c.url);
      if (live && !stop) timer = setTimeout(fetchOnce, LIVE_MS);
    };
    void fetchOnce();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [api, perClient, vm.name, vm.thumbnailVersion, live]);

  return (
    <div className={`thumb${live ? ' thumb-live' : ''}`} aria-hidden="true">
      {url ? <img src={url} alt="" draggable={false} /> : <IconScreen width={22} height={22} />}
      {live && <span className="thumb-live-dot" />}
    </div>
  );
}
