// The hostile inputs of the sweep, as a fixed catalogue (no randomness): each body field, query
// parameter, path parameter and header gets these, derived from its schema type.
import { OMIT, mainType, type JsonSchema } from './schema';

export const HUGE_BODY_STRING = 'A'.repeat(100 * 1024);
/** Node refuses request heads over 16 KB (431) before any app code runs, so URLs and headers get 8 KB. */
export const HUGE_URL_STRING = 'B'.repeat(8 * 1024);

export const UNICODE = '🧾💳👩🏽‍💻 مرحبا بالعالم \u202Egnp.exe\u202C Z\u0335\u0321a\u0336l\u0337g\u0334o \uFEFF 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 日本語';
export const NUL = 'before\u0000after';
export const LONE_SURROGATE = 'half \uD83D pair';
export const SQL_INJECTIONS = ["' OR 1=1 --", "'; DROP TABLE users; --", "1' AND pg_sleep(2)--", '" OR ""="', '\\'];
export const NOSQL = [{ $gt: '' }, { $ne: null, $where: 'sleep(100)' }];

function deepNest(levels: number): unknown {
  let v: unknown = 'bottom';
  for (let i = 0; i < levels; i++) v = i % 2 ? [v] : { a: v };
  return v;
}

/** `{"__proto__": …, "constructor": {"prototype": …}}` as own keys (JSON.parse keeps them as data). */
export const PROTO_POLLUTION = JSON.parse('{"__proto__":{"polluted":"yes","isAdmin":true},"constructor":{"prototype":{"polluted":"yes"}}}') as Record<string, unknown>;

export interface Mutation {
  name: string;
  value: unknown;
}

/** Values for one field: wrong types, edge numbers, huge and hostile strings, nested junk; OMIT removes it. */
export function fieldMutations(schema: JsonSchema): Mutation[] {
  const type = mainType(schema);
  const list: Mutation[] = [
    { name: 'missing', value: OMIT },
    { name: 'null', value: null },
    { name: 'huge string (100 KB)', value: HUGE_BODY_STRING },
    { name: 'unicode (emoji, RTL override, combining, BOM)', value: UNICODE },
    { name: 'NUL byte', value: NUL },
    { name: 'lone surrogate', value: LONE_SURROGATE },
    { name: 'SQL injection', value: SQL_INJECTIONS[0] },
    { name: 'SQL injection (stacked)', value: SQL_INJECTIONS[1] },
    { name: 'SQL injection (time-based)', value: SQL_INJECTIONS[2] },
    { name: 'NoSQL operator object', value: NOSQL[0] },
    { name: 'prototype pollution keys', value: PROTO_POLLUTION },
    { name: 'nested junk (64 levels)', value: deepNest(64) },
    { name: 'empty string', value: '' },
    { name: 'array instead', value: ['x', 1, null] },
  ];
  if (type !== 'object') list.push({ name: 'empty object', value: {} });
  if (type === 'string' || type === undefined) {
    list.push({ name: 'number instead of string', value: 12345 }, { name: 'boolean instead of string', value: true });
  }
  if (type === 'integer' || type === 'number') {
    list.push(
      { name: 'numeric string', value: '12' },
      { name: 'negative', value: -1 },
      { name: 'zero', value: 0 },
      { name: 'fraction', value: 1.5 },
      { name: 'beyond the safe integers (2^53)', value: 2 ** 53 },
      { name: '1e308', value: 1e308 },
      { name: '-1e308', value: -1e308 },
    );
  }
  if (type === 'boolean') list.push({ name: 'string "true"', value: 'true' }, { name: 'number 1', value: 1 });
  if (type === 'array') list.push({ name: '10,000 elements', value: Array.from({ length: 10_000 }, (_, i) => i) }, { name: 'object instead of array', value: { 0: 'x' } });
  return list;
}

export interface RawBody {
  name: string;
  raw: string;
  contentType?: string;
}

/** Whole bodies that are not what any route expects. */
export function bodyMutations(baseline: unknown): RawBody[] {
  const json = JSON.stringify(baseline ?? {});
  const withProto = json.startsWith('{') && json !== '{}' ? `{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},${json.slice(1)}` : '{"__proto__":{"polluted":"yes"}}';
  return [
    { name: 'empty object', raw: '{}' },
    { name: 'empty body', raw: '' },
    { name: 'truncated JSON', raw: json.slice(0, Math.max(1, Math.floor(json.length / 2))) },
    { name: 'JSON null', raw: 'null' },
    { name: 'JSON array', raw: `[${json}]` },
    { name: 'JSON string', raw: '"sweep"' },
    { name: 'JSON number', raw: '12345' },
    { name: 'prototype pollution at the top', raw: withProto },
    { name: 'duplicate keys', raw: json.startsWith('{') && json !== '{}' ? `${json.slice(0, -1)},${json.slice(1)}` : '{"a":1,"a":2}' },
    { name: 'nested junk (2,000 levels)', raw: `${'['.repeat(2000)}${']'.repeat(2000)}` },
    { name: 'unknown fields only', raw: JSON.stringify({ $where: 'sleep(1)', role: 'owner', tenantId: '00000000-0000-4000-8000-00000000beef', isAdmin: true }) },
    { name: 'body over the 1 MB limit', raw: JSON.stringify({ junk: 'C'.repeat(1_100_000) }) },
    { name: 'JSON sent as text/plain', raw: json, contentType: 'text/plain' },
    { name: 'form-encoded body', raw: 'a=1&b[$gt]=&__proto__[polluted]=yes', contentType: 'application/x-www-form-urlencoded' },
    { name: 'UTF-16 BOM then JSON', raw: `\uFEFF${json}` },
  ];
}

/** Values for one query parameter (already strings; encoded by the caller). */
export function queryMutations(schema: JsonSchema | undefined): Mutation[] {
  const type = schema ? mainType(schema) : undefined;
  const list: Mutation[] = [
    { name: 'empty', value: '' },
    { name: 'huge (8 KB)', value: HUGE_URL_STRING },
    { name: 'unicode', value: UNICODE },
    { name: 'NUL byte', value: NUL },
    { name: 'SQL injection', value: SQL_INJECTIONS[0] },
    { name: 'SQL injection (time-based)', value: SQL_INJECTIONS[2] },
    { name: 'quote and backslash', value: `'"\\` },
    { name: 'path traversal', value: '../../../../etc/passwd' },
    { name: 'CRLF injection', value: 'x\r\nSet-Cookie: sweep=1' },
  ];
  if (type === 'integer' || type === 'number') {
    list.push({ name: 'not a number', value: 'abc' }, { name: 'negative', value: '-1' }, { name: 'huge number', value: '99999999999999999999999' }, { name: '1e309', value: '1e309' }, { name: 'NaN', value: 'NaN' });
  }
  return list;
}

/** Query strings that abuse the syntax itself rather than one parameter's value. */
export function rawQueryMutations(names: string[]): Array<{ name: string; query: string }> {
  const first = names[0] ?? 'q';
  return [
    { name: 'repeated parameter (array)', query: `${first}=1&${first}=2` },
    { name: 'bracket operator ($gt)', query: `${first}[$gt]=` },
    { name: 'prototype pollution keys', query: '__proto__[polluted]=yes&constructor[prototype][polluted]=yes' },
    { name: 'malformed percent-encoding', query: `${first}=%E0%A4%A&x=%` },
    { name: 'unknown parameter', query: 'sweepUnknown=1' },
  ];
}

/** Replacements for one path parameter (sent as-is, so encoding tricks reach the router). */
export const PATH_MUTATIONS: Array<{ name: string; raw: string }> = [
  { name: 'not an id', raw: 'not-a-uuid' },
  { name: 'nil uuid', raw: '00000000-0000-0000-0000-000000000000' },
  { name: 'SQL injection', raw: encodeURIComponent("' OR 1=1 --") },
  { name: 'encoded NUL', raw: 'abc%00def' },
  { name: 'encoded slash traversal', raw: '..%2F..%2F..%2Fetc%2Fpasswd' },
  { name: 'malformed percent-encoding', raw: '%E0%A4%A' },
  { name: 'unicode', raw: encodeURIComponent('🧾日本') },
  { name: 'huge (8 KB)', raw: HUGE_URL_STRING },
  { name: 'NoSQL-looking', raw: encodeURIComponent('{"$gt":""}') },
];

/** Idempotency-Key values an attacker might send (header values must stay Latin-1). */
export const HEADER_MUTATIONS: Array<{ name: string; value: string }> = [
  { name: 'empty', value: '' },
  { name: 'huge (8 KB)', value: HUGE_URL_STRING },
  { name: 'SQL injection', value: SQL_INJECTIONS[0]! },
  { name: 'latin-1 bytes', value: 'cl\u00e9-\u00ff' },
];
