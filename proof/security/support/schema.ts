// JSON Schema (OpenAPI 3.1, as the services generate it from their zod schemas) helpers for the
// sweep: resolve references, build a plausible valid value for a schema ("baseline"), and list the
// leaves of a value with the schema that governs each, so every field can be mutated on its own.

export type JsonSchema = Record<string, unknown>;
export type PathKey = string | number;

export interface OpenApiDoc {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

export interface OpenApiParameter {
  name: string;
  in: 'query' | 'path' | 'header' | 'cookie';
  required?: boolean;
  schema?: JsonSchema;
}

export interface OpenApiOperation {
  summary?: string;
  parameters?: OpenApiParameter[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: JsonSchema }> };
  responses?: Record<string, unknown>;
}

export class Schemas {
  constructor(private readonly doc: OpenApiDoc) {}

  /** Follows `$ref`s and merges `allOf` parts, so callers see one plain schema. */
  resolve(schema: JsonSchema | undefined, depth = 0): JsonSchema {
    if (!schema || depth > 20) return {};
    const ref = schema.$ref;
    if (typeof ref === 'string') {
      const name = ref.replace('#/components/schemas/', '');
      const target = this.doc.components?.schemas?.[name];
      if (!target) throw new Error(`unresolvable $ref ${ref}`);
      const { $ref: _ignored, ...rest } = schema;
      return this.resolve({ ...target, ...rest }, depth + 1);
    }
    if (Array.isArray(schema.allOf)) {
      const { allOf, ...rest } = schema;
      const parts = (allOf as JsonSchema[]).map((p) => this.resolve(p, depth + 1));
      const merged: JsonSchema = { ...rest };
      const types = new Set<string>();
      for (const part of parts) {
        for (const t of typesOf(part)) types.add(t);
        const { properties, required, type: _type, ...others } = part;
        Object.assign(merged, others);
        if (properties) merged.properties = { ...(merged.properties as object), ...(properties as object) };
        if (Array.isArray(required)) merged.required = [...((merged.required as string[]) ?? []), ...required];
      }
      // `allOf: [Money, {type: [object, null]}]` is how a nullable reference is written.
      if (types.size) merged.type = [...types];
      return merged;
    }
    return schema;
  }
}

export function typesOf(schema: JsonSchema): string[] {
  if (Array.isArray(schema.type)) return schema.type as string[];
  if (typeof schema.type === 'string') return [schema.type];
  if (schema.properties || schema.additionalProperties) return ['object'];
  if (Array.isArray(schema.enum) && schema.enum.length) return [typeof schema.enum[0]];
  return [];
}

/** The first non-null type of a schema ('object', 'string', …), or undefined. */
export function mainType(schema: JsonSchema): string | undefined {
  return typesOf(schema).find((t) => t !== 'null');
}

/** Values the baseline uses for fields it knows by name (ids of the acting tenant, formats a regex asks for). */
export type Hints = (name: string, schema: JsonSchema) => unknown;

/** Marks a field the baseline leaves out (e.g. cursors, which must come from a previous page). */
export const OMIT = Symbol('omit');

const STRING_CANDIDATES = ['Sweep value', 'sweep_value', 'sweepvalue', 'SWEEP-1', 'USD', 'US', 'receipt', 'abcd', '1234', '4242', '+14155550123', 'a'];

function stringFits(value: string, schema: JsonSchema): boolean {
  if (typeof schema.minLength === 'number' && value.length < schema.minLength) return false;
  if (typeof schema.maxLength === 'number' && value.length > schema.maxLength) return false;
  if (typeof schema.pattern === 'string') {
    try {
      if (!new RegExp(schema.pattern, 'u').test(value)) return false;
    } catch {
      if (!new RegExp(schema.pattern).test(value)) return false;
    }
  }
  return true;
}

/** True when a string value satisfies the schema's length and pattern (not its format). */
export const admitsString = (schema: JsonSchema, value: string) => mainType(schema) === 'string' && !schema.enum && !schema.const && stringFits(value, schema);

function numberFor(name: string, schema: JsonSchema, integer: boolean): number {
  const min = typeof schema.minimum === 'number' ? schema.minimum : typeof schema.exclusiveMinimum === 'number' ? schema.exclusiveMinimum + (integer ? 1 : 0.5) : undefined;
  const max = typeof schema.maximum === 'number' ? schema.maximum : typeof schema.exclusiveMaximum === 'number' ? schema.exclusiveMaximum - (integer ? 1 : 0.5) : undefined;
  let wanted = name === 'amount' ? 100 : name === 'points' ? 10 : name === 'percent' ? 10 : name === 'limit' ? 5 : 1;
  if (min !== undefined && wanted < min) wanted = min;
  if (max !== undefined && wanted > max) wanted = max;
  return wanted;
}

export type Mode = 'full' | 'minimal';

/**
 * A value that the schema (and, through `hints`, the service) should accept: required fields only
 * ('minimal') or every documented field ('full'). The first alternative of a oneOf is used;
 * `variants()` gives one baseline per top-level alternative.
 */
export function baseline(schemas: Schemas, raw: JsonSchema | undefined, hints: Hints, mode: Mode, name = '', depth = 0): unknown {
  const schema = schemas.resolve(raw);
  if (depth > 12) return undefined;
  if (name) {
    const hinted = hints(name, schema);
    if (hinted === OMIT) return OMIT;
    if (hinted !== undefined) return hinted;
  }
  if (schema.const !== undefined) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum.find((v) => v !== null) ?? schema.enum[0];
  const alternatives = (schema.oneOf ?? schema.anyOf) as JsonSchema[] | undefined;
  if (Array.isArray(alternatives) && alternatives.length) {
    const first = alternatives.map((a) => schemas.resolve(a)).find((a) => mainType(a) !== 'null') ?? alternatives[0]!;
    return baseline(schemas, first, hints, mode, '', depth + 1);
  }
  switch (mainType(schema)) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
      const required = new Set((schema.required as string[] | undefined) ?? []);
      for (const [key, prop] of Object.entries(properties)) {
        if (mode === 'minimal' && !required.has(key)) continue;
        const value = baseline(schemas, prop, hints, mode, key, depth + 1);
        if (value !== OMIT && value !== undefined) out[key] = value;
      }
      if (!Object.keys(properties).length && schema.additionalProperties && typeof schema.additionalProperties === 'object') out.sweepKey = 'sweep value';
      return out;
    }
    case 'array': {
      const items = schema.items as JsonSchema | undefined;
      const count = Math.max(typeof schema.minItems === 'number' ? schema.minItems : 0, mode === 'full' ? 1 : 0);
      const list: unknown[] = [];
      for (let i = 0; i < count; i++) {
        const v = baseline(schemas, items, hints, mode, name ? `${name}[]` : '', depth + 1);
        if (v !== OMIT && v !== undefined) list.push(v);
      }
      return list;
    }
    case 'string': {
      switch (schema.format) {
        case 'uuid':
          return '00000000-0000-4000-8000-00000000a001';
        case 'email':
          return 'sweep-nobody@sweep.test';
        case 'date':
          return '2025-01-01';
        case 'date-time':
          return '2025-01-01T00:00:00Z';
        case 'uri':
        case 'url':
          return 'https://sweep.test/path';
      }
      return STRING_CANDIDATES.find((c) => stringFits(c, schema)) ?? 'Sweep value';
    }
    case 'integer':
      return numberFor(name, schema, true);
    case 'number':
      return numberFor(name, schema, false);
    case 'boolean':
      return typeof schema.default === 'boolean' ? schema.default : true;
    case 'null':
      return null;
    default:
      return 'sweep';
  }
}

/** One baseline per top-level alternative (e.g. each payment method), or just the one. */
export function variants(schemas: Schemas, raw: JsonSchema | undefined, hints: Hints, mode: Mode): unknown[] {
  const schema = schemas.resolve(raw);
  const alternatives = (schema.oneOf ?? schema.anyOf) as JsonSchema[] | undefined;
  if (Array.isArray(alternatives) && alternatives.length) return alternatives.map((a) => baseline(schemas, a, hints, mode));
  return [baseline(schemas, schema, hints, mode)];
}

export interface Leaf {
  path: PathKey[];
  schema: JsonSchema;
  required: boolean;
}

/** Every field of `value` (objects and arrays included), with the schema that governs it. */
export function leaves(schemas: Schemas, raw: JsonSchema | undefined, value: unknown, path: PathKey[] = [], required = true): Leaf[] {
  const schema = pickVariant(schemas, schemas.resolve(raw), value);
  const here: Leaf[] = path.length ? [{ path, schema, required }] : [];
  if (Array.isArray(value)) {
    return [...here, ...value.flatMap((v, i) => leaves(schemas, schema.items as JsonSchema, v, [...path, i], true))];
  }
  if (value && typeof value === 'object') {
    const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
    const req = new Set((schema.required as string[] | undefined) ?? []);
    return [
      ...here,
      ...Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => leaves(schemas, properties[k] ?? (schema.additionalProperties as JsonSchema) ?? {}, v, [...path, k], req.has(k))),
    ];
  }
  return here;
}

/** The oneOf alternative whose const/enum discriminator matches the value (or the schema itself). */
function pickVariant(schemas: Schemas, schema: JsonSchema, value: unknown): JsonSchema {
  const alternatives = (schema.oneOf ?? schema.anyOf) as JsonSchema[] | undefined;
  if (!Array.isArray(alternatives) || !value || typeof value !== 'object') return schema;
  const resolved = alternatives.map((a) => schemas.resolve(a));
  const v = value as Record<string, unknown>;
  return (
    resolved.find((alt) =>
      Object.entries((alt.properties ?? {}) as Record<string, JsonSchema>).every(([k, p]) => {
        const enumValues = (schemas.resolve(p).enum as unknown[] | undefined) ?? undefined;
        return !enumValues || enumValues.length !== 1 || v[k] === enumValues[0];
      }),
    ) ?? resolved[0]!
  );
}

export function clone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/** A copy of `value` with the field at `path` replaced (or removed when `replacement` is OMIT). */
export function withField(value: unknown, path: PathKey[], replacement: unknown): unknown {
  const copy = clone(value);
  let node = copy as Record<PathKey, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<PathKey, unknown>;
  const last = path[path.length - 1]!;
  if (replacement === OMIT) {
    if (Array.isArray(node)) node.splice(Number(last), 1);
    else delete node[last];
  } else {
    node[last] = replacement;
  }
  return copy;
}

export const pathText = (path: PathKey[]) => path.join('.');
