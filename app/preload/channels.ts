/**
 * The two IPC channels between the preload and main. preload.ts repeats these strings (it may import nothing
 * at run time); app/main/preload.test.ts drives the real preload and fails if they drift.
 */
/** renderer → main: ipcRenderer.invoke(INVOKE_CHANNEL, method, params) → InvokeOutcome */
export const INVOKE_CHANNEL = 'nestbox:invoke';
/** main → renderer: webContents.send(EVENT_CHANNEL, event, payload) */
export const EVENT_CHANNEL = 'nestbox:event';
/** renderer → main: ipcRenderer.invoke(PICK_FILE_CHANNEL, {title?, extensions?}) → absolute path | null */
export const PICK_FILE_CHANNEL = 'nestbox:pick-file';
