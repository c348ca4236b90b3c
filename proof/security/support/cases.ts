// Turns the routes into the fuzzing cases: for every route, its body fields, its whole body, its
// query parameters, its path parameters and its Idempotency-Key, each paired with hostile values
// from the catalogue in fuzz.ts. Pure and deterministic: the same routes give the same cases.
import { bodyMutations, fieldMutations, HEADER_MUTATIONS, PATH_MUTATIONS, queryMutations, rawQueryMutations } from './fuzz';
import { fillPath, paramFixture, pathFor, routeName, type SweepRoute } from './routes';
import { baseline, leaves, mainType, OMIT, pathText, variants, withField, type Hints, type JsonSchema } from './schema';
import type { Fixtures } from './stack';

export interface FuzzCase {
  route: SweepRoute;
  /** What was fuzzed, for the report: `body.lines.0.quantity: huge string`. */
  label: string;
  kind: 'field' | 'body' | 'query' | 'path' | 'header';
  path: string;
  body?: unknown;
  rawBody?: string;
  contentType?: string;
  idempotencyKey?: string;
}

const CSV_HEADER = 'sku,name,price,currency,tax_rate_bps,barcodes,description';
const importRow = (name: string, description = 'Sweep') => JSON.stringify([{ sku: 'SWEEP-IMPORT-1', name, description, price: { amount: 100, currency: 'USD' }, taxRateBps: 0 }]);

/**
 * Hand-written probes for the one write whose body is not in its OpenAPI document (the catalog
 * import: CSV or a JSON array of products). Everything else is generated.
 */
export const UNDOCUMENTED_BODY_PROBES: Record<string, Array<{ name: string; raw: string; contentType?: string }>> = {
  'POST /api/v1/products/import': [
    { name: 'csv: NUL in a name', raw: `${CSV_HEADER}\nSWEEP-IMPORT-1,Bad\u0000name,1.00,USD,0,,x`, contentType: 'text/csv' },
    { name: 'csv: SQL injection in every column', raw: `${CSV_HEADER}\n"' OR 1=1 --","'; DROP TABLE products; --",1.00,USD,0,"1' OR '1'='1","x"`, contentType: 'text/csv' },
    { name: 'csv: unterminated quote', raw: `${CSV_HEADER}\n"SWEEP,unterminated`, contentType: 'text/csv' },
    { name: 'csv: header only', raw: CSV_HEADER, contentType: 'text/csv' },
    { name: 'csv: 10,001 rows', raw: `${CSV_HEADER}\n${Array.from({ length: 10_001 }, (_, i) => `S${i},N,1.00,USD,0,,`).join('\n')}`, contentType: 'text/csv' },
    { name: 'csv: huge cell (100 KB)', raw: `${CSV_HEADER}\nSWEEP-IMPORT-1,${'A'.repeat(100 * 1024)},1.00,USD,0,,`, contentType: 'text/csv' },
    { name: 'json: NUL in a name', raw: importRow('a\u0000b') },
    { name: 'json: lone surrogate in a description', raw: importRow('Name', 'half \uD83D pair') },
    { name: 'json: NoSQL operator as a name', raw: JSON.stringify([{ sku: 'SWEEP-IMPORT-1', name: { $gt: '' }, price: { amount: 100, currency: 'USD' }, taxRateBps: 0 }]) },
    { name: 'json: prototype keys in a row', raw: '[{"__proto__":{"polluted":"yes"},"sku":"SWEEP-IMPORT-1","name":"x","price":{"amount":100,"currency":"USD"},"taxRateBps":0}]' },
  ],
};

const CONTAINER_MUTATIONS = new Set(['missing', 'null', 'prototype pollution keys', 'nested junk (64 levels)', 'array instead', 'empty object', 'object instead of array', '10,000 elements', 'huge string (100 KB)']);

function queryString(values: Record<string, string>): string {
  const q = new URLSearchParams(values).toString();
  return q ? `?${q}` : '';
}

export function fuzzCases(routes: readonly SweepRoute[], ids: Fixtures, hints: Hints): FuzzCase[] {
  const cases: FuzzCase[] = [];
  for (const route of routes) {
    const path = pathFor(route, ids);
    // A valid query for this route (required parameters), to which one hostile value is added at a time.
    const baseQuery: Record<string, string> = {};
    for (const p of route.query) {
      if (!p.required) continue;
      const v = baseline(route.schemas, p.schema, hints, 'minimal', p.name);
      if (v !== OMIT && v !== undefined) baseQuery[p.name] = String(v);
    }
    const withQuery = `${path}${queryString(baseQuery)}`;

    if (route.body) {
      const bodies = variants(route.schemas, route.body, hints, 'full');
      bodies.forEach((body, v) => {
        const tag = bodies.length > 1 ? `[variant ${v + 1}] ` : '';
        for (const leaf of leaves(route.schemas, route.body, body)) {
          const container = ['object', 'array'].includes(mainType(leaf.schema) ?? '');
          for (const m of fieldMutations(leaf.schema)) {
            if (container && !CONTAINER_MUTATIONS.has(m.name)) continue;
            cases.push({ route, kind: 'field', label: `${tag}body.${pathText(leaf.path)}: ${m.name}`, path: withQuery, body: withField(body, leaf.path, m.value) });
          }
        }
      });
      for (const m of bodyMutations(bodies[0])) {
        cases.push({ route, kind: 'body', label: `body: ${m.name}`, path: withQuery, rawBody: m.raw, contentType: m.contentType });
      }
    }

    // Writes whose body the OpenAPI document does not describe (the catalog import parses its own
    // CSV or JSON): the malformed bodies, plus the probes written for that route by hand.
    if (!route.body && ['post', 'put', 'patch'].includes(route.method)) {
      for (const m of [...bodyMutations(undefined), ...(UNDOCUMENTED_BODY_PROBES[routeName(route)] ?? [])]) {
        cases.push({ route, kind: 'body', label: `body: ${m.name}`, path: withQuery, rawBody: m.raw, contentType: m.contentType });
      }
    }

    const validBody = route.body ? baseline(route.schemas, route.body, hints, 'full') : undefined;
    for (const p of route.query) {
      for (const m of queryMutations(p.schema as JsonSchema | undefined)) {
        cases.push({ route, kind: 'query', label: `query.${p.name}: ${m.name}`, path: `${path}${queryString({ ...baseQuery, [p.name]: String(m.value) })}`, body: validBody });
      }
    }
    for (const m of rawQueryMutations(route.query.map((p) => p.name))) {
      const base = queryString(baseQuery);
      cases.push({ route, kind: 'query', label: `query: ${m.name}`, path: `${path}${base ? `${base}&` : '?'}${m.query}`, body: validBody });
    }

    for (const param of route.pathParams) {
      for (const m of PATH_MUTATIONS) {
        const mutated = fillPath(route.path, (p) => (p === param ? m.raw : encodeURIComponent(String(ids[paramFixture(route.path, p).fixture]))), true);
        cases.push({ route, kind: 'path', label: `path :${param}: ${m.name}`, path: `${mutated}${queryString(baseQuery)}`, body: validBody });
      }
    }

    if (route.headers.some((h) => h.name.toLowerCase() === 'idempotency-key')) {
      for (const m of HEADER_MUTATIONS) {
        cases.push({ route, kind: 'header', label: `header idempotency-key: ${m.name}`, path: withQuery, body: validBody, idempotencyKey: m.value });
      }
    }
  }
  return cases;
}
