/**
 * Shell intents (the contract's `shell.intent` event) and the page location each one maps to. The renderer's
 * routes live in the URL hash (#/vm/<name>/<tab>, #/tasks, …), so main can bring a view forward by setting the
 * hash even where the page does not handle the intent; dialogs (pull, new VM) have no route and need the event.
 */
import type { EventPayload } from '../api/contract';

export type Intent = EventPayload<'shell.intent'>;

/** The hash to navigate to for an intent, or null when only the page can act on it. */
export function intentHash(i: Intent): string | null {
  switch (i.kind) {
    case 'show-vm':
      return `#/vm/${encodeURIComponent(i.name)}/${i.screen ? 'screen' : 'settings'}`;
    case 'show-task':
      return '#/tasks';
    case 'pull':
    case 'new-vm':
      return null;
  }
}

/** A line of script that sets the hash — only ever built from intentHash's output (JSON-quoted). */
export function setHashScript(hash: string): string {
  if (!/^#\/[A-Za-z0-9%._~!*'()\-/]*$/.test(hash)) throw new Error(`refusing to navigate to ${JSON.stringify(hash)}`);
  return `location.hash = ${JSON.stringify(hash)};`;
}
