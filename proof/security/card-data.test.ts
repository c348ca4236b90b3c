// Security sweep, part 3: card numbers and secrets never come to rest. A Luhn-valid card number is
// typed into every free-text field of every route (every string field whose schema would take
// one: names, notes, reasons, descriptions, addresses, references, templates…); each must be
// refused (400 card_data_refused) or masked. Then the sweep's tenants' rows in every service
// schema, the events they became on the Redis streams, MongoDB and every captured log line are
// scanned for card numbers (Luhn) and for the secrets the sweep used (passwords, refresh tokens,
// client secrets): nothing may be found.
import { containsCardNumber, isSecretKey } from '@pos/utils';
import { answerProblems, Findings } from './support/checks';
import { hintsFor } from './support/hints';
import { mapLimit, type SweepResponse } from './support/http';
import { Tally } from './support/report';
import { collectRoutes, pathFor, routeName, type SweepRoute } from './support/routes';
import { relayAndScanStreams, scanDatabase, scanLogs, scanMongo, type Hit } from './support/scan';
import { admitsString, baseline, leaves, mainType, OMIT, pathText, variants, withField, type PathKey } from './support/schema';
import { startSweepStack, type RoleName, type SweepStack } from './support/stack';

jest.setTimeout(120_000);

const CONCURRENCY = 4;
/** Test card numbers (Luhn-valid, major brands), as a person would type them into a note. */
const CARD_TEXTS = ['Card 4111 1111 1111 1111 exp 12/30', 'mc 5555-5555-5555-4444', '378282246310005'];

interface Attempt {
  route: SweepRoute;
  field: string;
  body: unknown;
  path: string;
}

describe('security sweep: card numbers and secrets are never stored or logged', () => {
  let stack: SweepStack;
  let routes: SweepRoute[];
  const tally = new Tally();
  let keys = 0;
  const outcome: Record<string, 'refused' | 'invalid' | 'accepted' | 'inconclusive' | 'STORED'> = {};

  beforeAll(async () => {
    stack = await startSweepStack();
    routes = await collectRoutes(stack);
  });

  afterAll(async () => {
    tally.figures.fields = outcome;
    tally.figures.infrastructureRetries = stack?.infrastructureRetries;
    // The services' own account of anything that went wrong, for whoever reads a failed run.
    tally.figures.errorLogLines = stack?.logs.filter((l) => l.includes('"level":"error"')).slice(0, 100).map((l) => l.slice(0, 2_000));
    tally.write('card-data');
    await stack?.close();
  });

  const role = (r: SweepRoute): RoleName | undefined => (r.roles === 'public' ? undefined : (['owner', 'service', 'manager', 'cashier'] as const).find((x) => (r.roles as readonly string[]).includes(x)));

  /**
   * Every free-text field of every body: a string with no format and no pattern (patterned strings
   * are codes: SKUs, barcodes, tokens) that is not a secret (passwords are hashed, never stored),
   * paired with a body that is valid but for it (a full one, and a minimal one as a fallback).
   */
  function attempts(): Attempt[][] {
    const hints = hintsFor(stack.a.ids, () => ++keys);
    const list: Attempt[][] = [];
    for (const route of routes) {
      if (!route.body) continue;
      const path = pathFor(route, stack.a.ids);
      const seen = new Set<string>();
      const count = variants(route.schemas, route.body, hints, 'full').length;
      for (let v = 0; v < count; v++) {
        const probe = variants(route.schemas, route.body, hints, 'full')[v];
        for (const leaf of leaves(route.schemas, route.body, probe)) {
          const field = pathText(leaf.path);
          const key = String(leaf.path[leaf.path.length - 1]);
          if (mainType(leaf.schema) !== 'string' || leaf.schema.format || leaf.schema.pattern || leaf.schema.enum || isSecretKey(key) || seen.has(field)) continue;
          const text = CARD_TEXTS.find((t) => admitsString(leaf.schema, t));
          if (!text) continue;
          seen.add(field);
          // Fresh bodies per attempt: unique emails, SKUs and keys.
          const full = variants(route.schemas, route.body, hints, 'full')[v];
          const minimal = variants(route.schemas, route.body, hints, 'minimal')[v];
          list.push([
            { route, field, path, body: withField(full, leaf.path, text) },
            { route, field, path, body: setDeep(minimal, leaf.path, text) },
          ]);
        }
      }
    }
    return list;
  }

  /** Sends one attempt; a stale `version` is retried once with the current one (a 409 names it). */
  async function attempt(a: Attempt): Promise<SweepResponse> {
    const who = role(a.route);
    const send = (body: unknown) =>
      stack.call(a.route.service, { declared5xx: a.route.declared5xx, method: a.route.method, path: a.path, token: who ? stack.a.tokens[who] : undefined, body, headers: { 'idempotency-key': `sweep-card-${++keys}` } });
    let res = await send(a.body);
    tally.count(res.status);
    const current = (res.json as { currentVersion?: unknown } | undefined)?.currentVersion;
    if (res.status === 409 && typeof current === 'number' && a.body && typeof a.body === 'object') {
      res = await send({ ...(a.body as object), version: current });
      tally.count(res.status);
    }
    return res;
  }

  it('when a card number is typed into any free-text field, then it is refused (400 card_data_refused) or rejected as invalid, never stored as typed', async () => {
    const findings = new Findings();
    const all = attempts();
    await mapLimit(all, CONCURRENCY, async (tries) => {
      const first = tries[0]!;
      const name = `${routeName(first.route)} body.${first.field}`;
      for (const a of tries) {
        const res = await attempt(a);
        findings.add(name, answerProblems(res, a.route.declared5xx));
        const problem = res.json as { code?: string; errors?: Array<{ path?: string }> } | undefined;
        if (res.status === 400 && problem?.code === 'card_data_refused') {
          outcome[name] = 'refused';
          return;
        }
        if (res.status === 400 && problem?.errors?.some((e) => e.path === a.field)) {
          outcome[name] = 'invalid';
          return;
        }
        if (res.status < 300) {
          // Accepted: the answer must not carry it as typed, and the scan below must not find it stored.
          outcome[name] = containsCardNumber(res.text) ? 'STORED' : 'accepted';
          if (outcome[name] === 'STORED') findings.fail(name, `accepted and answered with the card number as typed: ${res.text.slice(0, 200)}`);
          return;
        }
        outcome[name] = 'inconclusive';
      }
    });
    tally.figures.freeTextFields = all.length;
    for (const o of ['refused', 'invalid', 'accepted'] as const) tally.figures[o] = Object.values(outcome).filter((x) => x === o).length;
    const inconclusive = Object.entries(outcome)
      .filter(([, o]) => o === 'inconclusive')
      .map(([k]) => k);
    tally.figures.inconclusive = inconclusive;
    expect(all.length).toBeGreaterThan(20);
    expect(findings.summary()).toEqual([]);
    // Every field was really tried: a body failing for another reason would prove nothing.
    expect(inconclusive).toEqual([]);
  });

  it('when a card number is in a row of the catalog import (a body its OpenAPI document does not describe), then nothing is imported', async () => {
    const findings = new Findings();
    const header = 'sku,name,price,currency,tax_rate_bps,barcodes,description';
    const bodies = [
      { contentType: 'text/csv', raw: `${header}\nSWEEP-CARD-1,${CARD_TEXTS[0]},1.00,USD,0,,Fine` },
      { contentType: 'text/csv', raw: `${header}\nSWEEP-CARD-2,Fine,1.00,USD,0,,"${CARD_TEXTS[1]}"` },
      { contentType: 'application/json', raw: JSON.stringify([{ sku: 'SWEEP-CARD-3', name: CARD_TEXTS[2], price: { amount: 100, currency: 'USD' }, taxRateBps: 0 }]) },
    ];
    for (const b of bodies) {
      const res = await stack.call('inventory-service', { method: 'POST', path: '/api/v1/products/import', token: stack.a.tokens.owner, rawBody: b.raw, headers: { 'content-type': b.contentType } });
      tally.count(res.status);
      findings.add(`import ${b.contentType}`, answerProblems(res));
      if (res.status !== 400) findings.fail(`import ${b.contentType}`, `status ${res.status}, expected 400: ${res.text.slice(0, 200)}`);
      outcome[`POST /api/v1/products/import (${b.contentType}) ${b.raw.includes('SWEEP-CARD-2') ? 'description' : 'name'}`] = res.status === 400 ? 'refused' : 'STORED';
    }
    expect(findings.summary()).toEqual([]);
  });

  it('when a card number is sent in a query string, then it is never stored or logged either', async () => {
    const findings = new Findings();
    const hints = hintsFor(stack.a.ids, () => ++keys);
    const targets = routes.flatMap((r) => r.query.filter((p) => p.schema && admitsString(r.schemas.resolve(p.schema), CARD_TEXTS[0]!) && !r.schemas.resolve(p.schema).format).map((p) => ({ r, p })));
    await mapLimit(targets, CONCURRENCY, async ({ r, p }) => {
      const query = new URLSearchParams();
      for (const q of r.query) {
        if (!q.required) continue;
        const v = baseline(r.schemas, q.schema, hints, 'minimal', q.name);
        if (v !== OMIT && v !== undefined) query.set(q.name, String(v));
      }
      query.set(p.name, CARD_TEXTS[0]!);
      const who = role(r);
      const res = await stack.call(r.service, { declared5xx: r.declared5xx, method: r.method, path: `${pathFor(r, stack.a.ids)}?${query}`, token: who ? stack.a.tokens[who] : undefined });
      tally.count(res.status);
      findings.add(`${routeName(r)} query.${p.name}`, answerProblems(res, r.declared5xx));
    });
    tally.figures.freeTextQueryParameters = targets.length;
    expect(findings.summary()).toEqual([]);
  });

  it('when the database rows, Redis streams, MongoDB and logs of the sweep are scanned, then no card number and no secret is found', async () => {
    const tenants = [stack.a.tenantId, stack.b.tenantId];
    const needles = { secrets: stack.secrets() };
    const db = await scanDatabase(stack.admin, tenants, needles);
    const streams = await relayAndScanStreams(stack.admin, process.env.REDIS_URL!, tenants, needles, `sweep-${process.pid}`);
    const mongo = await scanMongo(tenants, needles);
    const logs = scanLogs(stack.logs, needles);
    tally.figures.scanned = { databaseRows: db.rows, streamEntries: streams.rows, streams: streams.streams.length, mongoDocuments: mongo.rows, mongoCollections: mongo.collections, logLines: logs.rows, secretsLookedFor: needles.secrets.length };
    const show = (hits: Hit[]) => hits.slice(0, 40).map((h) => `${h.where}: ${h.what}: ${h.excerpt}`);
    expect(db.rows).toBeGreaterThan(50);
    expect(streams.rows).toBeGreaterThan(10);
    expect(logs.rows).toBeGreaterThan(0);
    expect({ database: show(db.hits), streams: show(streams.hits), mongo: show(mongo.hits), logs: show(logs.hits) }).toEqual({ database: [], streams: [], mongo: [], logs: [] });
  });
});

/** `value` with `text` at `path`, creating the objects on the way (for a field the minimal body lacks). */
function setDeep(value: unknown, path: PathKey[], text: string): unknown {
  const copy = JSON.parse(JSON.stringify(value ?? {})) as Record<PathKey, unknown>;
  let node = copy;
  path.slice(0, -1).forEach((key, i) => {
    if (node[key] === undefined || node[key] === null || typeof node[key] !== 'object') node[key] = typeof path[i + 1] === 'number' ? [] : {};
    node = node[key] as Record<PathKey, unknown>;
  });
  node[path[path.length - 1]!] = text;
  return copy;
}
