/**
 * The contract's replies and events as JSON Schema, generated from the zod schemas (z.toJSONSchema) into
 * app/api/contract.schema.json, which the renderer checks with app/api/jsonCheck.ts instead of loading zod.
 * `node scripts/build.mjs` rewrites the file; test/contract/json-schema.test.ts fails when it is stale.
 */
import { z } from 'zod';
import { events, requests } from './contract';
import { ApiErrorSchema } from './models';
import { WireEventSchema, WireResponseSchema } from './wire';
import type { JsonSchema } from './jsonCheck';

export interface ContractSchemas {
  /** Each request's result. */
  results: Record<string, JsonSchema>;
  events: Record<string, JsonSchema>;
  apiError: JsonSchema;
  wireResponse: JsonSchema;
  wireEvent: JsonSchema;
}

function json(schema: z.ZodType): JsonSchema {
  const out = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any', reused: 'inline', cycles: 'throw' }) as JsonSchema;
  delete out['$schema'];
  return out;
}

export function contractJsonSchemas(): ContractSchemas {
  return {
    results: Object.fromEntries(Object.entries(requests).map(([k, v]) => [k, json(v.result)])),
    events: Object.fromEntries(Object.entries(events).map(([k, v]) => [k, json(v as z.ZodType)])),
    apiError: json(ApiErrorSchema),
    wireResponse: json(WireResponseSchema),
    wireEvent: json(WireEventSchema),
  };
}

/** The file's text: stable key order, one trailing newline. */
export function contractSchemaFile(): string {
  return JSON.stringify(contractJsonSchemas()) + '\n';
}
