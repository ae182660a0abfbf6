/**
 * The sending side of the contract — a typed client over any bridge — with no validator of its own: replies and
 * events are checked by a ContractChecker before the caller sees them. Node shells (CLI tests, main, server tests)
 * use the zod checker (wire.ts `createClient`); the renderer uses the JSON Schema checker (jsonClient.ts), so the
 * page does not load zod. Nothing here imports zod.
 */
import type { EventName, EventPayload, Params, RequestName, Result } from './contract';
import type { ApiError } from './models';
import type { NestboxBridge } from './wire';

/** What a client throws when a request fails: the ApiError's fields on an Error. */
export class ApiCallError extends Error {
  readonly code: string;
  readonly fix?: string;
  readonly details?: Record<string, unknown>;
  constructor(e: ApiError) {
    super(e.message);
    this.name = 'ApiCallError';
    this.code = e.code;
    this.fix = e.fix;
    this.details = e.details;
  }
  toApiError(): ApiError {
    return { code: this.code, message: this.message, fix: this.fix, details: this.details };
  }
}

export interface ApiClient {
  request<K extends RequestName>(name: K, params: Params<K>): Promise<Result<K>>;
  on<K extends EventName>(event: K, listener: (payload: EventPayload<K>) => void): () => void;
}

export type Checked = { ok: true; data: unknown } | { ok: false; issues: { path: string; message: string }[] };

/** How a client checks what arrives. */
export interface ContractChecker {
  isEvent(name: string): name is EventName;
  result(name: RequestName, value: unknown): Checked;
  event(name: EventName, value: unknown): Checked;
  /** A well-formed ApiError, or null. */
  apiError(value: unknown): ApiError | null;
}

/** A typed client over any bridge. Results and events are checked before they reach the caller. */
export function createCheckedClient(bridge: NestboxBridge, check: ContractChecker): ApiClient {
  const listeners = new Map<EventName, Set<(p: unknown) => void>>();
  let unsubscribe: (() => void) | null = null;

  const ensureSubscribed = () => {
    if (unsubscribe) return;
    unsubscribe = bridge.subscribe((event, payload) => {
      if (!check.isEvent(event)) return;
      const set = listeners.get(event);
      if (!set || set.size === 0) return;
      const parsed = check.event(event, payload);
      if (!parsed.ok) {
        console.warn(`nestbox: dropped malformed "${event}" event`, parsed.issues);
        return;
      }
      for (const l of set) l(parsed.data);
    });
  };

  return {
    async request(name, params) {
      const outcome = await bridge.invoke(name, params);
      if (!outcome || typeof outcome !== 'object' || !('ok' in outcome)) {
        throw new ApiCallError({ code: 'INTERNAL', message: `Malformed reply to "${name}".` });
      }
      if (!outcome.ok) {
        throw new ApiCallError(check.apiError(outcome.error) ?? { code: 'INTERNAL', message: `Malformed error in the reply to "${name}".` });
      }
      const parsed = check.result(name, outcome.result);
      if (!parsed.ok) {
        throw new ApiCallError({
          code: 'INTERNAL',
          message: `The reply to "${name}" does not match the contract: ${parsed.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}.`,
        });
      }
      return parsed.data as Result<typeof name>;
    },
    on(event, listener) {
      ensureSubscribed();
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(listener as (p: unknown) => void);
      return () => {
        set!.delete(listener as (p: unknown) => void);
      };
    },
  };
}
