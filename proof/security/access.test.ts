// Security sweep, part 1: who may call what. Generated from the route tables and the OpenAPI
// documents of every service (see support/routes.ts): a route added tomorrow is swept tomorrow.
import { answerProblems, Findings } from './support/checks';
import { forgeries } from './support/forge';
import { hintsFor } from './support/hints';
import { mapLimit, type SweepResponse } from './support/http';
import { Tally } from './support/report';
import { absentPath, collectRoutes, paramFixture, pathFor, routeName, type SweepRoute } from './support/routes';
import { tenantSnapshot, unexplainedChanges, type TenantSnapshot } from './support/scan';
import { baseline, type Hints } from './support/schema';
import { ROLE_NAMES, startSweepStack, type Fixtures, type RoleName, type SweepStack, type Tenant } from './support/stack';

jest.setTimeout(120_000);

const CONCURRENCY = 4;

describe('security sweep: authentication, roles and tenant isolation on every route', () => {
  let stack: SweepStack;
  let routes: SweepRoute[];
  let victimBefore: TenantSnapshot;
  const tally = new Tally();
  let keys = 0;
  const nextKey = () => `sweep-access-${++keys}`;

  const hit = async (service: string, req: Parameters<SweepStack['call']>[1]): Promise<SweepResponse> => {
    const res = await stack.call(service, req);
    tally.count(res.status);
    return res;
  };

  beforeAll(async () => {
    stack = await startSweepStack();
    routes = await collectRoutes(stack);
    victimBefore = await tenantSnapshot(stack.admin, stack.b.tenantId);
    tally.figures.victimTables = victimBefore.tables;
    tally.figures.victimRows = victimBefore.rows.size;
  });

  afterAll(async () => {
    tally.figures.routes = routes?.length;
    tally.figures.infrastructureRetries = stack?.infrastructureRetries;
    // The services' own account of anything that went wrong, for whoever reads a failed run.
    tally.figures.errorLogLines = stack?.logs.filter((l) => l.includes('"level":"error"')).slice(0, 100).map((l) => l.slice(0, 2_000));
    tally.write('access');
    await stack?.close();
  });

  const isPublic = (r: SweepRoute) => r.roles === 'public';
  const allows = (r: SweepRoute, role: RoleName) => r.roles === 'public' || r.roles.includes(role);
  const withBody = (r: SweepRoute) => (r.body ? { body: {} } : {});

  it('when the sweep starts, then every route of every service is in it, with its OpenAPI operation and a fixture for each path parameter', () => {
    const byService = Object.fromEntries(stack.services.map((s) => [s.name, routes.filter((r) => r.service === s.name).length]));
    tally.figures.routesByService = byService;
    expect(Object.values(byService).every((n) => n > 0)).toBe(true);
    for (const r of routes) for (const p of r.pathParams) expect(() => paramFixture(r.path, p)).not.toThrow();
    // Each service publishes exactly the routes of its table.
    expect(routes.length).toBe(stack.services.reduce((n, s) => n + s.routes.length, 0));
  });

  it('when a route is called without a token, then 401 problem+json, at the service and at the gateway (public routes answer without one)', async () => {
    const findings = new Findings();
    const targets = routes.flatMap((r) => [
      { r, service: r.service, path: absentPath(r) },
      { r, service: 'api-gateway', path: absentPath(r) },
    ]);
    await mapLimit(targets, CONCURRENCY, async ({ r, service, path }) => {
      const res = await hit(service, { declared5xx: r.declared5xx, method: r.method, path, ...withBody(r), headers: { 'idempotency-key': nextKey() } });
      const ctx = `${service} ${routeName(r)} without a token`;
      findings.add(ctx, answerProblems(res, r.declared5xx));
      const code = (res.json as { code?: string } | undefined)?.code;
      if (isPublic(r)) {
        if (res.status === 401 && code === 'missing_token') findings.fail(ctx, 'a public route asks for a token');
        if (res.status === 403) findings.fail(ctx, 'a public route answers 403');
      } else if (res.status !== 401) {
        findings.fail(ctx, `status ${res.status}, expected 401`);
      }
    });
    tally.figures.unauthenticatedRequests = targets.length;
    expect(findings.summary()).toEqual([]);
  });

  it('when the path is disguised (upper case, trailing slash, dot segment, double slash) at the gateway, then still no way in without a token', async () => {
    const findings = new Findings();
    const disguises: Array<[string, (p: string) => string]> = [
      ['upper case', (p) => p.toUpperCase()],
      ['trailing slash', (p) => `${p}/`],
      ['dot segment', (p) => p.replace('/api/v1/', '/api/v1/./')],
      ['double slash', (p) => p.replace('/api/v1/', '/api/v1//')],
      ['encoded dot segment', (p) => p.replace('/api/v1/', '/api/v1/%2e/')],
    ];
    const targets = routes.filter((r) => !isPublic(r)).flatMap((r) => disguises.map(([name, f]) => ({ r, name, path: f(absentPath(r)) })));
    await mapLimit(targets, CONCURRENCY, async ({ r, name, path }) => {
      const res = await hit('api-gateway', { declared5xx: r.declared5xx, method: r.method, path, ...withBody(r) });
      const ctx = `gateway ${routeName(r)} (${name}: ${path.slice(0, 80)})`;
      findings.add(ctx, answerProblems(res, r.declared5xx));
      if (res.status !== 401 && res.status !== 404 && res.status !== 400) findings.fail(ctx, `status ${res.status}, expected 401 (or 404/400 for a path no route has)`);
    });
    tally.figures.disguisedPathRequests = targets.length;
    expect(findings.summary()).toEqual([]);
  });

  it('when each role calls each route, then 403 exactly where the route table does not declare the role, and never a 5xx where it does', async () => {
    const findings = new Findings();
    const matrix: Record<string, string> = {};
    const targets = routes.flatMap((r) => ROLE_NAMES.map((role) => ({ r, role })));
    await mapLimit(targets, CONCURRENCY, async ({ r, role }) => {
      const res = await hit(r.service, { declared5xx: r.declared5xx, method: r.method, path: absentPath(r), token: stack.a.tokens[role], ...withBody(r), headers: { 'idempotency-key': nextKey() } });
      const ctx = `${routeName(r)} as ${role}`;
      matrix[`${routeName(r)} ${role}`] = String(res.status);
      findings.add(ctx, answerProblems(res, r.declared5xx));
      if (allows(r, role)) {
        if (res.status === 403) findings.fail(ctx, `403 although the route table allows ${role}: ${res.text.slice(0, 200)}`);
        if (res.status === 401) findings.fail(ctx, `401 with a valid ${role} token`);
      } else if (res.status !== 403) {
        findings.fail(ctx, `status ${res.status}, expected 403 (the route table allows ${(r.roles as readonly string[]).join(', ')})`);
      }
    });
    tally.figures.roleRequests = targets.length;
    tally.figures.roleRefusalsExpected = targets.filter(({ r, role }) => !allows(r, role)).length;
    expect(findings.summary()).toEqual([]);
  });

  /** The most powerful of tenant A's roles that the route allows. */
  const attackerRole = (r: SweepRoute): RoleName => (['owner', 'service', 'manager', 'cashier'] as const).find((role) => allows(r, role))!;

  const counter = () => ++keys;

  it("when tenant A names tenant B's resources in the path, then the answer is 404 or the same as for an id that exists nowhere, nothing of B comes back, and B's rows are unchanged", async () => {
    const findings = new Findings();
    const outcomes: Record<string, number> = {};
    const perRoute: Record<string, number | string> = {};
    const hintsA: Hints = hintsFor(stack.a.ids, counter);
    const targets = routes.filter((r) => !isPublic(r) && r.pathParams.length > 0);
    await mapLimit(targets, CONCURRENCY, async (r) => {
      const role = attackerRole(r);
      const byId = r.pathParams.some((p) => paramFixture(r.path, p).kind === 'id');
      const sentPath = pathFor(r, stack.b.ids);
      // A body valid enough to reach the lookup: the minimal one, else the full one.
      let body = r.body ? baseline(r.schemas, r.body, hintsA, 'minimal') : undefined;
      let res = await hit(r.service, { declared5xx: r.declared5xx, method: r.method, path: sentPath, token: stack.a.tokens[role], body, headers: { 'idempotency-key': nextKey() } });
      if (res.status === 400 && r.body) {
        body = baseline(r.schemas, r.body, hintsA, 'full');
        res = await hit(r.service, { declared5xx: r.declared5xx, method: r.method, path: sentPath, token: stack.a.tokens[role], body, headers: { 'idempotency-key': nextKey() } });
      }
      const ctx = `${routeName(r)} as A's ${role} with B's ${r.pathParams.join(', ')}`;
      outcomes[String(res.status)] = (outcomes[String(res.status)] ?? 0) + 1;
      perRoute[routeName(r)] = res.status === 404 ? 404 : `${res.status} ${(res.json as { code?: string } | undefined)?.code ?? ''}`.trim();
      findings.add(ctx, answerProblems(res, r.declared5xx));
      findings.add(ctx, leaksOf(res, stack.b, sentPath));
      if (!byId || res.status === 404) return;
      // Not a 404: then B's id must be indistinguishable from an id that exists nowhere (e.g. an
      // idempotent release that leaves a tombstone under the caller's own tenant).
      const absent = await hit(r.service, { declared5xx: r.declared5xx, method: r.method, path: absentPath(r), token: stack.a.tokens[role], body, headers: { 'idempotency-key': nextKey() } });
      if (absent.status !== res.status) findings.fail(ctx, `status ${res.status}, but ${absent.status} for an id that exists nowhere: B's id is told apart (${res.text.slice(0, 160)})`);
    });
    tally.figures.crossTenantPathRequests = targets.length;
    tally.figures.crossTenantPathStatuses = outcomes;
    tally.figures.crossTenantNot404 = Object.fromEntries(Object.entries(perRoute).filter(([, v]) => v !== 404));
    expect(findings.summary()).toEqual([]);
    const victim = await unexplainedChanges(stack.admin, stack.b.tenantId, victimBefore);
    tally.figures.victimRowsWrittenByEventConsumers = victim.byEvents;
    expect(victim.unexplained).toEqual([]);
  });

  it("when tenant A puts B's ids into request bodies and list filters, then nothing of B comes back and B's rows are unchanged", async () => {
    const findings = new Findings();
    const hintsB: Hints = hintsFor(stack.b.ids, counter);
    const targets = routes.filter((r) => !isPublic(r) && (r.body || r.query.length));
    let sent = 0;
    await mapLimit(targets, CONCURRENCY, async (r) => {
      const role = attackerRole(r);
      const path = pathFor(r, stack.a.ids);
      const body = r.body ? baseline(r.schemas, r.body, hintsB, 'full') : undefined;
      const query = new URLSearchParams();
      for (const p of r.query) {
        const v = baseline(r.schemas, p.schema, hintsB, 'minimal', p.name);
        if (typeof v === 'string' && /^[0-9a-f-]{36}$/.test(v)) query.set(p.name, v);
      }
      if (!body && ![...query.keys()].length) return;
      sent += 1;
      const sentPath = `${path}${[...query.keys()].length ? `?${query}` : ''}`;
      const res = await hit(r.service, { declared5xx: r.declared5xx, method: r.method, path: sentPath, token: stack.a.tokens[role], body, headers: { 'idempotency-key': nextKey() } });
      const ctx = `${routeName(r)} as A's ${role} with B's ids in the ${body ? 'body' : 'query'}`;
      findings.add(ctx, answerProblems(res, r.declared5xx));
      findings.add(ctx, leaksOf(res, stack.b, `${sentPath} ${JSON.stringify(body ?? '')}`));
    });
    tally.figures.crossTenantBodyAndFilterRequests = sent;
    expect(findings.summary()).toEqual([]);
    const victim = await unexplainedChanges(stack.admin, stack.b.tenantId, victimBefore);
    tally.figures.victimRowsWrittenByEventConsumers = victim.byEvents;
    expect(victim.unexplained).toEqual([]);
  });

  it('when a forged, expired or mis-addressed token is sent, then 401 problem+json at the services and at the gateway', async () => {
    const findings = new Findings();
    const forged = await forgeries(stack, stack.a, stack.b);
    // A sample: the first, middle and last protected route of each service.
    const sample = stack.services.flatMap((s) => {
      const own = routes.filter((r) => r.service === s.name && !isPublic(r));
      return [...new Set([own[0], own[Math.floor(own.length / 2)], own[own.length - 1]])].filter((r): r is SweepRoute => Boolean(r));
    });
    const targets = sample.flatMap((r) => forged.flatMap((f) => [r.service, 'api-gateway'].map((service) => ({ r, f, service }))));
    await mapLimit(targets, CONCURRENCY, async ({ r, f, service }) => {
      const res = await hit(service, { declared5xx: r.declared5xx, method: r.method, path: absentPath(r), ...withBody(r), headers: { authorization: f.authorization, 'idempotency-key': nextKey() } });
      const ctx = `${service} ${routeName(r)} with ${f.name}`;
      findings.add(ctx, answerProblems(res, r.declared5xx));
      if (res.status !== 401) findings.fail(ctx, `status ${res.status}, expected 401: ${res.text.slice(0, 160)}`);
    });
    tally.figures.forgeries = forged.map((f) => f.name);
    tally.figures.forgedTokenRequests = targets.length;
    tally.figures.forgedTokenRoutes = sample.map(routeName);
    expect(findings.summary()).toEqual([]);
  });
});

/** B's marker text or B's ids (other than those the request itself carried) in an answer to A. */
function leaksOf(res: SweepResponse, victim: Tenant, sent: string): string[] {
  const problems: string[] = [];
  if (res.text.includes(victim.ids.marker)) problems.push(`B's data in the answer: ${res.text.slice(0, 200)}`);
  const ids = Object.entries(victim.ids as unknown as Record<keyof Fixtures, string>).filter(([k, v]) => k !== 'marker' && k !== 'template' && typeof v === 'string' && v.length >= 8);
  for (const [name, value] of ids) {
    if (res.text.includes(value) && !sent.includes(value)) problems.push(`B's ${name} id in the answer`);
  }
  return problems;
}
