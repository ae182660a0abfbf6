/**
 * How the contract travels, whatever the transport (Electron IPC, WebSocket):
 *  - a bridge with `invoke(method, params) → outcome` and `subscribe(listener)` — what the preload exposes
 *    through contextBridge and what the web shell's socket client implements;
 *  - the receiving side validates: the dispatcher checks params before any handler runs, the client checks
 *    results and events before the UI sees them;
 *  - errors travel as ApiError values ({code, message, fix, details}), never as stack traces.
 */
import { z } from 'zod';
import { ApiErrorSchema, type ApiError } from './models';
import { events, isEventName, isRequestName, requests, type EventName, type EventPayload, type Params, type RequestName, type Requests, type Result } from './contract';

export type InvokeOutcome = { ok: true; result: unknown } | { ok: false; error: ApiError };

/** The narrow surface a renderer gets (window.nestbox in Electron; a WebSocket client in the browser). */
export interface NestboxBridge {
  invoke(method: string, params: unknown): Promise<InvokeOutcome>;
  /** Returns an unsubscribe function. */
  subscribe(listener: (event: string, payload: unknown) => void): () => void;
}

// ---------- wire messages (WebSocket / MessagePort framing) ----------

export const WireRequestSchema = z.object({ t: z.literal('req'), id: z.number().int(), method: z.string(), params: z.unknown() });
export const WireResponseSchema = z.union([
  z.object({ t: z.literal('res'), id: z.number().int(), ok: z.literal(true), result: z.unknown() }),
  z.object({ t: z.literal('res'), id: z.number().int(), ok: z.literal(false), error: ApiErrorSchema }),
]);
export const WireEventSchema = z.object({ t: z.literal('evt'), event: z.string(), payload: z.unknown() });
export type WireRequest = z.infer<typeof WireRequestSchema>;
export type WireResponse = z.infer<typeof WireResponseSchema>;
export type WireEvent = z.infer<typeof WireEventSchema>;

// ---------- errors ----------

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

/**
 * Maps anything thrown by a handler to an ApiError. Engine errors (NestboxError, recognised by shape so this
 * module needs nothing of core) keep code/message/fix/details; anything else becomes INTERNAL without a stack.
 */
export function toApiError(e: unknown): ApiError {
  if (e && typeof e === 'object') {
    const o = e as { name?: unknown; code?: unknown; message?: unknown; fix?: unknown; details?: unknown };
    if ((o.name === 'NestboxError' || o.name === 'ApiCallError') && typeof o.code === 'string' && typeof o.message === 'string') {
      return {
        code: o.code,
        message: o.message,
        ...(typeof o.fix === 'string' ? { fix: o.fix } : {}),
        ...(o.details && typeof o.details === 'object' ? { details: safeDetails(o.details as Record<string, unknown>) } : {}),
      };
    }
    if (e instanceof z.ZodError) {
      return {
        code: 'INVALID_ARGUMENT',
        message: `Invalid request: ${e.issues.map((i) => `${i.path.join('.') || '(params)'}: ${i.message}`).join('; ')}.`,
        fix: 'Correct the listed fields and try again.',
        details: { issues: e.issues.map((i) => ({ path: i.path.map(String), message: i.message })) },
      };
    }
  }
  const msg = e instanceof Error ? e.message : String(e);
  return { code: 'INTERNAL', message: `Internal error: ${msg}`, fix: 'Try again; if it keeps happening, report it with "copy details".' };
}

/** Keeps details JSON-safe (no functions, cycles or Buffers). */
function safeDetails(d: Record<string, unknown>): Record<string, unknown> {
  try {
    return JSON.parse(JSON.stringify(d)) as Record<string, unknown>;
  } catch {
    return {};
  }
}

// ---------- receiving side of requests ----------

export type Handler<K extends RequestName, Ctx> = (params: z.output<Requests[K]['params']>, ctx: Ctx) => Promise<Result<K>> | Result<K>;
export type Handlers<Ctx> = { [K in RequestName]: Handler<K, Ctx> };

export type Dispatch<Ctx> = (method: unknown, params: unknown, ctx: Ctx) => Promise<InvokeOutcome>;

/** Validates the method and params, runs the handler, and turns any failure into an ApiError. */
export function createDispatcher<Ctx>(handlers: Handlers<Ctx>): Dispatch<Ctx> {
  return async (method, params, ctx) => {
    if (!isRequestName(method)) {
      return { ok: false, error: { code: 'INVALID_ARGUMENT', message: `Unknown request "${String(method).slice(0, 100)}".`, fix: 'Update the client: it does not match this Nestbox version.' } };
    }
    const parsed = requests[method].params.safeParse(params ?? {});
    if (!parsed.success) return { ok: false, error: toApiError(parsed.error) };
    try {
      const handler = handlers[method] as Handler<RequestName, Ctx>;
      const result = await handler(parsed.data as never, ctx);
      return { ok: true, result: result === undefined ? null : result };
    } catch (e) {
      return { ok: false, error: toApiError(e) };
    }
  };
}

// ---------- sending side: the typed client ----------

export interface ApiClient {
  request<K extends RequestName>(name: K, params: Params<K>): Promise<Result<K>>;
  on<K extends EventName>(event: K, listener: (payload: EventPayload<K>) => void): () => void;
}

/** A typed client over any bridge. Results and events are validated before they reach the caller. */
export function createClient(bridge: NestboxBridge): ApiClient {
  const listeners = new Map<EventName, Set<(p: unknown) => void>>();
  let unsubscribe: (() => void) | null = null;

  const ensureSubscribed = () => {
    if (unsubscribe) return;
    unsubscribe = bridge.subscribe((event, payload) => {
      if (!isEventName(event)) return;
      const set = listeners.get(event);
      if (!set || set.size === 0) return;
      const parsed = events[event].safeParse(payload);
      if (!parsed.success) {
        console.warn(`nestbox: dropped malformed "${event}" event`, parsed.error.issues);
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
      if (!outcome.ok) throw new ApiCallError(ApiErrorSchema.parse(outcome.error));
      const parsed = requests[name].result.safeParse(outcome.result);
      if (!parsed.success) {
        throw new ApiCallError({
          code: 'INTERNAL',
          message: `The reply to "${name}" does not match the contract: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}.`,
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
