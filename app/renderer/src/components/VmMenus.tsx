import * as DropdownMenu from '@radix-ui/react-dropdown-menu';
import { Fragment } from 'react';
import type { VmState } from '../../../api';
import { useStores } from '../stores/react';
import { actionsFor, runVmAction } from './vmActions';
import { IconMore } from './icons';

/** Where a menu opens: the viewport point, and the element to give focus back to when it closes. */
export interface MenuAnchor {
  x: number;
  y: number;
  returnFocus?: HTMLElement | null;
}

/**
 * A zero-size, fixed-position trigger at the point, so a controlled Radix menu opens there. It has no name of its
 * own, so the menus name themselves (aria-label, and no aria-labelledby pointing here).
 */
function AnchorTrigger({ at }: { at: MenuAnchor }) {
  return (
    <DropdownMenu.Trigger asChild>
      <span aria-hidden="true" style={{ position: 'fixed', left: at.x, top: at.y, width: 0, height: 0, pointerEvents: 'none' }} />
    </DropdownMenu.Trigger>
  );
}

const giveFocusBack = (at: MenuAnchor) => (e: Event) => {
  e.preventDefault();
  at.returnFocus?.focus();
};

/** The actions that fit the VM's state, for either VM menu. */
function VmActionItems({ name, state }: { name: string; state: VmState }) {
  const stores = useStores();
  return actionsFor(state).map((a) => (
    <Fragment key={a.action}>
      {a.separatorBefore && <DropdownMenu.Separator className="menu-sep" />}
      <DropdownMenu.Item className={`menu-item${a.danger ? ' menu-danger' : ''}`} onSelect={() => void runVmAction(stores, name, a.action)}>
        {a.label}
        {a.shortcut && <span className="menu-shortcut">{a.shortcut}</span>}
      </DropdownMenu.Item>
    </Fragment>
  ));
}

/**
 * The library's VM menu (right-click on a row, or its "More actions" button), opened at a point. One menu for the
 * whole list, loaded on demand: the library's first render carries no menu code (Library.tsx).
 */
export function VmListMenu({ vm, at, onClose }: { vm: { name: string; state: VmState }; at: MenuAnchor; onClose(): void }) {
  return (
    <DropdownMenu.Root open modal={false} onOpenChange={(o) => !o && onClose()}>
      <AnchorTrigger at={at} />
      <DropdownMenu.Portal>
        <DropdownMenu.Content className="menu" aria-label={`Actions for ${vm.name}`} aria-labelledby={undefined} align="start" sideOffset={2} onCloseAutoFocus={giveFocusBack(at)}>
          <VmActionItems name={vm.name} state={vm.state} />
        </DropdownMenu.Content>
      </DropdownMenu.Portal>
    </DropdownMenu.Root>
  );
}

/** The library's sort menu, opened below its button (Library.tsx renders the button; this loads on demand). */
export function SortMenu({ options, value, dir, at, onPick, onClose }: { options: { key: string; label: string }[]; value: string; dir: 'asc' | 'desc'; at: MenuAnchor; onPick(key: string): void; onClose(): void }) {
  return (
    <DropdownMenu.Root open modal={false} onOpenChange={(o) => !o && onClose()}>
      <AnchorTrigger at={at} />
      <DropdownMenu.Portal>
        <DropdownMenu.Content className="menu" aria-label="Sort by" aria-labelledby={undefined} align="end" sideOffset={4} onCloseAutoFocus={giveFocusBack(at)}>
          <DropdownMenu.RadioGroup value={value} onValueChange={onPick}>
            {options.map((s) => (
              <DropdownMenu.RadioItem key={s.key} value={s.key} className="menu-item">
                {s.label}
                {value === s.key && <span className="menu-shortcut">{dir === 'asc' ? '↑' : '↓'}</span>}
              </DropdownMenu.RadioItem>
            ))}
          </DropdownMenu.RadioGroup>
        </DropdownMenu.Content>
      </DropdownMenu.Portal>
    </DropdownMenu.Root>
  );
}

/** The VM page's "More actions" menu (a dropdown: the page has no list to share a context menu with). */
export function VmMoreMenu({ name, state }: { name: string; state: VmState }) {
  return (
    <DropdownMenu.Root>
      <DropdownMenu.Trigger className="icon-button" aria-label={`More actions for ${name}`}>
        <IconMore />
      </DropdownMenu.Trigger>
      <DropdownMenu.Portal>
        <DropdownMenu.Content className="menu" align="end" sideOffset={4}>
          <VmActionItems name={name} state={state} />
        </DropdownMenu.Content>
      </DropdownMenu.Portal>
    </DropdownMenu.Root>
  );
}
