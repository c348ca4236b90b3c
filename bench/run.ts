// One benchmark run over the register's and the back office's operations, each against a baseline
// measured in the same run on the same started stack (see docs/performance.md):
//
//   lookup    GET /products/lookup?barcode=   vs a bare Express route behind the same gateway
//   search    GET /products?q=                vs  "
//   checkout  POST /transactions (3 lines, cash) vs the same sale as ONE SQL transaction in pgbench
//   list      GET /transactions?storeId&from&to (today's sales) vs a bare route
//   zreport   GET /shifts/:id/report (the shift of the sales made) vs a bare route
//   growth    list, Z-report and /reports/sales at 10,000 vs --growth-rows sales rows (opt-in)
//
//   npm run bench                                  (builds, then runs this file)
//   npm run bench -- --only lookup,search --duration 3
//
// Starts the services as child processes on free ports of 127.0.0.1 on a database and Redis db of
// its own (recreated on every run), seeds one tenant (10,000 products, 3 stores, stock in all),
// measures with autocannon (closed loop) and writes bench/results/<date>[-n].json and a Markdown
// table. Every child is stopped at the end, on error and on Ctrl-C.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { cpuReport, pidsByName, snapshot, type CpuGroup, type CpuReport } from './lib/cpu';
import { combine, errorsOf, measure, type Measurement } from './lib/load';
import { benchDatabase, benchMongo, benchRedis, bounded, localPg } from './lib/options';
import { measurePaced } from './lib/paced';
import { runPgbench, waitForConnections, type PgbenchRun } from './lib/pgbench';
import { freePort, startNode, waitReady, type Proc } from './lib/processes';
import { call, codeFingerprint, flushRedis, guardRun, log, root, sleep, startStack, waitForQuiet, writeResults } from './lib/stack';
import { recreateDatabase } from '../scripts/test/fresh-database';
import { seedSales } from './seed-sales';

const OPERATIONS = ['lookup', 'search', 'checkout', 'list', 'zreport'] as const;
type Operation = (typeof OPERATIONS)[number];
type GetOperation = Exclude<Operation, 'checkout'>;

const { values: args } = parseArgs({
  options: {
    only: { type: 'string', default: OPERATIONS.join(',') },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '2' },
    products: { type: 'string', default: '10000' },
    'quiet-wait': { type: 'string', default: '10' },
    rate: { type: 'string', default: '0' },
    'checkout-rate': { type: 'string', default: '0' },
    'pgbench-clients': { type: 'string' },
    'today-sales': { type: 'string', default: '500' },
    'growth-rows': { type: 'string', default: '1000000' },
    'growth-duration': { type: 'string', default: '10' },
    'growth-connections': { type: 'string', default: '2' },
    src: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(`Usage: npm run bench -- [options]
  --only <list>            operations, comma-separated (default ${OPERATIONS.join(',')}); add
                           growth for the growth measurement (npm run bench:growth = --only growth)
  --duration <s>           seconds per measurement (default 5, 1-60)
  --warmup <s>             warm-up seconds before each measurement (default 2, 0-30)
  --connections <n>        concurrent connections, and pgbench clients (default 50, 1-80)
  --rounds <n>             rounds of each operation and its baseline, order alternating (default 2, 1-5)
  --products <n>           catalog size (default 10000, 3-10000)
  --quiet-wait <s>         before each measurement, wait up to this long for other work on the
                           machine to stop (default 10, 0-300)
  --rate <n>               after the rounds of each GET operation, it and its baseline once more at
                           this fixed rate (req/s, evenly spaced, open loop; default 0: skipped)
  --checkout-rate <n>      after the checkout's rounds, checkouts at this fixed rate over --connections
                           connections (open loop, like that many registers at a steady pace),
                           against pgbench -R at the same rate (default 0: skipped)
  --pgbench-clients <n>    pgbench clients (default: --connections)
  --today-sales <n>        sales rung up through the API for list, Z-report and growth when checkout
                           is not measured (default 500, 1-5000)
  --growth-rows <n>        growth: sales rows of the large data set (default 1000000, 20000-5000000)
  --growth-duration <s>    growth: seconds per measurement (default 10, 1-60)
  --growth-connections <n> growth: connections, closed loop (default 2, 1-10)
  --src                    run the services from TypeScript sources with tsx (no build needed)
  --profile                V8 CPU profiles of every service in bench/profiles/ (no results file)
  --no-write               print the tables only
Environment: BENCH_DATABASE (default pos_bench_run; dropped and recreated, left for
  npm run bench:seed-sales), BENCH_PG (127.0.0.1:5432), BENCH_REDIS_URL (redis://127.0.0.1:6379/3;
  flushed), BENCH_DATABASE_USER (postgres), BENCH_NODE_ARGS (extra node flags for the services),
  BENCH_MONGODB_URI (a local MongoDB; default: the in-process stand-in). Service output: bench/logs/<run>/.`);
  process.exit(0);
}
const selected = new Set(args.only!.split(',').map((s) => s.trim()).filter(Boolean));
for (const s of selected) {
  if (![...OPERATIONS, 'growth'].includes(s)) {
    console.error(`--only: unknown operation ${s} (known: ${OPERATIONS.join(', ')}, growth)`);
    process.exit(2);
  }
}
const DURATION = bounded('duration', args.duration, 1, 60);
const WARMUP = bounded('warmup', args.warmup, 0, 30);
const CONNECTIONS = bounded('connections', args.connections, 1, 80);
const ROUNDS = bounded('rounds', args.rounds, 1, 5);
const PRODUCTS = bounded('products', args.products, 3, 10_000);
const QUIET_WAIT = bounded('quiet-wait', args['quiet-wait'], 0, 300);
const RATE = bounded('rate', args.rate, 0, 5_000);
const CHECKOUT_RATE = bounded('checkout-rate', args['checkout-rate'], 0, 1_000);
const PGBENCH_CLIENTS = args['pgbench-clients'] === undefined ? CONNECTIONS : bounded('pgbench-clients', args['pgbench-clients'], 1, 80);
const TODAY_SALES = bounded('today-sales', args['today-sales'], 1, 5_000);
const GROWTH = selected.has('growth');
const GROWTH_SMALL = 10_000;
const GROWTH_ROWS = bounded('growth-rows', args['growth-rows'], 2 * GROWTH_SMALL, 5_000_000);
const GROWTH_DURATION = bounded('growth-duration', args['growth-duration'], 1, 60);
const GROWTH_CONNECTIONS = bounded('growth-connections', args['growth-connections'], 1, 10);
const STORES = 3;
const STOCK = 1_000_000;
/** A measurement during which other work used more than this many cores is flagged as noisy. */
const NOISY_OTHER_CORES = 0.3;

const PG = localPg();
const DB_NAME = benchDatabase();
const REDIS_URL = benchRedis();
const MONGODB_URI = benchMongo();
const adminUrl = `${PG.adminBase}/${DB_NAME}`;

const getOps = OPERATIONS.filter((o): o is GetOperation => o !== 'checkout' && selected.has(o));
const perMeasurement = DURATION + WARMUP + QUIET_WAIT + 15;
const budgetMs =
  1000 *
  (300 +
    getOps.length * (ROUNDS * 2 * perMeasurement + (RATE ? 2 * (DURATION + QUIET_WAIT + 5) : 0)) +
    (selected.has('checkout') ? ROUNDS * 2 * (perMeasurement + 90) : 0) +
    // Seeding a million sales takes ~3 minutes on 2 cores; allow 6 per million.
    (GROWTH ? (GROWTH_ROWS / 1_000_000) * 360 + 2 * 4 * (GROWTH_DURATION + QUIET_WAIT + 5) : 0));
const { signal, shutdown } = guardRun(budgetMs);

/** EAN-13 in the in-store range (prefix 20), with a valid check digit. */
function ean13(n: number): string {
  const body = `20${String(n).padStart(10, '0')}`;
  const sum = [...body].reduce((s, d, i) => s + Number(d) * (i % 2 ? 3 : 1), 0);
  return `${body}${(10 - (sum % 10)) % 10}`;
}

async function waitOutboxDrained(db: pg.Client, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await db.query<{ n: number }>(
      `SELECT ((SELECT count(*) FROM inventory.outbox WHERE published_at IS NULL) + (SELECT count(*) FROM auth.outbox WHERE published_at IS NULL))::int AS n`,
    );
    if (rows[0]!.n === 0) return;
    if (Date.now() > deadline) throw new Error(`${rows[0]!.n} outbox events still unpublished after ${timeoutMs / 1000} s`);
    await sleep(500);
  }
}

/** autocannon stops with sales in flight; the next measurement should start on an idle system. */
async function waitSalesSettled(db: pg.Client, maxSeconds = 30): Promise<void> {
  const started = Date.now();
  for (;;) {
    const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM sales.sales WHERE status IN ('pending', 'reserved')");
    if (rows[0]!.n === 0) return;
    if (Date.now() - started > maxSeconds * 1000) return log(`${rows[0]!.n} sales still in flight after ${maxSeconds} s; going on`);
    await sleep(200);
  }
}

interface Side {
  measurement: Measurement;
  cpu: CpuReport;
}
interface OperationResult {
  title: string;
  baselineTitle: string;
  rounds: Array<{ op: Side; baseline: Side }>;
  atRate?: { rate: number; op: Measurement; baseline: Measurement };
}
interface SaleView {
  id: string;
  status: string;
  receiptNumber: number | null;
  lines: Array<{ productId: string; sku: string; name: string; unitPrice: { amount: number }; tax: { amount: number }; total: { amount: number }; taxRateBps: number }>;
  subtotal: { amount: number };
  taxTotal: { amount: number };
  total: { amount: number; currency: string };
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const loadBefore = os.loadavg();
  const pgbenchVersion = selected.has('checkout') ? execFileSync('pgbench', ['--version'], { encoding: 'utf8' }).trim() : undefined;
  log(`${os.cpus().length} cores, load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}; Node ${process.version}; ${[...selected].join(', ')}`);
  log(`fresh database ${DB_NAME} and Redis ${REDIS_URL}`);
  await recreateDatabase(PG.adminBase, DB_NAME);
  await flushRedis(REDIS_URL);
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const logDir = path.join(root, 'bench/logs', stamp);
  mkdirSync(logDir, { recursive: true });
  const profileDir = args.profile ? path.join(root, 'bench/profiles', stamp) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });

  const stack = await startStack({ pgHost: PG.host, database: DB_NAME, redisUrl: REDIS_URL, mongoUri: MONGODB_URI, logDir, src: args.src!, profileDir });
  const api = `${stack.gateway.url}/api/v1`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    // ---- seed: a tenant with its stores through the API, the catalog by import, stock by SQL -------
    const reg = await call<{ accessToken: string; refreshToken: string; tenant: { id: string }; store: { id: string }; user: { id: string } }>(`${api}/auth/register`, {
      method: 'POST',
      expect: 201,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tenantName: 'Bench Grocer', storeName: 'Bench Store 1', email: `owner-${stamp.toLowerCase()}@bench.pos`, password: 'bench-password-123', name: 'Bench Owner' }),
    });
    const tenantId = reg.tenant.id;
    let session = { accessToken: reg.accessToken, refreshToken: reg.refreshToken };
    const headers = () => ({ 'content-type': 'application/json', authorization: `Bearer ${session.accessToken}` });
    // Access tokens live 15 minutes: a fresh one before each measurement keeps long runs valid.
    const refresh = async () => {
      session = await call<{ accessToken: string; refreshToken: string }>(`${api}/auth/refresh`, { method: 'POST', expect: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refreshToken: session.refreshToken }) });
    };
    const storeIds = [reg.store.id];
    for (let i = 2; i <= STORES; i++) {
      const s = await call<{ id: string }>(`${api}/stores`, { method: 'POST', expect: 201, headers: headers(), body: JSON.stringify({ name: `Bench Store ${i}`, currency: 'USD', timezone: 'UTC', taxInclusive: false, allowNegativeStock: false }) });
      storeIds.push(s.id);
    }
    const storeId = storeIds[0]!;
    const barcodes = Array.from({ length: PRODUCTS }, (_, i) => ean13(i + 1));
    log(`importing ${PRODUCTS} products`);
    // Straight to inventory-service: the import's body is above the gateway's 1 MiB limit by design.
    const imported = await call<{ created: number }>(`${stack.inventory.url}/api/v1/products/import`, {
      method: 'POST',
      expect: 200,
      headers: headers(),
      body: JSON.stringify(
        barcodes.map((barcode, i) => ({ sku: `BENCH-${String(i + 1).padStart(5, '0')}`, name: `Bench product ${i + 1}`, price: { amount: 99 + ((i * 37) % 5000), currency: 'USD' }, taxRateBps: [0, 500, 825, 2000][i % 4], barcodes: [barcode] })),
      ),
    });
    if (imported.created !== PRODUCTS) throw new Error(`the import created ${imported.created} products, expected ${PRODUCTS}`);
    const { rows: firstProducts } = await admin.query<{ id: string }>('SELECT id FROM inventory.products WHERE tenant_id = $1 ORDER BY sku LIMIT 3', [tenantId]);
    // One adjustment per store through the API makes inventory-service project the store; the other
    // 3 x 10,000 levels are written by SQL (through the API they would take minutes), each with its
    // receive movement, so the ledger adds up like one the service wrote.
    for (const s of storeIds) {
      await call(`${api}/stock/adjustments`, { method: 'POST', expect: 201, headers: { ...headers(), 'idempotency-key': randomUUID() }, body: JSON.stringify({ storeId: s, productId: firstProducts[0]!.id, quantity: STOCK, reason: 'receive', note: 'bench stock' }) });
    }
    const stocked = await admin.query(
      `WITH levels AS (
         INSERT INTO inventory.stock_levels (id, tenant_id, store_id, product_id, on_hand)
         SELECT gen_random_uuid(), $1, s, p.id, $3 FROM inventory.products p CROSS JOIN unnest($2::uuid[]) s WHERE p.tenant_id = $1
         ON CONFLICT (tenant_id, store_id, product_id) DO NOTHING RETURNING id, store_id, product_id)
       INSERT INTO inventory.stock_movements (id, tenant_id, level_id, store_id, product_id, kind, quantity, on_hand_after, reason, actor_id)
       SELECT gen_random_uuid(), $1, id, store_id, product_id, 'receive', $3, $3, 'bench stock', $4 FROM levels`,
      [tenantId, storeIds, STOCK, reg.user.id],
    );
    log(`stock: ${STOCK.toLocaleString('en-US')} units of each product in ${STORES} stores (${stocked.rowCount} levels by SQL); waiting for the outbox relays`);
    await waitOutboxDrained(admin);
    // Autovacuum would gather statistics after such a bulk load; it is off on some machines (this
    // one). Without them the planner expects an empty catalog and a cold lookup scans all 10,000
    // products (27 ms instead of 0.14).
    await admin.query('VACUUM ANALYZE');
    const shift = await call<{ id: string }>(`${api}/shifts`, { method: 'POST', expect: 201, headers: headers(), body: JSON.stringify({ storeId, openingFloat: { amount: 10_000, currency: 'USD' } }) });

    const pid = (p: Proc) => () => (p.child.pid ? [p.child.pid] : []);
    const shared: CpuGroup[] = [
      { name: 'redis-server', pids: () => pidsByName('redis-server') },
      { name: 'postgres (all backends)', pids: () => pidsByName('postgres') },
      ...(stack.mongo ? [{ name: 'mongo stand-in', pids: pid(stack.mongo) }] : []),
    ];
    const serviceGroups: CpuGroup[] = [
      { name: 'api-gateway', pids: pid(stack.gateway) },
      { name: 'transaction-service', pids: pid(stack.transaction) },
      { name: 'inventory-service', pids: pid(stack.inventory) },
      { name: 'payment-service', pids: pid(stack.payment) },
      { name: 'auth-service', pids: pid(stack.auth) },
    ];
    const quietWaits: number[] = [];
    const quiet = async () => quietWaits.push(await waitForQuiet(QUIET_WAIT));
    const measured = async (groups: CpuGroup[], run: () => Promise<Measurement>): Promise<Side> => {
      const before = snapshot(groups);
      const measurement = await run();
      return { measurement, cpu: cpuReport(before, snapshot(groups), measurement.ok) };
    };
    const show = (m: Measurement) => `${m.requestsPerSecond} req/s, p50 ${m.latencyMs.p50} ms, p99 ${m.latencyMs.p99} ms, errors ${errorsOf(m)}${errorsOf(m) ? ` ${JSON.stringify(m.statusCodes)}` : ''}`;
    const results: Partial<Record<Operation, OperationResult>> = {};
    const windows: Partial<Record<Operation, Array<[number, number]>>> = {};
    const nowUs = () => Number(process.hrtime.bigint() / 1000n);

    // ---- checkout (and the sales that list, Z-report and growth read) -------------------------------
    const checkoutProducts = [...firstProducts].sort((a, b) => a.id.localeCompare(b.id));
    const lines = checkoutProducts.map((p) => ({ productId: p.id, quantity: 1 }));
    const sell = (body: string) => call<SaleView>(`${api}/transactions`, { method: 'POST', expect: 201, headers: { ...headers(), 'idempotency-key': randomUUID() }, body });
    // One sale to learn the total (prices and tax come from the server), then the benchmark body:
    // the same 3 lines paid in cash with the next whole 10.00 (change given, as at a till).
    const first = await sell(JSON.stringify({ storeId, lines, tenders: [{ method: 'cash', amount: { amount: 100_000, currency: 'USD' } }] }));
    const total = first.total.amount;
    const cash = Math.ceil(total / 1000) * 1000;
    const saleBody = JSON.stringify({ storeId, lines, tenders: [{ method: 'cash', amount: { amount: cash, currency: 'USD' } }] });
    const probe = await sell(saleBody);
    if (probe.status !== 'completed' || probe.total.amount !== total) throw new Error(`the probe sale is ${probe.status} with total ${probe.total.amount} (expected completed, ${total})`);
    const checkoutMeasure = (title: string, connections: number, duration: number) =>
      measure({ title, url: stack.gateway.url, connections, duration, headers: headers(), nextPath: () => '/api/v1/transactions', post: saleBody, timeout: 20 });
    let checkoutChecks: Record<string, unknown> | undefined;
    if (selected.has('checkout')) {
      const { rows: envelopeRows } = await admin.query<{ envelope: string }>("SELECT envelope::text AS envelope FROM sales.outbox WHERE type = 'sale.completed' AND envelope->'data'->>'id' = $1", [probe.id]);
      if (!envelopeRows[0]) throw new Error('the probe sale left no sale.completed event in sales.outbox');
      const byProduct = new Map(probe.lines.map((l) => [l.productId, l]));
      const vars: Record<string, string> = { tenant: tenantId, store: storeId, shift: shift.id, cashier: reg.user.id, currency: probe.total.currency, subtotal: String(probe.subtotal.amount), taxtotal: String(probe.taxTotal.amount), total: String(total), change: String(cash - total), envelope: envelopeRows[0].envelope };
      checkoutProducts.forEach((p, i) => {
        const l = byProduct.get(p.id)!;
        Object.assign(vars, { [`product${i + 1}`]: p.id, [`sku${i + 1}`]: l.sku, [`name${i + 1}`]: l.name, [`price${i + 1}`]: String(l.unitPrice.amount), [`taxbps${i + 1}`]: String(l.taxRateBps), [`tax${i + 1}`]: String(l.tax.amount), [`linetotal${i + 1}`]: String(l.total.amount) });
      });
      const pgbench = (title: string, seconds: number, clients: number, keepLog: boolean, cpu?: CpuGroup[], rate?: number) =>
        runPgbench({ title, script: path.join(root, 'bench/checkout-pgbench.sql'), database: DB_NAME, host: PG.host, user: PG.admin, mode: 'prepared', clients, threads: 2, seconds, vars, keepLog, cpu, rate });
      // Other people's test runs open and close Postgres connections all the time: a pgbench that
      // found the server full is tried again (bounded) once connections are free.
      const pgbenchWhenFree = async (...a: Parameters<typeof pgbench>): Promise<PgbenchRun> => {
        for (let attempt = 1; ; attempt++) {
          try {
            return await pgbench(...a);
          } catch (err) {
            if (attempt >= 4 || !/too many clients|remaining connection slots/i.test((err as Error).message)) throw err;
            log(`pgbench found Postgres full (max_connections, shared with other runs); waiting and trying again (${attempt}/3)`);
            await sleep(5000);
            await waitForConnections(admin, PGBENCH_CLIENTS + 2, log);
          }
        }
      };
      const check = await pgbench('check', 1, 1, false);
      if (check.aborted || check.processed < 1) throw new Error(`the pgbench script did not run cleanly:\n${check.stderrTail}`);
      const titleCheckout = 'checkout, 3 lines, cash';
      const titleBaseline = 'pgbench: the same sale as one SQL transaction';
      const result: OperationResult = { title: titleCheckout, baselineTitle: titleBaseline, rounds: [] };
      const baselineGroups: CpuGroup[] = [{ name: 'pgbench', pids: () => pidsByName('pgbench') }, ...shared, { name: 'services (idle)', pids: () => serviceGroups.flatMap((g) => g.pids()) }];
      for (let round = 1; round <= ROUNDS; round++) {
        const doCheckout = async (): Promise<Side> => {
          await refresh();
          await quiet();
          // The services' pools may open up to ~80 connections under this load: leave them room.
          await waitForConnections(admin, 40, log);
          if (WARMUP) await checkoutMeasure('warm-up', CONNECTIONS, WARMUP);
          await waitSalesSettled(admin);
          log(`round ${round}/${ROUNDS}: ${titleCheckout}, ${CONNECTIONS} connections, ${DURATION} s`);
          const from = nowUs();
          const side = await measured([...serviceGroups, ...shared], () => checkoutMeasure(titleCheckout, CONNECTIONS, DURATION));
          (windows.checkout ??= []).push([from, nowUs()]);
          await waitSalesSettled(admin);
          log(`  ${show(side.measurement)}`);
          return side;
        };
        const doBaseline = async (): Promise<Side> => {
          await quiet();
          await waitForConnections(admin, PGBENCH_CLIENTS + 2, log);
          if (WARMUP) await pgbenchWhenFree('warm-up', WARMUP, PGBENCH_CLIENTS, false);
          log(`round ${round}/${ROUNDS}: ${titleBaseline}, ${PGBENCH_CLIENTS} clients, ${DURATION} s`);
          const before = snapshot(baselineGroups);
          const run = await pgbenchWhenFree(titleBaseline, DURATION, PGBENCH_CLIENTS, true, baselineGroups);
          log(`  ${run.tps} tps, p50 ${run.measurement.latencyMs.p50} ms, p99 ${run.measurement.latencyMs.p99} ms, failed ${run.failed}${run.aborted ? `, ABORTED:\n${run.stderrTail}` : ''}`);
          // pgbench's tps leaves out the time its 50 connections took to open; the duration is set to
          // match, so that the rounds combine into the same figure.
          const measurement = { ...run.measurement, durationSeconds: run.tps ? run.processed / run.tps : run.measurement.durationSeconds };
          return { measurement, cpu: run.cpu ?? cpuReport(before, snapshot(baselineGroups), run.processed) };
        };
        // Alternate the order, so drift on a shared machine does not favour one side.
        if (round % 2) {
          const op = await doCheckout();
          result.rounds.push({ op, baseline: await doBaseline() });
        } else {
          const baseline = await doBaseline();
          result.rounds.push({ op: await doCheckout(), baseline });
        }
        if (signal.aborted) return;
      }
      if (CHECKOUT_RATE) {
        // Registers ring up sales at a pace, they do not queue the next one behind the last answer:
        // the latency a cashier sees at a steady rate below capacity, not under saturation.
        await refresh();
        await quiet();
        await waitForConnections(admin, 40, log);
        log(`${titleCheckout} at a fixed ${CHECKOUT_RATE}/s over ${CONNECTIONS} connections, ${DURATION} s`);
        const op = await measurePaced({ title: `${titleCheckout} at ${CHECKOUT_RATE}/s`, url: stack.gateway.url, connections: CONNECTIONS, duration: DURATION, rate: CHECKOUT_RATE, headers: headers(), nextPath: () => '/api/v1/transactions', post: saleBody, signal });
        log(`  ${show(op)}`);
        await waitSalesSettled(admin);
        await quiet();
        await waitForConnections(admin, PGBENCH_CLIENTS + 2, log);
        const run = await pgbenchWhenFree(`${titleBaseline} at ${CHECKOUT_RATE}/s`, DURATION, PGBENCH_CLIENTS, true, undefined, CHECKOUT_RATE);
        log(`  pgbench at ${CHECKOUT_RATE}/s: p50 ${run.measurement.latencyMs.p50} ms, p99 ${run.measurement.latencyMs.p99} ms, failed ${run.failed}`);
        result.atRate = { rate: CHECKOUT_RATE, op, baseline: run.measurement };
      }
      results.checkout = result;
      // Every 2xx is one completed sale, and the stock ledger adds up.
      await sleep(1000);
      const { rows: saleRows } = await admin.query<{ source: string; status: string; n: number }>(
        `SELECT CASE WHEN idempotency_key LIKE 'pgbench:%' THEN 'pgbench' ELSE 'api' END AS source, status, count(*)::int AS n FROM sales.sales WHERE tenant_id = $1 GROUP BY 1, 2 ORDER BY 1, 2`,
        [tenantId],
      );
      const sales = Object.fromEntries(saleRows.map((r) => [`${r.source} ${r.status}`, r.n]));
      const { rows: stockRows } = await admin.query<{ on_hand: number; moved: number }>(
        `SELECT l.on_hand, (SELECT COALESCE(sum(quantity), 0)::int FROM inventory.stock_movements m WHERE m.level_id = l.id) AS moved
           FROM inventory.stock_levels l WHERE l.tenant_id = $1 AND l.store_id = $2 AND l.product_id = ANY($3::uuid[])`,
        [tenantId, storeId, checkoutProducts.map((p) => p.id)],
      );
      const sold = (sales['api completed'] ?? 0) + (sales['pgbench completed'] ?? 0);
      const ledgerConsistent = stockRows.length === 3 && stockRows.every((s) => s.on_hand === s.moved && s.on_hand === STOCK - sold);
      checkoutChecks = { salesByStatus: sales, ledgerConsistent, unfinished: (sales['api pending'] ?? 0) + (sales['api reserved'] ?? 0), failed: sales['api failed'] ?? 0 };
      log(`checks: ${JSON.stringify(sales)}; stock = ${STOCK} - sales = sum of its movements: ${ledgerConsistent ? 'yes' : 'NO'}`);
    } else if (getOps.some((o) => o === 'list' || o === 'zreport') || GROWTH) {
      log(`ringing up ${TODAY_SALES} sales in the shift for list, Z-report and growth`);
      const m = await measure({ title: 'sales', url: stack.gateway.url, connections: 10, amount: TODAY_SALES, headers: headers(), nextPath: () => '/api/v1/transactions', post: saleBody, timeout: 20 });
      if (m.ok !== TODAY_SALES) throw new Error(`only ${m.ok} of ${TODAY_SALES} sales went through (${JSON.stringify(m.statusCodes)})`);
      await waitSalesSettled(admin);
    }

    // ---- the GET operations against a bare route behind a second gateway ---------------------------
    const today = new Date().toISOString().slice(0, 10);
    const dayStart = `${today}T00:00:00.000Z`;
    const dayEnd = new Date(Date.parse(dayStart) + 86_400_000).toISOString();
    const listPath = `/api/v1/transactions?storeId=${storeId}&from=${encodeURIComponent(dayStart)}&to=${encodeURIComponent(dayEnd)}`;
    const zreportPath = `/api/v1/shifts/${shift.id}/report`;
    const random = (n: number) => Math.floor(Math.random() * n);
    const getDefs: Record<GetOperation, { title: string; nextPath: () => string; sample: string }> = {
      lookup: { title: 'barcode lookup', nextPath: () => `/api/v1/products/lookup?barcode=${barcodes[random(barcodes.length)]}`, sample: `/api/v1/products/lookup?barcode=${barcodes[0]}` },
      // Three digits typed into the search box: ~20 of 10,000 names or SKUs contain each.
      search: { title: 'product search (3 digits)', nextPath: () => `/api/v1/products?q=${100 + random(900)}`, sample: '/api/v1/products?q=123' },
      list: { title: "list today's sales (first page of 50)", nextPath: () => listPath, sample: listPath },
      zreport: { title: 'Z-report of the open shift', nextPath: () => zreportPath, sample: zreportPath },
    };
    await admin.query('ANALYZE'); // the sales just made, as autovacuum would
    const { rows: shiftRows } = await admin.query<{ n: number }>("SELECT count(*)::int AS n FROM sales.sales WHERE shift_id = $1 AND status = 'completed'", [shift.id]);
    const shiftSales = shiftRows[0]!.n;
    if (getOps.length) {
      log('capturing a real answer of each GET operation; starting the bare upstream and a second api-gateway in front of it');
      const responses: Record<string, string> = {};
      for (const op of getOps) {
        const res = await fetch(`${stack.gateway.url}${getDefs[op].sample}`, { headers: headers() });
        const body = await res.text();
        if (res.status !== 200) throw new Error(`${op} through the gateway answered ${res.status}: ${body.slice(0, 500)}`);
        responses[new URL(getDefs[op].sample, 'http://x').pathname] = body;
      }
      const responsesFile = path.join(logDir, 'bare-responses.json');
      writeFileSync(responsesFile, JSON.stringify(responses));
      const barePort = await freePort();
      const bare = startNode({ name: 'bare-upstream', logFile: path.join(logDir, 'bare-upstream.log'), port: barePort, cwd: root, nodeArgs: [path.join(root, 'bench/bare-upstream.mjs')], env: { PATH: process.env.PATH, NODE_ENV: 'production', PORT: String(barePort), BENCH_RESPONSES_FILE: responsesFile } });
      await waitReady(bare, '/health');
      const bareGateway = await stack.startGateway('api-gateway-baseline', bare.url);
      for (const op of getOps) {
        const res = await fetch(`${bareGateway.url}${getDefs[op].sample}`, { headers: headers() });
        const body = await res.text();
        if (res.status !== 200 || body !== responses[new URL(getDefs[op].sample, 'http://x').pathname]) throw new Error(`the baseline of ${op} answered ${res.status} with a different body: ${body.slice(0, 300)}`);
      }
      const noToken = await fetch(`${bareGateway.url}${getDefs.lookup.sample}`);
      await noToken.body?.cancel();
      if (noToken.status !== 401) throw new Error(`the baseline gateway did not check the token (answered ${noToken.status} without one)`);

      const opGroups = [...serviceGroups, ...shared];
      const baselineGroups = [{ name: 'api-gateway (baseline)', pids: pid(bareGateway) }, { name: 'bare upstream', pids: pid(bare) }, ...shared];
      for (const op of getOps) {
        const def = getDefs[op];
        const result: OperationResult = { title: def.title, baselineTitle: 'bare Express route behind the gateway', rounds: [] };
        if (op === 'lookup') {
          // The lookup cache warm, as in a store during the day: every barcode looked up once.
          log(`cache warm-up: each of the ${PRODUCTS} barcodes looked up once`);
          let next = 0;
          const sweep = await measure({ title: 'sweep', url: stack.gateway.url, connections: CONNECTIONS, amount: PRODUCTS, headers: headers(), nextPath: () => `/api/v1/products/lookup?barcode=${barcodes[next++ % barcodes.length]}` });
          if (sweep.ok !== PRODUCTS) throw new Error(`the warm-up sweep got ${sweep.ok} of ${PRODUCTS} products (${JSON.stringify(sweep.statusCodes)})`);
        }
        const side = async (which: 'op' | 'baseline', round: number): Promise<Side> => {
          const url = which === 'op' ? stack.gateway.url : bareGateway.url;
          const title = which === 'op' ? def.title : `${def.title}: baseline`;
          await refresh();
          await quiet();
          if (WARMUP) await measure({ title: 'warm-up', url, connections: CONNECTIONS, duration: WARMUP, headers: headers(), nextPath: def.nextPath });
          log(`round ${round}/${ROUNDS}: ${title}, ${CONNECTIONS} connections, ${DURATION} s`);
          const from = nowUs();
          const s = await measured(which === 'op' ? opGroups : baselineGroups, () => measure({ title, url, connections: CONNECTIONS, duration: DURATION, headers: headers(), nextPath: def.nextPath }));
          if (which === 'op') (windows[op] ??= []).push([from, nowUs()]);
          log(`  ${show(s.measurement)}`);
          return s;
        };
        for (let round = 1; round <= ROUNDS; round++) {
          if (signal.aborted) return;
          if (round % 2) {
            const baseline = await side('baseline', round);
            result.rounds.push({ op: await side('op', round), baseline });
          } else {
            const o = await side('op', round);
            result.rounds.push({ op: o, baseline: await side('baseline', round) });
          }
        }
        if (RATE) {
          const paced = async (url: string, title: string) => {
            await quiet();
            log(`${title} at a fixed ${RATE} req/s, ${DURATION} s`);
            const m = await measurePaced({ title, url, connections: CONNECTIONS, duration: DURATION, rate: RATE, headers: headers(), nextPath: def.nextPath, signal });
            log(`  ${show(m)}`);
            return m;
          };
          result.atRate = { rate: RATE, op: await paced(stack.gateway.url, def.title), baseline: await paced(bareGateway.url, `${def.title}: baseline`) };
        }
        results[op] = result;
      }
    }

    // ---- growth: the same reads at 10,000 and at GROWTH_ROWS sales --------------------------------
    const monthAgo = new Date(Date.parse(dayStart) - 29 * 86_400_000).toISOString().slice(0, 10);
    const growthTargets = [
      { key: 'list', title: "list today's sales (first page of 50)", path: listPath },
      { key: 'zreport', title: `Z-report of the open shift (${shiftSales} sales)`, path: zreportPath },
      { key: 'report-today', title: 'sales report, today, by hour', path: `/api/v1/reports/sales?storeId=${storeId}&from=${today}&to=${today}&groupBy=hour` },
      { key: 'report-30-days', title: 'sales report, last 30 days, by day', path: `/api/v1/reports/sales?storeId=${storeId}&from=${monthAgo}&to=${today}&groupBy=day` },
    ];
    const growth: Array<{ salesRows: number; seeded: number; seedSeconds: Record<string, number>; measurements: Record<string, Side> }> = [];
    if (GROWTH) {
      for (const target of [GROWTH_SMALL, GROWTH_ROWS]) {
        if (signal.aborted) return;
        const count = async () => (await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM sales.sales WHERE tenant_id = $1', [tenantId])).rows[0]!.n;
        const missing = target - (await count());
        let seedSeconds: Record<string, number> = {};
        if (missing > 0) {
          log(`seeding ${missing.toLocaleString('en-US')} past sales (to ${target.toLocaleString('en-US')} rows)`);
          seedSeconds = await seedSales(admin, { tenantId, rows: missing, days: 365, cashiers: 4, log });
        }
        const salesRows = await count();
        const measurements: Record<string, Side> = {};
        for (const t of growthTargets) {
          await refresh();
          await quiet();
          await measure({ title: 'warm-up', url: stack.gateway.url, connections: GROWTH_CONNECTIONS, duration: 1, headers: headers(), nextPath: () => t.path });
          log(`${salesRows.toLocaleString('en-US')} sales rows: ${t.title}, ${GROWTH_CONNECTIONS} connections, ${GROWTH_DURATION} s`);
          measurements[t.key] = await measured([...serviceGroups, ...shared], () => measure({ title: t.title, url: stack.gateway.url, connections: GROWTH_CONNECTIONS, duration: GROWTH_DURATION, headers: headers(), nextPath: () => t.path }));
          log(`  ${show(measurements[t.key]!.measurement)}`);
        }
        growth.push({ salesRows, seeded: Math.max(0, missing), seedSeconds, measurements });
      }
    }
    if (signal.aborted) return;

    // ---- results ----------------------------------------------------------------------------------
    const strip = ({ samples: _samples, ...m }: Measurement) => m;
    const r3 = (n: number) => Number(n.toFixed(3));
    const summary = Object.fromEntries(
      Object.entries(results).map(([op, r]) => {
        const o = combine(r.title, r.rounds.map((x) => x.op.measurement));
        const b = combine(r.baselineTitle, r.rounds.map((x) => x.baseline.measurement));
        return [op, { op: o, baseline: b, ratio: b.requestsPerSecond ? o.requestsPerSecond / b.requestsPerSecond : 0, roundRatios: r.rounds.map((x) => x.op.measurement.requestsPerSecond / (x.baseline.measurement.requestsPerSecond || 1)), maxOther: Math.max(...r.rounds.flatMap((x) => [x.op.cpu.otherCores ?? 0, x.baseline.cpu.otherCores ?? 0])) }];
      }),
    );
    const allCpu = [...Object.values(results).flatMap((r) => r.rounds.flatMap((x) => [x.op.cpu, x.baseline.cpu])), ...growth.flatMap((g) => Object.values(g.measurements).map((m) => m.cpu))];
    const maxOther = allCpu.length ? Math.max(...allCpu.map((c) => c.otherCores ?? 0)) : 0;
    const noisy = maxOther > NOISY_OTHER_CORES;
    const errors =
      Object.values(summary).reduce((a, s) => a + errorsOf(s.op) + errorsOf(s.baseline), 0) +
      Object.values(results).reduce((a, r) => a + (r.atRate ? errorsOf(r.atRate.op) + errorsOf(r.atRate.baseline) : 0), 0) +
      growth.reduce((a, g) => a + Object.values(g.measurements).reduce((b, m) => b + errorsOf(m.measurement), 0), 0);
    const checkoutValid = !checkoutChecks || (checkoutChecks.ledgerConsistent === true && checkoutChecks.unfinished === 0 && checkoutChecks.failed === 0);
    const valid = errors === 0 && checkoutValid;
    const loadAfter = os.loadavg();
    const fingerprint = codeFingerprint(['auth-service', 'inventory-service', 'payment-service', 'transaction-service', 'api-gateway'], args.src!);

    const perSecond = (s: (typeof summary)[string]) => s.op.requestsPerSecond;
    const row = (op: string, s: (typeof summary)[string]) =>
      `| ${s.op.title} | ${perSecond(s)} | ${s.op.latencyMs.p50} | ${s.op.latencyMs.p99} | ${errorsOf(s.op)} | ${op === 'checkout' ? 'pgbench, same SQL' : 'bare route'} | ${s.baseline.requestsPerSecond} | ${s.baseline.latencyMs.p50} | ${s.baseline.latencyMs.p99} | ${s.ratio.toFixed(2)} (${s.roundRatios.map((x) => x.toFixed(2)).join(', ')}) | ${s.maxOther} |`;
    const small = growth[0];
    const large = growth[1];
    const growthTable =
      small && large
        ? `
How cost grows (${GROWTH_CONNECTIONS} connections, closed loop, ${GROWTH_DURATION} s each; today's sales are the same at both sizes, the added ones are spread over the 365 days before today):

| endpoint | ${small.salesRows.toLocaleString('en-US')} sales: req/s | p50 ms | p99 ms | ${large.salesRows.toLocaleString('en-US')} sales: req/s | p50 ms | p99 ms | p50 ratio | p99 ratio |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
${growthTargets
  .map((t) => {
    const a = small.measurements[t.key]!.measurement;
    const b = large.measurements[t.key]!.measurement;
    return `| ${t.title} | ${a.requestsPerSecond} | ${a.latencyMs.p50} | ${a.latencyMs.p99} | ${b.requestsPerSecond} | ${b.latencyMs.p50} | ${b.latencyMs.p99} | ${(b.latencyMs.p50 / (a.latencyMs.p50 || 1)).toFixed(2)} | ${(b.latencyMs.p99 / (a.latencyMs.p99 || 1)).toFixed(2)} |`;
  })
  .join('\n')}

Seeding ${large.seeded.toLocaleString('en-US')} sales took ${Object.values(large.seedSeconds).reduce((a, b) => a + b, 0).toFixed(0)} s (${Object.entries(large.seedSeconds).map(([k, v]) => `${k} ${v}`).join(', ')}).
`
        : '';
    const table = `### ${PRODUCTS.toLocaleString('en-US')} products, ${STORES} stores${Object.keys(summary).length ? `, ${CONNECTIONS} connections, ${ROUNDS} x ${DURATION} s each` : ''} (${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC)
${
  Object.keys(summary).length
    ? `
| operation | req/s | p50 ms | p99 ms | errors | baseline | baseline req/s | baseline p50 ms | baseline p99 ms | ratio (rounds) | other cores |
|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|
${OPERATIONS.filter((o) => summary[o])
  .map((o) => row(o, summary[o]!))
  .join('\n')}
`
    : ''
}${Object.values(results).some((r) => r.atRate) ? `\nAt a fixed rate (open loop, ${CONNECTIONS} connections): ${Object.values(results).filter((r) => r.atRate).map((r) => `${r.title} at ${r.atRate!.rate}/s: p50 ${r.atRate!.op.latencyMs.p50} / p99 ${r.atRate!.op.latencyMs.p99} ms (baseline ${r.atRate!.baseline.latencyMs.p50} / ${r.atRate!.baseline.latencyMs.p99})`).join('; ')}.\n` : ''}${growthTable}
Ratio: operation req/s / baseline req/s over all rounds (checkout: checkouts/s / pgbench tps). The Z-report and the list read the shift's ${shiftSales} sales made in this run. ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}${pgbenchVersion ? `, ${pgbenchVersion}` : ''}, code ${fingerprint}; load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')}; "other cores": the most CPU other processes used during a measurement of that row.${noisy ? `\n\n**Noisy run:** other work on the machine used up to ${maxOther} cores during a measurement; compare with a quieter run before drawing conclusions.` : ''}${!valid ? `\n\n**Not a valid run:** ${errors} errors (non-2xx or failed requests)${checkoutValid ? '' : `; checkout checks failed: ${JSON.stringify(checkoutChecks)}`}.` : ''}`;
    console.log(`\n${table}\n`);

    const result = {
      benchmark: 'npm run bench: lookup, search, checkout, list of today\'s sales and Z-report, each against a baseline measured in the same run; growth of list and reports with the sales table',
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)), node: process.version, pgbench: pgbenchVersion, platform: `${os.platform()} ${os.release()}`, loadAverageBefore: loadBefore.map(r3), loadAverageAfter: loadAfter.map(r3), note: 'load generator, pgbench, the services, Postgres and Redis share these cores' },
      settings: {
        operations: [...selected],
        products: PRODUCTS,
        stores: STORES,
        connections: CONNECTIONS,
        durationSeconds: DURATION,
        warmupSeconds: WARMUP,
        rounds: ROUNDS,
        quietWaitSeconds: QUIET_WAIT,
        fixedRate: RATE || null,
        checkoutRate: CHECKOUT_RATE || null,
        pgbench: selected.has('checkout') ? { script: 'bench/checkout-pgbench.sql', mode: 'prepared', clients: PGBENCH_CLIENTS, threads: 2, user: PG.admin, rowLevelSecurity: 'not applied (superuser)' } : null,
        growth: GROWTH ? { connections: GROWTH_CONNECTIONS, durationSeconds: GROWTH_DURATION, sizes: [GROWTH_SMALL, GROWTH_ROWS] } : null,
        runtime: args.src ? 'tsx (sources)' : 'node dist (built)',
        codeFingerprint: fingerprint,
        mongodb: stack.mongo ? 'in-process stand-in (API usage, audit); its event consumers off' : MONGODB_URI ? 'BENCH_MONGODB_URI' : 'none',
        requests: Object.fromEntries([...getOps.map((o) => [o, getDefs[o].sample]), ...(selected.has('checkout') ? [['checkout', `POST /api/v1/transactions ${saleBody}`]] : [])]),
        shiftSales,
      },
      valid,
      noisy,
      results: Object.fromEntries(
        Object.entries(summary).map(([op, s]) => [
          op,
          {
            operation: strip(s.op),
            baseline: strip(s.baseline),
            ratio: r3(s.ratio),
            rounds: results[op as Operation]!.rounds.map((x, i) => ({ round: i + 1, order: i % 2 ? 'operation first' : 'baseline first', operation: strip(x.op.measurement), baseline: strip(x.baseline.measurement), ratio: r3(s.roundRatios[i]!), cpu: { operation: x.op.cpu, baseline: x.baseline.cpu } })),
            atFixedRate: results[op as Operation]!.atRate ? { requestsPerSecond: results[op as Operation]!.atRate!.rate, operation: strip(results[op as Operation]!.atRate!.op), baseline: strip(results[op as Operation]!.atRate!.baseline) } : null,
          },
        ]),
      ),
      checkoutChecks: checkoutChecks ?? null,
      growth: growth.map((g) => ({ salesRows: g.salesRows, seeded: g.seeded, seedSeconds: g.seedSeconds, measurements: Object.fromEntries(Object.entries(g.measurements).map(([k, m]) => [k, { ...strip(m.measurement), cpu: m.cpu }])) })),
      secondsWaitedForQuiet: quietWaits,
      markdown: table,
    };
    if (profileDir) {
      writeFileSync(path.join(profileDir, 'windows.json'), `${JSON.stringify(windows)}\n`);
      log(`profiled run: no results file; profiles are written to ${path.relative(root, profileDir)} when the services stop; summarise with\n  npx tsx bench/profile-summary.ts --window lookup ${path.relative(root, profileDir)}/*.cpuprofile`);
    } else if (!args['no-write']) {
      log(`results written to ${writeResults(startedAt.toISOString().slice(0, 10), result)}`);
    }
  } finally {
    await admin.end();
  }
}

main().then(
  () => shutdown(0),
  (err: unknown) => shutdown(1, `benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`),
);
