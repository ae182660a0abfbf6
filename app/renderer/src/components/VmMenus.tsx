import * as ContextMenu from '@radix-ui/react-context-menu';
import * as DropdownMenu from '@radix-ui/react-dropdown-menu';
import { Fragment, useState, type ReactNode } from 'react';
import type { VmState } from '../../../api';
import { useStores } from '../stores/react';
import { actionsFor, runVmAction } from './vmActions';
import { IconMore } from './icons';

/**
 * One right-click menu for a whole list of VMs (rows mark themselves with data-vm / data-vm-state): a single
 * Radix tree instead of one per row keeps a 500-VM library light. "More actions" buttons open it at themselves.
 */
export function SharedVmContextMenu({ children }: { children: ReactNode }) {
  const stores = useStores();
  const [target, setTarget] = useState<{ name: string; state: VmState } | null>(null);
  return (
    <ContextMenu.Root onOpenChange={(o) => o && target && stores.ui.getState().select(target.name)}>
      <ContextMenu.Trigger
        asChild
        onContextMenu={(e) => {
          const row = (e.target as HTMLElement).closest<HTMLElement>('[data-vm]');
          if (!row) return e.preventDefault();
          setTarget({ name: row.dataset['vm']!, state: row.dataset['vmState'] as VmState });
        }}
      >
        {children}
      </ContextMenu.Trigger>
      <ContextMenu.Portal>
        {target && (
          <ContextMenu.Content className="menu" aria-label={`Actions for ${target.name}`}>
            {actionsFor(target.state).map((a) => (
              <Fragment key={a.action}>
                {a.separatorBefore && <ContextMenu.Separator className="menu-sep" />}
                <ContextMenu.Item className={`menu-item${a.danger ? ' menu-danger' : ''}`} onSelect={() => void runVmAction(stores, target.name, a.action)}>
                  {a.label}
                  {a.shortcut && <span className="menu-shortcut">{a.shortcut}</span>}
                </ContextMenu.Item>
              </Fragment>
            ))}
          </ContextMenu.Content>
        )}
      </ContextMenu.Portal>
    </ContextMenu.Root>
  );
}

/** A "More actions" button that opens the shared context menu below itself (mouse or keyboard). */
export function MoreButton({ name }: { name: string }) {
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

/** The VM page's "More actions" menu (a dropdown: the page has no list to share a context menu with). */
export function VmMoreMenu({ name, state }: { name: string; state: VmState }) {
  const stores = useStores();
  return (
    <DropdownMenu.Root>
      <DropdownMenu.Trigger className="icon-button" aria-label={`More actions for ${name}`}>
        <IconMore />
      </DropdownMenu.Trigger>
      <DropdownMenu.Portal>
        <DropdownMenu.Content className="menu" align="end" sideOffset={4}>
          {actionsFor(state).map((a) => (
            <Fragment key={a.action}>
              {a.separatorBefore && <DropdownMenu.Separator className="menu-sep" />}
              <DropdownMenu.Item className={`menu-item${a.danger ? ' menu-danger' : ''}`} onSelect={() => void runVmAction(stores, name, a.action)}>
                {a.label}
                {a.shortcut && <span className="menu-shortcut">{a.shortcut}</span>}
              </DropdownMenu.Item>
            </Fragment>
          ))}
        </DropdownMenu.Content>
      </DropdownMenu.Portal>
    </DropdownMenu.Root>
  );
}
