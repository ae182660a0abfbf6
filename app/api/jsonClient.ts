/**
 * The renderer's contract client: replies and events checked against app/api/contract.schema.json (generated from
 * the zod contract) by jsonCheck.ts — the same boundary check without loading zod in the page. No zod import here.
 */
import type { EventName, RequestName } from './contract';
import { createCheckedClient, type ApiClient, type Checked, type ContractChecker } from './client';
import { checkJson, type JsonSchema } from './jsonCheck';
import type { ApiError } from './models';
import type { NestboxBridge, WireEvent, WireResponse } from './wire';
import schemaFile from './contract.schema.json';

interface SchemaFile {
  results: Record<string, JsonSchema>;
  events: Record<string, JsonSchema>;
  apiError: JsonSchema;
  wireResponse: JsonSchema;
  wireEvent: JsonSchema;
}
const schemas = schemaFile as unknown as SchemaFile;

function checked(schema: JsonSchema | undefined, value: unknown): Checked {
  if (!schema) return { ok: false, issues: [{ path: '(value)', message: 'not in this version of the contract' }] };
  const issues = checkJson(schema, value);
  return issues.length === 0 ? { ok: true, data: value } : { ok: false, issues };
}

export const jsonContractChecker: ContractChecker = {
  isEvent: (name): name is EventName => Object.prototype.hasOwnProperty.call(schemas.events, name),
  result: (name: RequestName, value) => checked(schemas.results[name], value),
  event: (name: EventName, value) => checked(schemas.events[name], value),
  apiError: (value) => (checkJson(schemas.apiError, value).length === 0 ? (value as ApiError) : null),
};

export function createJsonClient(bridge: NestboxBridge): ApiClient {
  return createCheckedClient(bridge, jsonContractChecker);
}

/** A WebSocket frame from `nestbox serve`: a reply, an event, or null when it is neither. */
export function readWireFrame(data: unknown): { kind: 'res'; res: WireResponse } | { kind: 'evt'; evt: WireEvent } | null {
  if (checkJson(schemas.wireResponse, data).length === 0) return { kind: 'res', res: data as WireResponse };
  if (checkJson(schemas.wireEvent, data).length === 0) return { kind: 'evt', evt: data as WireEvent };
  return null;
}
