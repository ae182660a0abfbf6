import * as Toast from '@radix-ui/react-toast';
import { useStores, useUi } from '../stores/react';

/** The notification area and its toasts (loaded on demand by App.tsx). */
export function ToastLayer() {
  return (
    <Toast.Provider swipeDirection="right" duration={6000}>
      <Toasts />
      <Toast.Viewport className="toast-viewport" label="Notifications" />
    </Toast.Provider>
  );
}

function Toasts() {
  const toasts = useUi((s) => s.toasts);
  const dismiss = useStores().ui.getState().dismissToast;
  return (
    <>
      {toasts.map((t) => (
        <Toast.Root key={t.id} className={`toast toast-${t.tone}`} duration={t.tone === 'error' ? 10_000 : t.tone === 'success' ? 5000 : 3500} onOpenChange={(o) => !o && dismiss(t.id)} type={t.tone === 'error' ? 'foreground' : 'background'}>
          <Toast.Title className="toast-title">{t.title}</Toast.Title>
          {t.description && <Toast.Description className="toast-desc">{t.description}</Toast.Description>}
          <Toast.Close className="icon-button toast-close" aria-label="Dismiss">
            ×
          </Toast.Close>
        </Toast.Root>
      ))}
    </>
  );
}
