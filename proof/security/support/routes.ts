// The sweep's input: every route of every service, from its route table (method, path, roles) joined
// with its operation in the service's own /openapi.json (parameters and request body schemas).
// Nothing here lists endpoints by hand: a route added with `table.add` is swept on the next run.
import type { Fixtures, SweepStack } from './stack';
import { Schemas, type JsonSchema, type OpenApiDoc, type OpenApiOperation, type OpenApiParameter } from './schema';

export interface SweepRoute {
  service: string;
  method: string;
  /** Express path, e.g. `/api/v1/users/:id`. */
  path: string;
  roles: readonly string[] | 'public';
  summary: string;
  operation: OpenApiOperation;
  schemas: Schemas;
  body?: JsonSchema;
  query: OpenApiParameter[];
  pathParams: string[];
  headers: OpenApiParameter[];
  /** 5xx statuses the operation documents (e.g. 503 when a dependency is down). */
  declared5xx: number[];
}

export const routeName = (r: Pick<SweepRoute, 'method' | 'path'>) => `${r.method.toUpperCase()} ${r.path}`;

/**
 * Which fixture a path parameter names, by the collection segment before it. A parameter under a
 * collection that is not listed here fails the sweep (add a fixture), so no route is silently skipped.
 * `name` parameters pick a resource by a name every tenant has (a template), not by a tenant's id.
 */
export const PARAM_FIXTURES: Record<string, { fixture: keyof Fixtures; kind: 'id' | 'name'; absent: string }> = {
  'users/:id': { fixture: 'user', kind: 'id', absent: '00000000-0000-4000-8000-00000000dead' },
  'stores/:id': { fixture: 'store', kind: 'id', absent: '00000000-0000-4000-8000-00000000dead' },
  'products/:id': { fixture: 'product', kind: 'id', absent: '00000000-0000-4000-8000-00000000dead' },
  'categories/:id': { fixture: 'category', kind: 'id', absent: '00000000-0000-4000-8000-00000000dead' },
  'inventory/:id': { fixture: 'stockLevel', kind: 'id', absent: '00000000-0000-4000-8000-00000000dead' },
  'reservations/:saleId': { fixture: 'sale', kind: 'id', absent: '00000000-0000-4000-8000-00000000dead' },
  'transactions/:id': { fixture: 'sale', kind: 'id', absent: '00000000-0000-4000-8000-00000000dead' },
  'refunds/:refundId': { fixture: 'refund', kind: 'id', absent: '00000000-0000-4000-8000-00000000dead' },
  'shifts/:id': { fixture: 'shift', kind: 'id', absent: '00000000-0000-4000-8000-00000000dead' },
  'payments/:id': { fixture: 'payment', kind: 'id', absent: '00000000-0000-4000-8000-00000000dead' },
  'gift-cards/:code': { fixture: 'giftCardCode', kind: 'id', absent: 'SWEEP-NO-SUCH-CARD' },
  'customers/:id': { fixture: 'customer', kind: 'id', absent: '00000000-0000-4000-8000-00000000dead' },
  'redemptions/:key': { fixture: 'redemptionKey', kind: 'id', absent: 'sweep-no-such-key' },
  'notifications/:id': { fixture: 'delivery', kind: 'id', absent: '00000000-0000-4000-8000-00000000dead' },
  'subscriptions/:id': { fixture: 'subscription', kind: 'id', absent: '00000000-0000-4000-8000-00000000dead' },
  'templates/:name': { fixture: 'template', kind: 'name', absent: 'sweep_no_such_template' },
};

export function paramFixture(path: string, param: string) {
  const segments = path.split('/');
  const at = segments.indexOf(`:${param}`);
  const key = `${segments[at - 1]}/:${param}`;
  const entry = PARAM_FIXTURES[key];
  if (!entry) throw new Error(`the sweep has no fixture for path parameter ${key} (route ${path}): add one to PARAM_FIXTURES and the stack`);
  return entry;
}

/** The path with each parameter replaced by `value(param)` (URL-encoded unless `raw`). */
export function fillPath(path: string, value: (param: string) => string, raw = false): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, (_m, p: string) => (raw ? value(p) : encodeURIComponent(value(p))));
}

/** Path filled with a tenant's fixtures. */
export const pathFor = (route: SweepRoute, ids: Fixtures) => fillPath(route.path, (p) => String(ids[paramFixture(route.path, p).fixture]));
/** Path filled with ids that exist nowhere. */
export const absentPath = (route: SweepRoute) => fillPath(route.path, (p) => paramFixture(route.path, p).absent);

export const toOpenApiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

export async function collectRoutes(stack: SweepStack): Promise<SweepRoute[]> {
  const routes: SweepRoute[] = [];
  for (const service of stack.services) {
    const res = await stack.call(service.name, { method: 'GET', path: '/openapi.json' });
    if (res.status !== 200) throw new Error(`${service.name} /openapi.json answered ${res.status}`);
    const doc = res.json as OpenApiDoc;
    const schemas = new Schemas(doc);
    for (const r of service.routes) {
      const operation = doc.paths[toOpenApiPath(r.path)]?.[r.method];
      if (!operation) throw new Error(`${service.name}: ${routeName(r)} is in the route table but not in /openapi.json`);
      const params = operation.parameters ?? [];
      const content = operation.requestBody?.content ?? {};
      const declared5xx = Object.keys(operation.responses ?? {})
        .map(Number)
        .filter((s) => s >= 500);
      routes.push({
        service: service.name,
        method: r.method,
        path: r.path,
        roles: r.roles,
        summary: r.summary,
        operation,
        schemas,
        body: content['application/json']?.schema,
        query: params.filter((p) => p.in === 'query'),
        pathParams: [...r.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!),
        headers: params.filter((p) => p.in === 'header'),
        declared5xx,
      });
    }
  }
  return routes;
}
