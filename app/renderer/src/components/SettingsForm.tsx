import * as Slider from '@radix-ui/react-slider';
import { useEffect, useId, useMemo, useState } from 'react';
import type { VmDetail } from '../../../api';
import { formatBytes, formatMemory } from '../lib/format';
import { useAction } from '../lib/useAction';
import { checkSettings, cpuBounds, currentDiskGB, draftFromVm, memoryBoundsMB, MiB, type SettingsDraft } from '../lib/validate';
import { loadClipboardPref, loadSharedDirs, saveClipboardPref, saveSharedDirs, type ClipboardPref, type SharedDir } from '../lib/sharedDirs';
import { useStores } from '../stores/react';
import { Field } from './Modal';
import { ErrorBox } from './TaskError';

function SliderInput({ id, label, value, min, max, step, onChange, format }: { id: string; label: string; value: number; min: number; max: number; step: number; onChange(v: number): void; format(v: number): string }) {
  return (
    <div className="slider-row">
      <Slider.Root className="slider" min={min} max={max} step={step} value={[Math.min(max, Math.max(min, value))]} onValueChange={([v]) => onChange(v!)} aria-label={label}>
        <Slider.Track className="slider-track">
          <Slider.Range className="slider-range" />
        </Slider.Track>
        <Slider.Thumb className="slider-thumb" aria-label={label} aria-controls={id} />
      </Slider.Root>
      <span className="slider-scale muted small">
        {format(min)} – {format(max)}
      </span>
    </div>
  );
}

/** CPU, memory, disk (grow only), display, MAC and shared folders — validated against the config's minimums and the host's limits. */
export function SettingsForm({ vm }: { vm: VmDetail }) {
  const stores = useStores();
  const id = useId();
  const [draft, setDraft] = useState<SettingsDraft>(() => draftFromVm(vm));
  const { busy: saving, error: saveError, setError: setSaveError, run } = useAction();
  const [warnings, setWarnings] = useState<string[]>([]);
  const [dirs, setDirs] = useState<SharedDir[]>(() => loadSharedDirs(vm.name));
  const [clip, setClip] = useState<ClipboardPref>(() => loadClipboardPref(vm.name));
  const [newDir, setNewDir] = useState({ path: '', name: '', readOnly: false });

  // A VM changed elsewhere (CLI, another window): start again from what is on disk.
  const key = `${vm.name}|${vm.cpuCount}|${vm.memorySize}|${vm.disk.apparent}|${vm.display?.width}x${vm.display?.height}|${vm.macAddress}`;
  useEffect(() => setDraft(draftFromVm(vm)), [key]);

  const check = useMemo(() => checkSettings(draft, vm), [draft, vm]);
  const cb = cpuBounds(vm);
  const mb = memoryBoundsMB(vm);
  const stopped = vm.state === 'stopped';
  const set = (patch: Partial<SettingsDraft>) => {
    setDraft((d) => ({ ...d, ...patch }));
    setSaveError(null);
  };

  const save = async () => {
    if (!check.changed || check.needsStop) return;
    await run(async () => {
      setSaveError(null);
      const r = await stores.client.request('vm.set', { name: vm.name, ...check.changes });
      setWarnings(r.warnings);
      await stores.vms.getState().loadDetail(vm.name);
      setDraft(draftFromVm(r.vm));
      stores.ui.getState().toast({ tone: 'success', title: `Saved the settings of ${vm.name}` });
    });
  };

  const cpu = Number(draft.cpuCount) || cb.min;
  const mem = Number(draft.memoryMB) || mb.min;
  const memStep = mb.max - mb.min >= 4096 ? 256 : 64;

  return (
    <form
      className="settings"
      aria-label={`Settings of ${vm.name}`}
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      {!stopped && (
        <div className="notice" role="note">
          {vm.name} is {vm.state}. Stop it to change CPUs, memory, disk or display — these apply when the VM starts.
        </div>
      )}
      <fieldset disabled={!stopped || saving} className="settings-grid">
        <Field id={`${id}-cpu`} label="CPUs" error={check.errors.cpuCount} hint={`${cb.min}–${cb.max}: at most what this host has.`}>
          <div className="with-slider">
            <input id={`${id}-cpu`} className="input input-num" inputMode="numeric" value={draft.cpuCount} onChange={(e) => set({ cpuCount: e.target.value })} aria-invalid={check.errors.cpuCount ? true : undefined} />
            <SliderInput id={`${id}-cpu`} label="CPUs slider" value={cpu} min={cb.min} max={cb.max} step={1} onChange={(v) => set({ cpuCount: String(v) })} format={String} />
          </div>
        </Field>
        <Field id={`${id}-mem`} label="Memory (MB)" error={check.errors.memoryMB} hint={`${formatMemory(Number(draft.memoryMB) * MiB)} · ${mb.min}–${mb.max} MB`}>
          <div className="with-slider">
            <input id={`${id}-mem`} className="input input-num" inputMode="numeric" value={draft.memoryMB} onChange={(e) => set({ memoryMB: e.target.value })} aria-invalid={check.errors.memoryMB ? true : undefined} />
            <SliderInput id={`${id}-mem`} label="Memory slider" value={mem} min={mb.min} max={mb.max} step={memStep} onChange={(v) => set({ memoryMB: String(v) })} format={(v) => formatMemory(v * MiB)} />
          </div>
        </Field>
        <Field
          id={`${id}-disk`}
          label="Disk size (GB)"
          error={check.errors.diskSizeGB}
          hint={`Grow only. Now ${currentDiskGB(vm)} GB, ${formatBytes(vm.disk.allocated)} used on the host. The guest must grow its partition afterwards.`}
        >
          <input id={`${id}-disk`} className="input input-num" inputMode="numeric" value={draft.diskSizeGB} onChange={(e) => set({ diskSizeGB: e.target.value })} aria-invalid={check.errors.diskSizeGB ? true : undefined} />
        </Field>
        <Field id={`${id}-dw`} label="Display size (pixels)" error={check.errors.display} hint="The guest's screen resolution.">
          <div className="pair">
            <input id={`${id}-dw`} className="input input-num" inputMode="numeric" aria-label="Display width" value={draft.displayWidth} onChange={(e) => set({ displayWidth: e.target.value })} />
            <span aria-hidden="true">×</span>
            <input className="input input-num" inputMode="numeric" aria-label="Display height" value={draft.displayHeight} onChange={(e) => set({ displayHeight: e.target.value })} />
          </div>
        </Field>
        <div className="field">
          <span className="label">MAC address</span>
          <p className="mono">{vm.macAddress ?? '—'}</p>
          <label className="checkbox">
            <input type="checkbox" checked={draft.randomMac} onChange={(e) => set({ randomMac: e.target.checked })} />
            Generate a new MAC address (for a clone that shares the network with its source)
          </label>
        </div>
      </fieldset>

      {warnings.length > 0 && (
        <ul className="notice" aria-label="Warnings">
          {warnings.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      )}
      {saveError && <ErrorBox error={saveError} title="The settings were not saved" />}
      <div className="settings-foot">
        <span className="muted small">{check.changed ? 'Unsaved changes' : Object.keys(check.errors).length ? 'Fix the highlighted values to save' : 'No changes'}</span>
        <button type="button" className="button" disabled={saving} onClick={() => setDraft(draftFromVm(vm))}>
          Revert
        </button>
        <button type="submit" className="button button-primary" disabled={!check.changed || check.needsStop || saving}>
          {saving ? 'Saving…' : 'Save'}
        </button>
      </div>

      <section className="shared" aria-labelledby={`${id}-shared`}>
        <h3 id={`${id}-shared`}>Shared folders</h3>
        <p className="muted small">Folders on the host the guest can mount (virtiofs, tag “com.apple.virtio-fs.automount”). They apply each time the VM starts from here.</p>
        {dirs.length > 0 && (
          <ul className="shared-list">
            {dirs.map((d, i) => (
              <li key={`${d.path}-${i}`}>
                <span className="mono">{d.path}</span>
                {d.name && <span className="muted small"> as “{d.name}”</span>}
                {d.readOnly && <span className="muted small"> · read-only</span>}
                <button
                  type="button"
                  className="button button-small button-ghost"
                  aria-label={`Remove shared folder ${d.path}`}
                  onClick={() => {
                    const next = dirs.filter((_, j) => j !== i);
                    setDirs(next);
                    saveSharedDirs(vm.name, next);
                  }}
                >
                  Remove
                </button>
              </li>
            ))}
          </ul>
        )}
        <div className="shared-add">
          <input className="input mono" placeholder="/path/on/the/host" aria-label="Shared folder path" value={newDir.path} onChange={(e) => setNewDir({ ...newDir, path: e.target.value })} />
          <input className="input" placeholder="name (optional)" aria-label="Shared folder name" value={newDir.name} onChange={(e) => setNewDir({ ...newDir, name: e.target.value })} />
          <label className="checkbox">
            <input type="checkbox" checked={newDir.readOnly} onChange={(e) => setNewDir({ ...newDir, readOnly: e.target.checked })} /> Read-only
          </label>
          <button
            type="button"
            className="button"
            disabled={!newDir.path.startsWith('/')}
            onClick={() => {
              const next = [...dirs, { path: newDir.path, readOnly: newDir.readOnly, ...(newDir.name ? { name: newDir.name } : {}) }];
              setDirs(next);
              saveSharedDirs(vm.name, next);
              setNewDir({ path: '', name: '', readOnly: false });
            }}
          >
            Add folder
          </button>
        </div>
      </section>

      <section className="shared" aria-labelledby={`${id}-clip`}>
        <h3 id={`${id}-clip`}>Clipboard</h3>
        <p className="muted small" id={`${id}-clip-help`}>
          Copy and paste text between this computer and the guest through its SPICE agent (install spice-vdagent in Linux guests). Some QEMU versions (7.2) cannot
          suspend a VM while it is shared; “Automatic” shares it only where suspending still works. Applies from the next start.
        </p>
        <label className="field-inline">
          <span>Clipboard sharing</span>
          <select
            className="input"
            aria-describedby={`${id}-clip-help`}
            value={clip}
            onChange={(e) => {
              const v = e.target.value as ClipboardPref;
              setClip(v);
              saveClipboardPref(vm.name, v);
            }}
          >
            <option value="auto">Automatic</option>
            <option value="on">On</option>
            <option value="off">Off</option>
          </select>
        </label>
      </section>
    </form>
  );
}
