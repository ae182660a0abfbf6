import * as Tabs from '@radix-ui/react-tabs';
import * as Dialog from '@radix-ui/react-dialog';
import { useEffect, useRef, useState } from 'react';
import type { DisplayEndpoint, VmDetail } from '../../../api';
import { copyText } from '../lib/clipboard';
import { loadAutoSync, saveAutoSync, useClipboardReadPermission, useClipboardSync } from '../lib/clipboardSync';
import { formatBytes, formatMemory, osLabel } from '../lib/format';
import type { VmTab } from '../stores';
import { toError } from '../stores';
import { useHost, useStores, useVms } from '../stores/react';
import { IconBack, IconClipboard, IconCopy, IconFullscreen, IconKeyboard, IconPause, IconPlay, IconStop, IconSuspend } from '../components/icons';
import { StateBadge } from '../components/StateBadge';
import { VncScreen, type ScreenStatus, type VncHandle } from '../components/VncScreen';
import { SerialConsole } from '../components/SerialConsole';
import { SettingsForm } from '../components/SettingsForm';
import { ErrorBox } from '../components/TaskError';
import { runVmAction, type VmAction } from '../components/vmActions';
import { VmMoreMenu } from '../components/VmMenus';

/** One VM: a toolbar (power, IP), and tabs for its screen (noVNC), serial console and settings. */
export function VmView({ name, tab }: { name: string; tab: VmTab }) {
  const stores = useStores();
  const detail = useVms((s) => s.details[name]);
  const summary = useVms((s) => s.list.find((v) => v.name === name));
  const [missing, setMissing] = useState(false);
  const [loadError, setLoadError] = useState<string | null>(null);

  useEffect(() => {
    setMissing(false);
    stores.vms
      .getState()
      .loadDetail(name)
      .then((d) => setMissing(d === null))
      .catch((e) => setLoadError(toError(e).message));
  }, [stores, name]);

  // Keep the detail in step with state changes the list sees (events patch the summary).
  const state = summary?.state ?? detail?.state;
  useEffect(() => {
    if (detail && state && detail.state !== state) void stores.vms.getState().loadDetail(name).catch(() => {});
  }, [state]);

  const ui = stores.ui.getState();
  const back = (
    <button type="button" className="button button-ghost" onClick={() => ui.navigate({ view: 'library' })}>
      <IconBack /> Library
    </button>
  );
  if (missing)
    return (
      <section className="view">
        {back}
        <div className="empty">
          <h2>“{name}” is not in the library</h2>
          <p className="muted">It was deleted or renamed.</p>
        </div>
      </section>
    );
  if (!detail)
    return (
      <section className="view">
        {back}
        <p className="muted">{loadError ?? 'Loading…'}</p>
      </section>
    );

  return (
    <section className="view vm-view" aria-labelledby="vm-title">
      <VmToolbar vm={detail} back={back} />
      {!detail.canRun.ok && <ErrorBox error={{ code: 'UNSUPPORTED', message: detail.canRun.reason ?? 'This VM cannot run on this host.', fix: detail.canRun.fix }} title="Cannot run here" />}
      {detail.stateReason && (detail.state === 'error' || detail.state === 'broken') && <ErrorBox error={{ code: detail.state.toUpperCase(), message: detail.stateReason }} />}
      <Tabs.Root className="tabs" value={tab} onValueChange={(t) => ui.navigate({ view: 'vm', name, tab: t as VmTab })}>
        <Tabs.List className="tab-list" aria-label="VM views">
          <Tabs.Trigger className="tab" value="screen">
            Screen
          </Tabs.Trigger>
          <Tabs.Trigger className="tab" value="serial">
            Serial console
          </Tabs.Trigger>
          <Tabs.Trigger className="tab" value="settings">
            Settings
          </Tabs.Trigger>
        </Tabs.List>
        <Tabs.Content className="tab-panel" value="screen">
          <ScreenTab vm={detail} />
        </Tabs.Content>
        <Tabs.Content className="tab-panel" value="serial">
          <SerialConsole name={name} running={detail.state === 'running' || detail.state === 'paused'} />
        </Tabs.Content>
        <Tabs.Content className="tab-panel" value="settings">
          <SettingsForm vm={detail} />
        </Tabs.Content>
      </Tabs.Root>
    </section>
  );
}

function VmToolbar({ vm, back }: { vm: VmDetail; back: React.ReactNode }) {
  const stores = useStores();
  const [ip, setIp] = useState<string | null>(vm.ip ?? null);
  const running = vm.state === 'running';
  useEffect(() => {
    setIp(vm.ip ?? null);
    if (!running) return;
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const r = await stores.client.request('vm.ip', { name: vm.name, waitSeconds: 0 });
        if (stop) return;
        setIp(r.ip);
        if (r.ip) return;
      } catch {}
      if (!stop) timer = setTimeout(poll, 3000);
    };
    void poll();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [stores, vm.name, running, vm.ip]);

  const act = (a: VmAction) => void runVmAction(stores, vm.name, a);
  const s = vm.state;
  return (
    <header className="vm-toolbar">
      {back}
      <div className="vm-title">
        <h1 id="vm-title">{vm.name}</h1>
        <StateBadge state={vm.state} reason={vm.stateReason} />
        <span className="muted small">
          {osLabel(vm.os, vm.arch)} · {vm.cpuCount} CPU · {formatMemory(vm.memorySize)} · {formatBytes(vm.disk.apparent)} disk
        </span>
      </div>
      <div className="vm-controls" role="toolbar" aria-label="VM controls">
        {ip && running && (
          <span className="ip">
            <span className="muted small">IP</span> <span className="mono">{ip}</span>
            <button
              type="button"
              className="icon-button"
              aria-label="Copy IP address"
              onClick={async () => {
                const ok = await copyText(ip);
                stores.ui.getState().toast({ tone: ok ? 'info' : 'error', title: ok ? `Copied ${ip}` : 'Could not copy' });
              }}
            >
              <IconCopy />
            </button>
          </span>
        )}
        {vm.ssh && running && <span className="mono small muted" title="SSH">ssh -p {vm.ssh.port} {vm.ssh.host}</span>}
        {(s === 'stopped' || s === 'suspended' || s === 'error') && (
          <button type="button" className="button button-primary" disabled={!vm.canRun.ok} onClick={() => act('start')}>
            <IconPlay /> {s === 'suspended' ? 'Resume' : 'Start'}
          </button>
        )}
        {s === 'paused' && (
          <button type="button" className="button button-primary" onClick={() => act('resume')}>
            <IconPlay /> Resume
          </button>
        )}
        {s === 'running' && (
          <button type="button" className="button" onClick={() => act('pause')}>
            <IconPause /> Pause
          </button>
        )}
        {s === 'running' && (
          <button type="button" className="button" onClick={() => act('suspend')}>
            <IconSuspend /> Suspend
          </button>
        )}
        {(s === 'running' || s === 'paused') && (
          <button type="button" className="button" onClick={() => act('stop')}>
            <IconStop /> Stop
          </button>
        )}
        {(s === 'starting' || s === 'stopping' || s === 'suspending') && (
          <button type="button" className="button" onClick={() => act('forceStop')}>
            <IconStop /> Force stop
          </button>
        )}
        <VmMoreMenu name={vm.name} state={vm.state} />
      </div>
    </header>
  );
}

function ScreenTab({ vm }: { vm: VmDetail }) {
  const stores = useStores();
  const host = useHost((s) => s.info);
  const screen = useRef<VncHandle>(null);
  const [status, setStatus] = useState<ScreenStatus>('idle');
  const [endpoint, setEndpoint] = useState<DisplayEndpoint | null>(null);
  const [guestClip, setGuestClip] = useState('');
  const [clipOpen, setClipOpen] = useState(false);
  const [toSend, setToSend] = useState('');
  const running = vm.state === 'running' || vm.state === 'paused';
  const connected = running && status === 'connected';
  const [autoSync, setAutoSync] = useState(loadAutoSync);
  const sync = useClipboardSync(connected && vm.clipboard === true && autoSync, (text) => screen.current?.pasteToGuest(text));
  const [readPermission, refreshReadPermission] = useClipboardReadPermission();
  const [lastScreen, setLastScreen] = useState<string | null>(null);
  useEffect(() => {
    if (running) return;
    let stop = false;
    stores.client
      .request('vm.thumbnail', { name: vm.name })
      .then((r) => !stop && setLastScreen(r.png ? `data:image/png;base64,${r.png}` : null))
      .catch(() => {});
    return () => {
      stop = true;
    };
  }, [stores, vm.name, running]);

  // Keep the library thumbnail (and the dimmed "last screen" shown once stopped) current while the screen is open.
  useEffect(() => {
    if (!connected) return;
    const shoot = () => void stores.client.request('vm.screenshot', { name: vm.name }).catch(() => {});
    const first = setTimeout(shoot, 3000);
    const every = setInterval(shoot, 10_000);
    return () => {
      clearTimeout(first);
      clearInterval(every);
    };
  }, [stores, vm.name, connected]);

  if (endpoint?.kind === 'native-window') {
    return (
      <div className="screen-placeholder">
        <p>This VM shows its screen in a native window.</p>
        <button type="button" className="button button-primary" onClick={() => void stores.client.request('vm.showScreen', { name: vm.name }).catch(() => {})}>
          Show screen
        </button>
      </div>
    );
  }

  return (
    <div className="screen-tab">
      <div className="screen-bar" role="toolbar" aria-label="Screen controls">
        <span className="muted small" role="status" data-testid="screen-status">
          {running ? (connected ? 'Connected' : status === 'unavailable' ? 'No screen' : status === 'reconnecting' ? 'Reconnecting…' : 'Connecting…') : 'Not running'}
        </span>
        <span className="spacer" />
        <button type="button" className="button button-small" disabled={!connected} onClick={() => screen.current?.ctrlAltDel()}>
          <IconKeyboard /> Send Ctrl-Alt-Del
        </button>
        <button type="button" className="button button-small" disabled={!connected} onClick={() => (refreshReadPermission(), setClipOpen(true))}>
          <IconClipboard /> Clipboard
        </button>
        <button type="button" className="button button-small" disabled={!connected} onClick={() => screen.current?.fullscreen()}>
          <IconFullscreen /> Full screen
        </button>
      </div>
      {running ? (
        <div className="screen-host" onPointerEnter={sync.pushHost}>
          <VncScreen
            ref={screen}
            name={vm.name}
            running={running}
            onStatus={setStatus}
            onGuestClipboard={(text) => {
              setGuestClip(text);
              sync.fromGuest(text);
            }}
            onEndpoint={setEndpoint}
          />
        </div>
      ) : (
        <div className="screen-placeholder">
          {lastScreen && <img className="screen-last" src={lastScreen} alt="" aria-hidden="true" />}
          <p>
            {vm.name} is {vm.state}.
          </p>
          {vm.canRun.ok ? (
            <button type="button" className="button button-primary" onClick={() => void runVmAction(stores, vm.name, 'start')}>
              <IconPlay /> Start {vm.name}
            </button>
          ) : (
            <p className="muted">{vm.canRun.reason}</p>
          )}
          {host?.shell === 'web' && <p className="muted small">The screen appears here once the VM runs.</p>}
        </div>
      )}
      <Dialog.Root open={clipOpen} onOpenChange={setClipOpen}>
        <Dialog.Portal>
          <Dialog.Overlay className="overlay" />
          <Dialog.Content className="dialog">
            <Dialog.Title className="dialog-title">Clipboard</Dialog.Title>
            <Dialog.Description className="dialog-desc">Exchange text with the guest. Guests without a clipboard agent can receive it as typed keystrokes.</Dialog.Description>
            <div className="dialog-body">
              {vm.clipboard === false && (
                <p className="notice small" role="note">
                  Clipboard sharing is off for this run, so text copied in the guest cannot reach this computer. Turn it on in Settings → Clipboard and start the VM again.
                </p>
              )}
              {vm.clipboard === true && (
                <label className="checkbox">
                  <input
                    type="checkbox"
                    aria-describedby="clip-sync-help"
                    checked={autoSync}
                    onChange={(e) => {
                      setAutoSync(e.target.checked);
                      saveAutoSync(e.target.checked);
                    }}
                  />{' '}
                  Sync automatically
                </label>
              )}
              {vm.clipboard === true && (
                <p id="clip-sync-help" className="muted small">
                  What the guest copies lands on this computer’s clipboard; what you copy here reaches the guest when you return to its screen.
                </p>
              )}
              {vm.clipboard === true && autoSync && readPermission === 'prompt' && (
                <div className="notice small" role="note">
                  To send what you copy here to the guest by itself, this page needs to read the clipboard.{' '}
                  <button
                    type="button"
                    className="button button-small"
                    onClick={() => {
                      // A click is the user's gesture the browser asks for; its answer arrives as a permission change.
                      void navigator.clipboard
                        .readText()
                        .then(() => sync.pushHost())
                        .catch(() => {})
                        .finally(refreshReadPermission);
                    }}
                  >
                    Allow clipboard access
                  </button>
                </div>
              )}
              {vm.clipboard === true && autoSync && readPermission === 'denied' && (
                <p className="notice small" role="note">
                  This page may not read the clipboard, so what you copy here reaches the guest only through “Send to guest clipboard” (or allow it in the browser’s site settings).
                </p>
              )}
              <label htmlFor="guest-clip">From the guest</label>
              <textarea id="guest-clip" className="input mono" readOnly rows={3} value={guestClip} placeholder="Text the guest copies appears here." />
              <button type="button" className="button button-small" disabled={!guestClip} onClick={() => void copyText(guestClip)}>
                <IconCopy /> Copy to this computer
              </button>
              <label htmlFor="to-guest">To the guest</label>
              <textarea id="to-guest" className="input mono" rows={3} value={toSend} onChange={(e) => setToSend(e.target.value)} />
              <div className="row-actions">
                <button type="button" className="button button-small" disabled={!toSend} onClick={() => screen.current?.pasteToGuest(toSend)}>
                  Send to guest clipboard
                </button>
                <button type="button" className="button button-small" disabled={!toSend} onClick={() => (screen.current?.typeText(toSend), setClipOpen(false))}>
                  Type it into the guest
                </button>
              </div>
            </div>
            <div className="dialog-foot">
              <Dialog.Close className="button">Done</Dialog.Close>
            </div>
          </Dialog.Content>
        </Dialog.Portal>
      </Dialog.Root>
    </div>
  );
}
