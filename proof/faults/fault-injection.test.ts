// Fault injection under a steady checkout load (issue 9, part 2): `npm run test:faults`.
// Starts the whole system as separate processes (support/stack.ts), and for each fault: checkout
// load from a few registers, the fault in the middle of it, recovery, the load stops, the system
// settles (bounded), then every invariant of support/invariants.ts is checked on Postgres, MongoDB,
// the SMTP sink and what the clients were told. Not part of `npm test` (slow, a whole stack).
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { sleep, waitFor } from './support/children';
import { checkInvariants, INVARIANTS, summarize, type Violation } from './support/invariants';
import { CheckoutLoad, codeCounts, finalCounts, statusCounts, type KeyOutcome } from './support/load';
import { settle, type Backlog } from './support/settle';
import { ROOT, Stack } from './support/stack';
import { collectSnapshot } from './support/state';

const REGISTERS = Number(process.env.FAULTS_REGISTERS ?? 6);
/** Load before the fault, with the fault on, and after recovery (ms). */
const BEFORE_MS = 3_000;
const DOWN_MS = Number(process.env.FAULTS_DOWN_MS ?? 5_000);
const AFTER_MS = 4_000;
const SETTLE_MS = 120_000;
const SUITE_BUDGET_MS = 9 * 60_000;
const SCARCE_RESTOCK = 20;

jest.setTimeout(SUITE_BUDGET_MS);

const startedAt = new Date();
const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
const stack = new Stack({
  database: process.env.FAULTS_DATABASE ?? 'pos_faults',
  pgHost: process.env.FAULTS_PG ?? '127.0.0.1:5432',
  fromSources: process.env.FAULTS_SRC === '1',
  logDir: path.join(ROOT, 'test-artifacts/faults', stamp),
  saleLeaseSeconds: 5,
  sweepIntervalMs: 1_000,
});

// Nothing outlives the suite: stack.stop() in afterAll, and support/reaper.mjs when the process
// goes any other way (Ctrl-C, a kill, a crash, or this budget).
const budget = setTimeout(() => {
  console.error(`fault suite: over its ${SUITE_BUDGET_MS / 60_000} min budget, killing every child`);
  stack.killNow();
  process.exit(1);
}, SUITE_BUDGET_MS + 30_000);
budget.unref();

interface Seeded {
  tenantId: string;
  storeId: string;
  token: string;
  productIds: string[];
  scarceProductId: string;
  customerIds: string[];
}

interface PhaseResult {
  fault: string;
  how: string;
  evidence: Record<string, number | string>;
  durationMs: number;
  recoveryMs: number;
  keys: number;
  requests: number;
  answers: Record<string, number>;
  refusalsByCode: Record<string, number>;
  finalAnswers: Record<string, number>;
  settle: { settled: boolean; ms: number; backlog: Backlog };
  salesByStatus: Record<string, number>;
  invariantsChecked: number;
  /** What the invariants were checked over (cumulative since the start of the run). */
  checkedOver: Record<string, number>;
  /** Violations first seen after this phase (the state is cumulative: earlier ones are not repeated). */
  violations: ReturnType<typeof summarize>;
  violationsFromEarlierPhases: number;
  unexpectedExits: string[];
}

const results: PhaseResult[] = [];
const allClients: KeyOutcome[] = [];
const seenViolations = new Set<string>();
let seeded: Seeded;

async function api<T>(method: string, pathname: string, body: unknown, expect: number, headers: Record<string, string> = {}): Promise<T> {
  const res = await fetch(`${stack.gatewayUrl}/api/v1${pathname}`, {
    method,
    headers: { 'content-type': 'application/json', ...(seeded?.token ? { authorization: `Bearer ${seeded.token}` } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (res.status !== expect) throw new Error(`${method} ${pathname} answered ${res.status} (expected ${expect}): ${text.slice(0, 500)}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

async function seed(): Promise<Seeded> {
  const reg = await api<{ accessToken: string; tenant: { id: string }; store: { id: string } }>(
    'POST',
    '/auth/register',
    { tenantName: 'Faults Retail', storeName: 'Faults Till', email: `owner-${stamp.toLowerCase()}@faults.pos`, password: 'faults-password-123', name: 'Faults Owner' },
    201,
  );
  seeded = { tenantId: reg.tenant.id, storeId: reg.store.id, token: reg.accessToken, productIds: [], scarceProductId: '', customerIds: [] };
  // Every 3-line sale totals more than 5.00 (the card part of a split tender).
  const specs = [
    { sku: 'F-BEANS', price: 1299, taxRateBps: 825, stock: 100_000 },
    { sku: 'F-MILK', price: 299, taxRateBps: 0, stock: 100_000 },
    { sku: 'F-MUG', price: 849, taxRateBps: 2000, stock: 100_000 },
    { sku: 'F-TEA', price: 449, taxRateBps: 825, stock: 100_000 },
    // Runs out during each phase: insufficient-stock answers (409) are part of the load.
    { sku: 'F-SCARCE', price: 1999, taxRateBps: 825, stock: 0 },
  ];
  for (const p of specs) {
    const created = await api<{ id: string }>('POST', '/products', { sku: p.sku, name: `Faults ${p.sku}`, price: { amount: p.price, currency: 'USD' }, taxRateBps: p.taxRateBps }, 201);
    if (p.stock) await receive(created.id, p.stock);
    if (p.sku === 'F-SCARCE') seeded.scarceProductId = created.id;
    else seeded.productIds.push(created.id);
  }
  for (let i = 1; i <= 3; i++) {
    const c = await api<{ id: string }>('POST', '/customers', { name: `Faults Customer ${i}`, email: `customer${i}-${stamp.toLowerCase()}@faults.pos` }, 201);
    seeded.customerIds.push(c.id);
  }
  await api('PUT', '/notifications/settings', { receiptEmails: true }, 200);
  await api('POST', '/shifts', { storeId: seeded.storeId, openingFloat: { amount: 10_000, currency: 'USD' } }, 201);
  return seeded;
}

async function receive(productId: string, quantity: number): Promise<void> {
  await api('POST', '/stock/adjustments', { storeId: seeded.storeId, productId, quantity, reason: 'receive' }, 201, { 'idempotency-key': randomUUID() });
}

async function salesByStatus(): Promise<Record<string, number>> {
  const { rows } = await stack.admin.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM sales.sales WHERE tenant_id = $1 GROUP BY 1 ORDER BY 1', [seeded.tenantId]);
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

async function unfinishedSales(): Promise<number> {
  const { rows } = await stack.admin.query<{ n: number }>("SELECT count(*)::int AS n FROM sales.sales WHERE status IN ('pending', 'reserved')");
  return rows[0]!.n;
}

interface Fault {
  name: string;
  how: string;
  /** Injects the fault; returns evidence that it hit something. */
  inject(): Promise<Record<string, number | string>>;
  /** Ends the fault; returns more evidence. */
  recover(): Promise<Record<string, number | string>>;
}

/** One phase: load, fault, recovery, load stops, settle, check. */
async function runPhase(fault: Fault): Promise<{ result: PhaseResult; violations: Violation[] }> {
  const t0 = Date.now();
  await receive(seeded.scarceProductId, SCARCE_RESTOCK);
  const load = new CheckoutLoad({
    gatewayUrl: stack.gatewayUrl,
    token: () => seeded.token,
    catalog: { storeId: seeded.storeId, productIds: seeded.productIds, scarceProductId: seeded.scarceProductId, customerIds: seeded.customerIds },
    registers: REGISTERS,
    keyBudgetMs: 60_000,
    requestTimeoutMs: 20_000,
    seed: results.length + 1,
  });
  load.start();
  await sleep(BEFORE_MS);
  const evidence = await fault.inject();
  await sleep(DOWN_MS);
  const r0 = Date.now();
  Object.assign(evidence, await fault.recover());
  const recoveryMs = Date.now() - r0;
  await sleep(AFTER_MS);
  const outcomes = await load.stop();
  allClients.push(...outcomes);

  const redis = stack.redisClient();
  await redis.connect();
  let settled;
  try {
    settled = await settle(stack.admin, redis, SETTLE_MS);
  } finally {
    redis.disconnect();
  }
  const snapshot = await collectSnapshot({
    db: stack.admin,
    mongoUri: stack.mongoDirectUri,
    mongoDb: 'pos_faults',
    tenantId: seeded.tenantId,
    smtpReceived: stack.smtp.received,
    receiptsExpected: true,
    clients: allClients,
  });
  const all = checkInvariants(snapshot);
  const violations = all.filter((x) => !seenViolations.has(`${x.invariant}: ${x.detail}`));
  for (const x of all) seenViolations.add(`${x.invariant}: ${x.detail}`);
  const unexpectedExits = [...stack.services.values(), stack.redis, stack.mongo].flatMap((c) => c.unexpectedExits.splice(0));
  const result: PhaseResult = {
    fault: fault.name,
    how: fault.how,
    evidence,
    durationMs: Date.now() - t0,
    recoveryMs,
    keys: outcomes.length,
    requests: outcomes.reduce((a, o) => a + o.attempts.length, 0),
    answers: statusCounts(outcomes),
    refusalsByCode: codeCounts(outcomes),
    finalAnswers: finalCounts(outcomes),
    settle: { settled: settled.settled, ms: settled.ms, backlog: settled.last },
    salesByStatus: await salesByStatus(),
    invariantsChecked: INVARIANTS.length,
    checkedOver: {
      sales: snapshot.sales.length,
      completedSales: snapshot.sales.filter((x) => x.status === 'completed').length,
      capturedPayments: snapshot.payments.filter((p) => p.status === 'captured').length,
      stockLevels: snapshot.levels.length,
      saleCompletedEvents: snapshot.saleCompletedEvents.length,
      loyaltyHistoryRows: snapshot.loyalty.length,
      analyticsDocuments: snapshot.analyticsDocs.reduce((a, d) => a + d.count, 0),
      auditDocuments: snapshot.auditDocs.reduce((a, d) => a + d.count, 0),
      receiptEmails: snapshot.receipts.length,
      smtpMessages: [...stack.smtp.received.values()].reduce((a, n) => a + n, 0),
      // SMTP is at least once: a message repeated after a cut is recorded here, not failed on.
      smtpDuplicates: [...stack.smtp.received.values()].filter((n) => n > 1).length,
      clientKeys: snapshot.clients.length,
    },
    violations: summarize(violations),
    violationsFromEarlierPhases: all.length - violations.length,
    unexpectedExits,
  };
  results.push(result);
  process.stdout.write(`[faults] ${fault.name}: ${result.requests} requests for ${result.keys} sales ${JSON.stringify(result.answers)} ${JSON.stringify(result.refusalsByCode)}; final ${JSON.stringify(result.finalAnswers)}; evidence ${JSON.stringify(evidence)}; settled ${settled.settled} in ${settled.ms} ms; checked over ${JSON.stringify(result.checkedOver)}; ${violations.length} violation(s)\n`);
  return { result, violations };
}

function expectHealthy(result: PhaseResult, violations: Violation[]): void {
  expect(result.unexpectedExits).toEqual([]);
  expect({ settled: result.settle.settled, backlog: result.settle.backlog }).toEqual({ settled: true, backlog: expect.objectContaining({ deadLetters: 0 }) });
  expect(summarize(violations)).toEqual({});
}

describe('fault injection under checkout load', () => {
  beforeAll(async () => {
    await stack.start();
    await seed();
  }, 180_000);

  afterAll(async () => {
    await stack.stop();
    writeResults();
  }, 60_000);

  test('inventory-service SIGKILLed and restarted: checkouts answer 503 meanwhile, then all invariants hold', async () => {
    const { result, violations } = await runPhase({
      name: 'inventory-service SIGKILL + restart',
      how: `SIGKILL to inventory-service ${BEFORE_MS / 1000} s into the load, started again ${DOWN_MS / 1000} s later`,
      inject: async () => {
        await stack.service('inventory-service').kill('SIGKILL');
        return { unfinishedSalesAtKill: await unfinishedSales() };
      },
      recover: async () => ({ restartMs: await stack.startService('inventory-service') }),
    });
    expect(result.answers['503'] ?? 0).toBeGreaterThan(0);
    expectHealthy(result, violations);
  });

  test('transaction-service SIGKILLed mid-saga and restarted: interrupted sales are finished or compensated, then all invariants hold', async () => {
    const { result, violations } = await runPhase({
      name: 'transaction-service SIGKILL mid-saga + restart',
      how: `SIGKILL to transaction-service ${BEFORE_MS / 1000} s into the load (sales in flight), started again ${DOWN_MS / 1000} s later`,
      inject: async () => {
        // Mid-saga: the kill lands while at least one sale is between its first and last step.
        await waitFor('a sale in flight', async () => (await unfinishedSales()) > 0, 10_000, 10).catch(() => undefined);
        await stack.service('transaction-service').kill('SIGKILL');
        // Sales the dead process had started and not finished: the recovery sweep's work.
        return { salesInterruptedMidSaga: await unfinishedSales() };
      },
      recover: async () => ({ restartMs: await stack.startService('transaction-service') }),
    });
    // The kill must have caught sales mid-saga, or this phase proved nothing.
    expect(result.evidence.salesInterruptedMidSaga).toBeGreaterThan(0);
    expectHealthy(result, violations);
  });

  test('Redis restarted (SIGTERM, AOF reloaded): events published meanwhile still reach every consumer, then all invariants hold', async () => {
    const { result, violations } = await runPhase({
      name: 'Redis restart',
      how: `SIGTERM to the suite's redis-server (appendonly yes, appendfsync everysec) ${BEFORE_MS / 1000} s into the load, started again on the same port and AOF ${DOWN_MS / 1000} s later`,
      inject: async () => {
        await stack.redis.kill('SIGTERM');
        return {};
      },
      recover: async () => {
        const { rows } = await stack.admin.query<{ n: number }>('SELECT count(*)::int AS n FROM sales.outbox WHERE published_at IS NULL');
        const t = Date.now();
        await stack.startRedis();
        return { outboxRowsWaitingForRedis: rows[0]!.n, restartMs: Date.now() - t };
      },
    });
    expect(result.evidence.outboxRowsWaitingForRedis).toBeGreaterThan(0);
    expectHealthy(result, violations);
  });

  test('MongoDB cut off and back: checkouts never notice, audit and analytics catch up exactly once, then all invariants hold', async () => {
    const { result, violations } = await runPhase({
      name: 'MongoDB outage (connection cut) + back',
      how: `the TCP proxy in front of the in-memory MongoDB stand-in closed (listener and every connection) ${BEFORE_MS / 1000} s into the load, listening again ${DOWN_MS / 1000} s later; the stand-in keeps its data (stopping it would lose everything, POS-DESIGN §11)`,
      inject: async () => {
        await stack.mongoProxy.cut();
        return {};
      },
      recover: async () => {
        // sale.completed events that could not be written to MongoDB while it was away.
        const { rows } = await stack.admin.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM sales.outbox o WHERE o.type = 'sale.completed' AND NOT EXISTS (SELECT 1 FROM auth.inbox i WHERE i.event_id = o.id)",
        );
        await stack.mongoProxy.open();
        return { auditEventsWaitingForMongo: rows[0]!.n };
      },
    });
    expect(result.evidence.auditEventsWaitingForMongo).toBeGreaterThan(0);
    // The sale path does not touch MongoDB: no checkout was refused because of it.
    expect(result.answers['503'] ?? 0).toBe(0);
    expectHealthy(result, violations);
  });

  test('SMTP server stopped and started again: receipts wait and are all delivered, then all invariants hold', async () => {
    const { result, violations } = await runPhase({
      name: 'SMTP server stop + start',
      how: `the SMTP server closed ${BEFORE_MS / 1000} s into the load (connections refused), listening again ${DOWN_MS / 1000} s later`,
      inject: async () => {
        await stack.smtp.stop();
        return {};
      },
      recover: async () => {
        const { rows } = await stack.admin.query<{ n: number; retried: number }>(
          "SELECT count(*)::int AS n, count(*) FILTER (WHERE attempts > 0)::int AS retried FROM notifications.deliveries WHERE status IN ('queued', 'sending')",
        );
        await stack.smtp.start();
        return { emailsWaitingForSmtp: rows[0]!.n, emailsWithFailedAttempts: rows[0]!.retried };
      },
    });
    expect(result.evidence.emailsWaitingForSmtp).toBeGreaterThan(0);
    expect(result.answers['503'] ?? 0).toBe(0);
    expectHealthy(result, violations);
  });
});

function writeResults(): void {
  if (!results.length) return;
  const dir = path.join(ROOT, 'proof/faults/results');
  mkdirSync(dir, { recursive: true });
  const day = startedAt.toISOString().slice(0, 10);
  let file = path.join(dir, `${day}.json`);
  for (let n = 2; existsSync(file); n++) file = path.join(dir, `${day}-${n}.json`);
  const report = {
    suite: 'npm run test:faults',
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    durationSeconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
    settings: { registers: REGISTERS, loadBeforeFaultMs: BEFORE_MS, faultMs: DOWN_MS, loadAfterRecoveryMs: AFTER_MS, settleBoundMs: SETTLE_MS, saleLeaseSeconds: 5, sweepIntervalMs: 1000, runtime: process.env.FAULTS_SRC === '1' ? 'tsx (sources)' : 'node dist' },
    invariants: INVARIANTS,
    totals: {
      sales: allClients.length,
      requests: allClients.reduce((a, o) => a + o.attempts.length, 0),
      answers: statusCounts(allClients),
      finalAnswers: finalCounts(allClients),
    },
    phases: results,
  };
  writeFileSync(`${file}.tmp`, `${JSON.stringify(report, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  const rows = results.map(
    (r) =>
      `| ${r.fault} | ${r.keys} | ${r.requests} | ${Object.entries(r.answers).map(([k, v]) => `${k === '0' ? 'conn. error' : k}: ${v}`).join(', ')} | ${r.settle.ms} | ${Object.keys(r.violations).length ? Object.entries(r.violations).map(([k, v]) => `${k}: ${v.count}`).join('; ') : `all ${r.invariantsChecked} hold`} |`,
  );
  process.stdout.write(`\n| fault | sales | requests | answers | settle ms | invariants |\n|---|---:|---:|---|---:|---|\n${rows.join('\n')}\n\nresults: ${path.relative(ROOT, file)} (${report.durationSeconds} s)\n`);
}
