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
import { events, isEventName, isRequestName, requests, type EventName, type RequestName, type Requests, type Result } from './contract';
import { createCheckedClient, type ApiClient, type ContractChecker } from './client';

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

export { ApiCallError } from './client';

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

// ---------- sending side: the typed client (zod checks; the renderer's checks JSON Schema, see jsonClient.ts) ----------

export type { ApiClient, ContractChecker } from './client';

const issuesOf = (e: z.ZodError) => e.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));

export const zodContractChecker: ContractChecker = {
  isEvent: (name): name is EventName => isEventName(name),
  result(name, value) {
    const p = requests[name].result.safeParse(value);
    return p.success ? { ok: true, data: p.data } : { ok: false, issues: issuesOf(p.error) };
  },
  event(name, value) {
    const p = events[name].safeParse(value);
    return p.success ? { ok: true, data: p.data } : { ok: false, issues: issuesOf(p.error) };
  },
  apiError(value) {
    const p = ApiErrorSchema.safeParse(value);
    return p.success ? p.data : null;
  },
};

/** A typed client over any bridge. Results and events are validated (zod) before they reach the caller. */
export function createClient(bridge: NestboxBridge): ApiClient {
  return createCheckedClient(bridge, zodContractChecker);
}
