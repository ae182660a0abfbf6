import * as Tabs from '@radix-ui/react-tabs';
import { useEffect, useId, useMemo, useState } from 'react';
import type { IpswInfo } from '../../../api';
import { createDefaults, vmNameProblem } from '../lib/validate';
import { sourceKindOf, type SourceKind } from '../lib/files';
import { formatMemory } from '../lib/format';
import { toError } from '../stores';
import { useAction } from '../lib/useAction';
import { useHost, useStores, useVms } from '../stores/react';
import { Field, Modal } from './Modal';
import { ErrorBox } from './TaskError';

function uniqueName(base: string, taken: Set<string>): string {
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) if (!taken.has(`${base}-${i}`)) return `${base}-${i}`;
}

function PathInput({ id, value, onChange, extensions, placeholder }: { id: string; value: string; onChange(v: string): void; extensions: string[]; placeholder: string }) {
  const pick = window.nestboxFiles?.pickFile;
  return (
    <div className="pair">
      <input id={id} className="input mono" value={value} placeholder={placeholder} spellCheck={false} onChange={(e) => onChange(e.target.value)} />
      {pick && (
        <button
          type="button"
          className="button"
          onClick={async () => {
            const p = await pick({ extensions });
            if (p) onChange(p);
          }}
        >
          Choose…
        </button>
      )}
    </div>
  );
}

/** Create: Linux from an ISO or a disk image, macOS from an IPSW — with defaults that adapt to the host. */
export function CreateDialog({ source, onClose }: { source?: { path: string; type: SourceKind }; onClose(): void }) {
  const stores = useStores();
  const host = useHost((s) => s.info);
  const names = useVms((s) => s.list);
  const taken = useMemo(() => new Set(names.map((v) => v.name)), [names]);
  const defaults = createDefaults(host ?? undefined);
  const id = useId();
  const macLimit = host?.limitations.find((l) => l.feature === 'macos-guests');
  const [tab, setTab] = useState<'linux' | 'macos'>(source?.type === 'ipsw' ? 'macos' : 'linux');
  const [name, setName] = useState(() => uniqueName(source?.type === 'ipsw' ? 'macos' : 'linux', taken));
  const [nameTouched, setNameTouched] = useState(false);
  const [linuxSource, setLinuxSource] = useState<'iso' | 'disk'>(source?.type === 'disk' ? 'disk' : 'iso');
  const [path, setPath] = useState(source && source.type !== 'ipsw' ? source.path : '');
  const [ipsw, setIpsw] = useState(source?.type === 'ipsw' ? source.path : '');
  const [ipswInfo, setIpswInfo] = useState<IpswInfo | null>(null);
  const [ipswError, setIpswError] = useState<string | null>(null);
  const hostArch = host?.arch === 'arm64' ? 'arm64' : 'amd64';
  const [arch, setArch] = useState<'amd64' | 'arm64'>(hostArch);
  const [cpu, setCpu] = useState(String(defaults.cpuCount));
  const [mem, setMem] = useState(String(defaults.memoryMB));
  const [disk, setDisk] = useState(String(defaults.diskSizeGB));
  const { busy, error, setError, run } = useAction();

  useEffect(() => {
    if (host) {
      const d = createDefaults(host);
      setCpu(String(d.cpuCount));
      setMem(String(d.memoryMB));
      setDisk(String(d.diskSizeGB));
      setArch(host.arch === 'arm64' ? 'arm64' : 'amd64');
    }
  }, [host]);

  // Until the user types a name, keep the suggestion unique as the library loads or changes.
  useEffect(() => {
    if (!nameTouched) setName(uniqueName(tab === 'macos' ? 'macos' : 'linux', taken));
  }, [tab, taken, nameTouched]);

  // Inspect the IPSW as soon as a path is entered: version, build, and whether this host can install it.
  useEffect(() => {
    setIpswInfo(null);
    setIpswError(null);
    if (tab !== 'macos' || !ipsw.trim().startsWith('/') || macLimit) return;
    const t = setTimeout(async () => {
      try {
        setIpswInfo(await stores.client.request('ipsw.inspect', { path: ipsw.trim() }));
      } catch (e) {
        setIpswError(toError(e).message);
      }
    }, 300);
    return () => clearTimeout(t);
  }, [ipsw, tab, macLimit, stores]);

  const nameProblem = vmNameProblem(name, taken);
  const num = (s: string) => (/^\d+$/.test(s.trim()) ? Number(s) : NaN);
  const cpuN = num(cpu);
  const memN = num(mem);
  const diskN = num(disk);
  const cpuProblem = !(cpuN >= 1) ? 'At least 1 CPU.' : host && cpuN > host.cpus ? `At most ${host.cpus}: this host has ${host.cpus} CPUs.` : null;
  const memMax = host ? Math.floor(host.memory / 1024 ** 2) : Infinity;
  const memProblem = !(memN >= 512) ? 'At least 512 MB.' : memN > memMax ? `At most ${memMax} MB: this host has ${formatMemory(host!.memory)}.` : null;
  const diskProblem = !(diskN >= 1) ? 'At least 1 GB.' : diskN > 100_000 ? 'At most 100000 GB.' : null;
  const archLimit = host?.limitations.find((l) => l.feature === `${arch}-guests`);
  const pathProblem = tab === 'linux' && path.trim() && !path.trim().startsWith('/') ? 'Enter an absolute path on the host (starting with “/”).' : null;

  const linuxOk = !nameProblem && !cpuProblem && !memProblem && !diskProblem && !pathProblem && !archLimit && !(linuxSource === 'disk' && !path.trim());
  const macOk = !nameProblem && !macLimit && !!ipsw.trim() && !diskProblem && !ipswError;

  const submit = () =>
    run(async () => {
      setError(null);
      if (tab === 'linux') {
        await stores.client.request('vm.create', {
          name,
          os: 'linux',
          arch,
          cpuCount: cpuN,
          memoryMB: memN,
          diskSizeGB: diskN,
          ...(path.trim() ? (linuxSource === 'iso' ? { installerIso: path.trim() } : { diskImage: path.trim() }) : {}),
        });
      } else {
        await stores.client.request('vm.createMacos', { name, ipsw: ipsw.trim(), diskSizeGB: diskN });
      }
      stores.ui.getState().toast({ tone: 'info', title: `Creating ${name}…`, description: 'Progress is in Tasks.' });
      onClose();
    });

  const dropHint = window.nestboxFiles ? 'or drop a file onto the window' : 'the path of a file on the machine running nestbox serve';

  return (
    <Modal
      open
      onOpenChange={(o) => !o && onClose()}
      title="New virtual machine"
      wide
      footer={
        <>
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="button" className="button button-primary" disabled={busy || !(tab === 'linux' ? linuxOk : macOk)} onClick={() => void submit()}>
            Create
          </button>
        </>
      }
    >
      <Tabs.Root value={tab} onValueChange={(t) => setTab(t as 'linux' | 'macos')}>
        <Tabs.List className="tab-list" aria-label="Guest operating system">
          <Tabs.Trigger className="tab" value="linux">
            Linux
          </Tabs.Trigger>
          <Tabs.Trigger className="tab" value="macos">
            macOS
          </Tabs.Trigger>
        </Tabs.List>
        <Field id={`${id}-name`} label="Name" error={name || nameTouched ? nameProblem : null}>
          <input id={`${id}-name`} className="input" value={name} onChange={(e) => (setName(e.target.value), setNameTouched(true))} spellCheck={false} />
        </Field>
        <Tabs.Content value="linux" className="create-panel">
          <div className="segmented" role="radiogroup" aria-label="Install from">
            <button type="button" role="radio" aria-checked={linuxSource === 'iso'} className={linuxSource === 'iso' ? 'on' : ''} onClick={() => setLinuxSource('iso')}>
              Installer ISO
            </button>
            <button type="button" role="radio" aria-checked={linuxSource === 'disk'} className={linuxSource === 'disk' ? 'on' : ''} onClick={() => setLinuxSource('disk')}>
              Disk image
            </button>
          </div>
          <Field
            id={`${id}-path`}
            label={linuxSource === 'iso' ? 'Installer ISO (optional)' : 'Disk image'}
            error={pathProblem}
            hint={linuxSource === 'iso' ? `Attached on first boot — ${dropHint}. Leave empty for a blank disk.` : `Copied as the VM's disk (raw) — ${dropHint}.`}
          >
            <PathInput id={`${id}-path`} value={path} onChange={(p) => (setPath(p), sourceKindOf(p) === 'disk' ? setLinuxSource('disk') : sourceKindOf(p) === 'iso' && setLinuxSource('iso'))} extensions={linuxSource === 'iso' ? ['iso'] : ['img', 'raw']} placeholder={linuxSource === 'iso' ? '/path/to/installer.iso' : '/path/to/disk.img'} />
          </Field>
          <div className="grid-3">
            <Field id={`${id}-arch`} label="Architecture" error={archLimit ? archLimit.reason : null}>
              <select id={`${id}-arch`} className="input" value={arch} onChange={(e) => setArch(e.target.value as 'amd64' | 'arm64')}>
                <option value="amd64">amd64{hostArch === 'amd64' ? ' (native)' : ' (emulated)'}</option>
                <option value="arm64">arm64{hostArch === 'arm64' ? ' (native)' : ' (emulated)'}</option>
              </select>
            </Field>
            <Field id={`${id}-cpu`} label="CPUs" error={cpuProblem} hint={host ? `This host has ${host.cpus}` : undefined}>
              <input id={`${id}-cpu`} className="input input-num" inputMode="numeric" value={cpu} onChange={(e) => setCpu(e.target.value)} />
            </Field>
            <Field id={`${id}-mem`} label="Memory (MB)" error={memProblem} hint={host ? `This host has ${formatMemory(host.memory)}` : undefined}>
              <input id={`${id}-mem`} className="input input-num" inputMode="numeric" value={mem} onChange={(e) => setMem(e.target.value)} />
            </Field>
          </div>
          <Field id={`${id}-disk`} label="Disk size (GB)" error={diskProblem} hint="Sparse: only what the guest writes takes space.">
            <input id={`${id}-disk`} className="input input-num" inputMode="numeric" value={disk} onChange={(e) => setDisk(e.target.value)} />
          </Field>
        </Tabs.Content>
        <Tabs.Content value="macos" className="create-panel">
          {macLimit ? (
            <ErrorBox error={{ code: 'UNSUPPORTED', message: `macOS guests cannot run on this host: ${macLimit.reason}`, fix: macLimit.fix }} />
          ) : (
            <>
              <Field id={`${id}-ipsw`} label="Restore image (IPSW)" error={ipswError} hint={ipswInfo ? `macOS ${ipswInfo.productVersion} (${ipswInfo.build})` : `Drop an .ipsw onto the window, or enter its path.`}>
                <PathInput id={`${id}-ipsw`} value={ipsw} onChange={setIpsw} extensions={['ipsw']} placeholder="/path/to/UniversalMac.ipsw" />
              </Field>
              {ipswInfo?.warnings.map((w) => (
                <p key={w} className="notice">
                  {w}
                </p>
              ))}
              <Field id={`${id}-mdisk`} label="Disk size (GB)" error={diskProblem}>
                <input id={`${id}-mdisk`} className="input input-num" inputMode="numeric" value={disk} onChange={(e) => setDisk(e.target.value)} />
              </Field>
            </>
          )}
        </Tabs.Content>
      </Tabs.Root>
      {error && <ErrorBox error={error} title="The VM was not created" />}
    </Modal>
  );
}
