/** Electron main process entry (app/main). */
import { app } from 'electron';

app.whenReady().then(() => {
  // Windows, tray and IPC bindings are added by the Electron shell issue.
});
