import { useCallback, useState } from 'react';
import type { ApiError } from '../../../api';
import { toError } from '../stores';

/**
 * The state every form and dialog keeps around one request: `busy` while it runs, and the error it failed with
 * (an ApiError for ErrorBox). `run(fn)` does the try/catch/finally; clearing the last error is the caller's choice.
 */
export function useAction(): { busy: boolean; error: ApiError | null; setError(e: ApiError | null): void; run(fn: () => Promise<void>): Promise<void> } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const run = useCallback(async (fn: () => Promise<void>) => {
    setBusy(true);
    try {
      await fn();
    } catch (e) {
      setError(toError(e));
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, setError, run };
}
