import * as ContextMenu from '@radix-ui/react-context-menu';
import * as DropdownMenu from '@radix-ui/react-dropdown-menu';
import { Fragment, type ReactNode } from 'react';
import type { VmState } from '../../../api';
import { useStores } from '../stores/react';
import { actionsFor, runVmAction } from './vmActions';
import { IconMore } from './icons';

/** Right-click menu on a VM: the same actions as its "More actions" button. */
export function VmContextMenu({ name, state, children }: { name: string; state: VmState; children: ReactNode }) {
  const stores = useStores();
  return (
    <ContextMenu.Root onOpenChange={(o) => o && stores.ui.getState().select(name)}>
      <ContextMenu.Trigger asChild>{children}</ContextMenu.Trigger>
      <ContextMenu.Portal>
        <ContextMenu.Content className="menu" aria-label={`Actions for ${name}`}>
          {actionsFor(state).map((a) => (
            <Fragment key={a.action}>
              {a.separatorBefore && <ContextMenu.Separator className="menu-sep" />}
              <ContextMenu.Item className={`menu-item${a.danger ? ' menu-danger' : ''}`} onSelect={() => void runVmAction(stores, name, a.action)}>
                {a.label}
                {a.shortcut && <span className="menu-shortcut">{a.shortcut}</span>}
              </ContextMenu.Item>
            </Fragment>
          ))}
        </ContextMenu.Content>
      </ContextMenu.Portal>
    </ContextMenu.Root>
  );
}

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
