/**
 * A small JSON Schema checker for the subset `z.toJSONSchema` writes for the contract (types, properties/required,
 * enum/const, anyOf/oneOf/allOf, items, numeric and length bounds, pattern, records through additionalProperties).
 * It lets the renderer validate replies and events at its boundary without shipping zod (a third of its first
 * download and most of its start-up CPU); app/api/contract.schema.json is generated from the zod contract, and
 * test/contract checks both agree.
 *
 * Semantics follow zod's parse, not JSON Schema's letter: `additionalProperties: false` is not enforced (zod strips
 * unknown keys rather than refusing them; here they pass through untouched), and numbers must be finite.
 * No zod import here, on purpose.
 */
export interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  prefixItems?: JsonSchema[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  not?: JsonSchema;
  [k: string]: unknown;
}

export interface CheckIssue {
  path: string;
  message: string;
}

const patterns = new Map<string, RegExp>();
function regex(p: string): RegExp {
  let r = patterns.get(p);
  if (!r) patterns.set(p, (r = new RegExp(p, 'u')));
  return r;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function typeMatches(t: string, v: unknown): boolean {
  switch (t) {
    case 'null':
      return v === null;
    case 'boolean':
      return typeof v === 'boolean';
    case 'string':
      return typeof v === 'string';
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'array':
      return Array.isArray(v);
    case 'object':
      return typeof v === 'object' && v !== null && !Array.isArray(v);
    default:
      return false;
  }
}

function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The issues of `value` against `schema` (empty: valid). Stops collecting after a few. */
export function checkJson(schema: JsonSchema, value: unknown, path = '', issues: CheckIssue[] = []): CheckIssue[] {
  if (issues.length >= 8) return issues;
  const fail = (message: string) => {
    issues.push({ path: path || '(value)', message });
    return issues;
  };
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((t) => typeMatches(t, value))) return fail(`expected ${types.join(' or ')}, got ${typeOf(value)}`);
  }
  if ('const' in schema && !same(schema.const, value)) return fail(`expected ${JSON.stringify(schema.const)}`);
  if (schema.enum && !schema.enum.some((e) => same(e, value))) return fail(`expected one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives && !alternatives.some((s) => checkJson(s, value, path).length === 0)) {
    // Report the closest alternative's issues (the one that failed deepest), like a discriminated union would.
    let best: CheckIssue[] | null = null;
    for (const s of alternatives) {
      const r = checkJson(s, value, path);
      if (!best || r.length < best.length) best = r;
    }
    issues.push(...(best ?? [{ path: path || '(value)', message: 'matches none of the alternatives' }]));
    return issues;
  }
  for (const s of schema.allOf ?? []) checkJson(s, value, path, issues);
  if (schema.not && checkJson(schema.not, value, path).length === 0) return fail('matches a forbidden shape');

  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) fail(`must be ≥ ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) fail(`must be ≤ ${schema.maximum}`);
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) fail(`must be > ${schema.exclusiveMinimum}`);
    if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) fail(`must be < ${schema.exclusiveMaximum}`);
  } else if (typeof value === 'string') {
    const n = [...value].length;
    if (schema.minLength !== undefined && n < schema.minLength) fail(`must be at least ${schema.minLength} characters`);
    if (schema.maxLength !== undefined && n > schema.maxLength) fail(`must be at most ${schema.maxLength} characters`);
    if (schema.pattern !== undefined && !regex(schema.pattern).test(value)) fail(`does not match ${schema.pattern}`);
  } else if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) fail(`needs at least ${schema.minItems} items`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) fail(`takes at most ${schema.maxItems} items`);
    value.forEach((item, i) => {
      const s = schema.prefixItems?.[i] ?? schema.items;
      if (s) checkJson(s, item, `${path}${path ? '.' : ''}${i}`, issues);
    });
  } else if (typeof value === 'object' && value !== null) {
    const o = value as Record<string, unknown>;
    const required = new Set(schema.required ?? []);
    for (const k of required) if (!(k in o)) issues.push({ path: `${path}${path ? '.' : ''}${k}`, message: 'required' });
    for (const [k, v] of Object.entries(o)) {
      const s = schema.properties?.[k];
      const at = `${path}${path ? '.' : ''}${k}`;
      if (v === undefined) {
        // Only structured clones (Electron IPC) carry undefined: zod lets an optional or unconstrained key be
        // undefined, and refuses it for a required typed one.
        if (required.has(k) && s && Object.keys(s).length > 0) issues.push({ path: at, message: 'required' });
        continue;
      }
      if (s) checkJson(s, v, at, issues);
      else if (typeof schema.additionalProperties === 'object') checkJson(schema.additionalProperties, v, at, issues);
    }
  }
  return issues;
}
