/**
 * Shell intents: the contract's `shell.intent` event, which the desktop shell sends to bring something into view
 * (tray, app menu, a notification's click, an opened file or link). The renderer acts on it
 * (app/renderer/src/stores: pull → pull dialog, new-vm → create dialog, show-task → tasks view,
 * show-vm → the VM, its screen when asked).
 */
import type { EventPayload } from '../api/contract';
import { events } from '../api/contract';

export type Intent = EventPayload<'shell.intent'>;

/** The intent for a shell action, validated against the contract (what the renderer's client accepts). */
export function intent(i: Intent): Intent {
  return events['shell.intent'].parse(i);
}
