import { useEffect, useRef } from 'react';
import type { VmSummary } from '../../../api';
import type { Stores } from '../stores';
import { runVmAction } from '../components/vmActions';

function typing(t: EventTarget | null): boolean {
  const el = t as HTMLElement | null;
  if (!el || !el.tagName) return false;
  return el.isContentEditable || el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || !!el.closest?.('.screen');
}

/** Global shortcuts: Mod+N new VM, Mod+Shift+P pull, Mod+1/2/3 sections, / filter, ↑↓ select, Enter open, Delete delete, ? help. */
export function useShortcuts(stores: Stores, visible: () => VmSummary[]): void {
  const vis = useRef(visible);
  vis.current = visible;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const ui = stores.ui.getState();
      const mod = e.metaKey || e.ctrlKey;
      if (ui.dialog) return; // dialogs own the keyboard
      if (mod && !e.shiftKey && !e.altKey && e.key.toLowerCase() === 'n') {
        e.preventDefault();
        return ui.open({ kind: 'create' });
      }
      if (mod && e.shiftKey && !e.altKey && e.key.toLowerCase() === 'p') {
        e.preventDefault();
        return ui.open({ kind: 'pull' });
      }
      if (mod && !e.shiftKey && ['1', '2', '3'].includes(e.key)) {
        e.preventDefault();
        return ui.navigate({ view: (['library', 'images', 'tasks'] as const)[Number(e.key) - 1]! });
      }
      const cmdDelete = e.metaKey && e.key === 'Backspace';
      if ((mod && !cmdDelete) || e.altKey || typing(e.target)) return;
      if (e.key === '?') return ui.open({ kind: 'shortcuts' });
      if (ui.route.view !== 'library') return;
      if (e.key === '/') {
        e.preventDefault();
        (document.querySelector('[data-shortcut-target="filter"]') as HTMLInputElement | null)?.focus();
        return;
      }
      const list = vis.current();
      const i = ui.selected ? list.findIndex((v) => v.name === ui.selected) : -1;
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        if (!list.length) return;
        e.preventDefault();
        const next = e.key === 'ArrowDown' ? Math.min(list.length - 1, i + 1) : Math.max(0, i < 0 ? 0 : i - 1);
        return ui.select(list[next]!.name);
      }
      if (i < 0) return;
      if (e.key === 'Enter' && (e.target === document.body || (e.target as HTMLElement).getAttribute?.('role') === 'listitem')) {
        e.preventDefault();
        return void runVmAction(stores, list[i]!.name, 'open');
      }
      if (e.key === 'Delete' || cmdDelete) {
        e.preventDefault();
        return ui.open({ kind: 'delete', name: list[i]!.name });
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [stores]);
}
