// Security sweep, part 2: schema-driven fuzzing. Every route's request body, query and path
// parameters and Idempotency-Key, as documented in its service's /openapi.json, get hostile values
// (support/fuzz.ts) one at a time on top of an otherwise valid request. Whatever is sent: never a
// 500, never a stack trace, file path or database error in the answer, always problem+json for 4xx.
import { fuzzCases, type FuzzCase } from './support/cases';
import { answerProblems, Findings } from './support/checks';
import { hintsFor } from './support/hints';
import { mapLimit } from './support/http';
import { Tally } from './support/report';
import { collectRoutes, routeName, type SweepRoute } from './support/routes';
import { tenantSnapshot, unexplainedChanges, type TenantSnapshot } from './support/scan';
import { startSweepStack, type RoleName, type SweepStack } from './support/stack';

jest.setTimeout(180_000);

const CONCURRENCY = 4;

describe('security sweep: schema-driven fuzzing of every route', () => {
  let stack: SweepStack;
  let routes: SweepRoute[];
  let cases: FuzzCase[];
  let victimBefore: TenantSnapshot;
  const tally = new Tally();
  let keys = 0;

  beforeAll(async () => {
    stack = await startSweepStack();
    routes = await collectRoutes(stack);
    cases = fuzzCases(routes, stack.a.ids, hintsFor(stack.a.ids, () => ++keys));
    victimBefore = await tenantSnapshot(stack.admin, stack.b.tenantId);
  });

  afterAll(async () => {
    // The services' own account of anything that went wrong, for whoever reads a failed run.
    tally.figures.errorLogLines = stack?.logs.filter((l) => l.includes('"level":"error"')).slice(0, 100).map((l) => l.slice(0, 2_000));
    tally.figures.infrastructureRetries = stack?.infrastructureRetries;
    tally.write('fuzz');
    await stack?.close();
  });

  const role = (r: SweepRoute): RoleName | undefined => (r.roles === 'public' ? undefined : (['owner', 'service', 'manager', 'cashier'] as const).find((x) => (r.roles as readonly string[]).includes(x)));

  async function run(kind: FuzzCase['kind']): Promise<string[]> {
    const findings = new Findings();
    const selected = cases.filter((c) => c.kind === kind);
    await mapLimit(selected, CONCURRENCY, async (c) => {
      const who = role(c.route);
      let res;
      try {
        res = await stack.call(c.route.service, {
          method: c.route.method,
          declared5xx: c.route.declared5xx,
          path: c.path,
          token: who ? stack.a.tokens[who] : undefined,
          body: c.rawBody === undefined ? c.body : undefined,
          rawBody: c.rawBody,
          headers: { 'idempotency-key': c.idempotencyKey ?? `sweep-fuzz-${++keys}`, ...(c.contentType ? { 'content-type': c.contentType } : {}) },
        });
      } catch (err) {
        findings.fail(`${routeName(c.route)} ${c.label}`, `no answer: ${err instanceof Error ? err.message : String(err)}`);
        return;
      }
      tally.count(res.status);
      findings.add(`${routeName(c.route)} ${c.label}`, answerProblems(res, c.route.declared5xx));
    });
    tally.figures[`${kind}Cases`] = selected.length;
    if (findings.all.length) tally.figures[`${kind}Findings`] = findings.summary(100);
    return findings.summary();
  }

  it('when the cases are generated, then every route gets some and every documented body field, query and path parameter is covered', () => {
    const byRoute = new Map<string, number>();
    for (const c of cases) byRoute.set(routeName(c.route), (byRoute.get(routeName(c.route)) ?? 0) + 1);
    const withInputs = routes.filter((r) => r.body || r.query.length || r.pathParams.length || r.headers.length);
    expect(withInputs.filter((r) => !byRoute.get(routeName(r))).map(routeName)).toEqual([]);
    tally.figures.routes = routes.length;
    tally.figures.routesWithInputs = withInputs.length;
    tally.figures.casesTotal = cases.length;
    tally.figures.bodyFieldsFuzzed = new Set(cases.filter((c) => c.kind === 'field').map((c) => `${routeName(c.route)} ${c.label.split(':')[0]}`)).size;
    tally.figures.queryParametersFuzzed = routes.reduce((n, r) => n + r.query.length, 0);
    tally.figures.pathParametersFuzzed = routes.reduce((n, r) => n + r.pathParams.length, 0);
  });

  it('when each body field in turn gets a wrong type, null, nothing, 100 KB, unicode, NUL, SQL or NoSQL injection, prototype keys or nested junk, then never a 5xx or a stack trace', async () => {
    expect(await run('field')).toEqual([]);
  });

  it('when whole bodies are malformed (truncated, wrong JSON type, duplicate keys, 2,000 levels deep, over 1 MB, wrong content type), then 4xx problem+json', async () => {
    expect(await run('body')).toEqual([]);
  });

  it('when query parameters get huge, unicode, NUL, injection, repeated or bracketed values, then never a 5xx or a stack trace', async () => {
    expect(await run('query')).toEqual([]);
  });

  it('when path parameters are not ids (injection, traversal, NUL, bad percent-encoding, 8 KB), then 4xx problem+json', async () => {
    expect(await run('path')).toEqual([]);
  });

  it('when the Idempotency-Key is empty, 8 KB, an injection or non-ASCII, then never a 5xx', async () => {
    expect(await run('header')).toEqual([]);
  });

  it('when the fuzzing is over, then no prototype was polluted, every service is still ready, and the other tenant is untouched', async () => {
    const probe = {} as Record<string, unknown>;
    expect([probe.polluted, probe.isAdmin]).toEqual([undefined, undefined]);
    for (const s of stack.services) {
      const ready = await stack.call(s.name, { method: 'GET', path: '/ready' });
      expect({ service: s.name, status: ready.status }).toEqual({ service: s.name, status: 200 });
    }
    const victim = await unexplainedChanges(stack.admin, stack.b.tenantId, victimBefore);
    tally.figures.victimRowsWrittenByEventConsumers = victim.byEvents;
    expect(victim.unexplained).toEqual([]);
  });
});
