// End-to-end checkout through the gateway (3 lines, cash) against the ceiling of the same sale's
// database work as ONE SQL transaction run by pgbench (bench/checkout-pgbench.sql), in the same run.
//
//   npm run bench:checkout                       (builds the five services, then runs this file)
//   npm run bench:checkout -- --rounds 2 --duration 10
//
// Starts auth-, inventory-, payment-, transaction-service and the api-gateway as child processes on
// free ports of 127.0.0.1, on a database and Redis db of their own (recreated on every run), with
// one set of service client secrets (SERVICE_CLIENTS for auth-service, SERVICE_CLIENT_ID/SECRET for
// the others). Seeds through the API: a tenant (its first store), 3 products with 1,000,000 units
// received each, the owner's shift; checks one sale; then per round: 50 connections of
// POST /api/v1/transactions (autocannon, closed loop, a fresh Idempotency-Key per request) and
// pgbench -c 50 -j 2 for the same time. Writes bench/results/<date>-checkout.json and a Markdown
// table. Every child (services and pgbench) is stopped at the end, on error and on Ctrl-C.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';
import { Redis } from 'ioredis';
import { cpuReport, machineCpuMs, pidsByName, snapshot, type CpuGroup, type CpuReport } from './lib/cpu';
import { activeInstances, combine, errorsOf, latencySummary, type Measurement } from './lib/load';
import { freePort, killAllNow, startNode, stopAll, waitReady, whenAnyExitsUnexpectedly, type Proc } from './lib/processes';

const root = path.resolve(__dirname, '..');
const PGBENCH_SCRIPT = path.join(root, 'bench/checkout-pgbench.sql');

// ---- options (every one bounded, so a run always ends by itself) ------------------------------
const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '2' },
    single: { type: 'string', default: '5' },
    'quiet-wait': { type: 'string', default: '30' },
    'pgbench-mode': { type: 'string', default: 'prepared' },
    'pgbench-clients': { type: 'string' },
    'pgbench-user': { type: 'string' },
    src: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(`Usage: npm run bench:checkout -- [options]
  --duration <s>        seconds per measurement (default 10, 1-60)
  --warmup <s>          warm-up seconds before each measurement (default 3, 0-30)
  --connections <n>     concurrent API connections and pgbench clients (default 50, 1-80)
  --rounds <n>          rounds of both measurements, order alternating (default 2, 1-5)
  --single <s>          afterwards, checkouts over ONE connection for this long: the latency of a
                        checkout when nothing queues (default 5, 0 skips, at most 60)
  --quiet-wait <s>      before each measurement, wait up to this long for other work on the machine
                        to stop (default 30, 0-300)
  --pgbench-clients <n> pgbench clients (default: --connections; 50 clients queue on the same 3 stock
                        rows, fewer may commit more per second)
  --pgbench-mode <m>    pgbench query mode: prepared (default, the database's best) or extended
                        (what node-postgres does: parse/bind/execute every statement)
  --pgbench-user <role> role pgbench connects as (default BENCH_DATABASE_USER, postgres: a superuser,
                        so row-level security does not apply; pos_app to pay for it as the services do)
  --src                 run the services from TypeScript sources with tsx (no build needed)
  --no-write            print the table only
Environment: BENCH_CHECKOUT_DATABASE (default pos_bench_checkout; dropped and recreated), BENCH_PG
  (127.0.0.1:5432), BENCH_CHECKOUT_REDIS_URL (redis://127.0.0.1:6379/3; flushed), BENCH_DATABASE_USER
  (postgres), BENCH_NODE_ARGS (extra node flags for the services). Service output: bench/logs/<run>-checkout/.`);
  process.exit(0);
}
function bounded(name: string, value: string | undefined, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    console.error(`--${name} must be a whole number from ${min} to ${max}`);
    process.exit(2);
  }
  return n;
}
const DURATION = bounded('duration', args.duration, 1, 60);
const WARMUP = bounded('warmup', args.warmup, 0, 30);
const CONNECTIONS = bounded('connections', args.connections, 1, 80);
const ROUNDS = bounded('rounds', args.rounds, 1, 5);
const SINGLE = bounded('single', args.single, 0, 60);
const QUIET_WAIT = bounded('quiet-wait', args['quiet-wait'], 0, 300);
const PGBENCH_MODE = args['pgbench-mode']!;
if (!['prepared', 'extended'].includes(PGBENCH_MODE)) {
  console.error('--pgbench-mode must be prepared or extended (the script passes its variables as parameters)');
  process.exit(2);
}
const PGBENCH_CLIENTS = args['pgbench-clients'] === undefined ? CONNECTIONS : bounded('pgbench-clients', args['pgbench-clients'], 1, 80);
const PGBENCH_THREADS = Math.min(2, PGBENCH_CLIENTS);

// Goals from the checkout issue (#4).
const GOAL_RATIO = 0.2;
const GOAL_P99_MS = 150;
/** A measurement during which other work used more than this many cores is flagged as noisy. */
const NOISY_OTHER_CORES = 0.3;
const STOCK = 1_000_000;

const DB_NAME = process.env.BENCH_CHECKOUT_DATABASE ?? 'pos_bench_checkout';
const PG_HOST = process.env.BENCH_PG ?? '127.0.0.1:5432';
const PG_ADMIN = process.env.BENCH_DATABASE_USER ?? 'postgres';
const PGBENCH_USER = args['pgbench-user'] ?? PG_ADMIN;
const REDIS_URL = process.env.BENCH_CHECKOUT_REDIS_URL ?? 'redis://127.0.0.1:6379/3';
if (!/^pos_bench[a-z0-9_]*$/.test(DB_NAME)) {
  console.error('BENCH_CHECKOUT_DATABASE must start with pos_bench (the benchmark drops and recreates it)');
  process.exit(2);
}
if (!/^[a-z_][a-z0-9_]*$/.test(PGBENCH_USER)) {
  console.error('--pgbench-user must be a plain role name');
  process.exit(2);
}
const redisDb = Number(new URL(REDIS_URL).pathname.slice(1) || 0);
if (redisDb < 2) {
  console.error('BENCH_CHECKOUT_REDIS_URL must name a Redis db of its own (2 or higher): the benchmark flushes it; 0 is `npm start`, 1 is `npm test`');
  process.exit(2);
}
for (const u of [`postgres://${PG_HOST}`, REDIS_URL]) {
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(new URL(u).hostname)) {
    console.error('The benchmark only talks to this machine: BENCH_PG and BENCH_CHECKOUT_REDIS_URL must be local');
    process.exit(2);
  }
}
const pgUrl = new URL(`postgres://${PG_HOST}`);
const adminUrl = `postgres://${PG_ADMIN}@${PG_HOST}/${DB_NAME}`;

// ---- children: the services (bench/lib/processes) and pgbench (here) ---------------------------
const pgbenchChildren = new Set<ChildProcess>();
function killPgbenchNow(): void {
  for (const c of pgbenchChildren) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

// Nothing outlives the run: stop everything on Ctrl-C, on a crash, and after a hard time limit.
const budgetMs = 5 * 60_000 + (ROUNDS * 2 * (DURATION + WARMUP + 60 + QUIET_WAIT) + SINGLE + QUIET_WAIT) * 1000;
let finishing = false;
async function shutdown(code: number, reason?: string): Promise<never> {
  if (!finishing) {
    finishing = true;
    if (reason) console.error(reason);
    for (const i of activeInstances) i.stop();
    for (const c of pgbenchChildren) c.kill('SIGTERM');
    console.error('stopping services...');
    await stopAll();
    killPgbenchNow();
  }
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(130, '\ninterrupted'));
process.on('SIGTERM', () => void shutdown(143, '\nterminated'));
process.on('exit', () => {
  killAllNow();
  killPgbenchNow();
});
setTimeout(() => void shutdown(1, `the benchmark did not finish within its ${Math.round(budgetMs / 1000)} s budget`), budgetMs).unref();
whenAnyExitsUnexpectedly((p, code, signal) => void shutdown(1, `${p.name} stopped unexpectedly (${signal ?? `code ${code}`}):\n${p.tail()}`));

const log = (msg: string) => console.log(`[bench] ${msg}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const r2 = (n: number) => Number(n.toFixed(2));

// ---- setup ---------------------------------------------------------------------------------------
async function resetDatabase(): Promise<void> {
  const client = new pg.Client({ connectionString: `postgres://${PG_ADMIN}@${PG_HOST}/postgres` });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${DB_NAME}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
  execFileSync(process.execPath, [path.join(root, 'scripts/migrate.mjs'), '--quiet'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, NODE_ENV: 'development', DATABASE_ADMIN_URL: adminUrl },
  });
}

async function flushRedis(): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true });
  await redis.connect();
  await redis.flushdb();
  await redis.quit();
}

function serviceCommand(service: string): string[] {
  const flags = (process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  if (args.src) return [...flags, '--import', 'tsx', path.join(root, `services/${service}/src/main.ts`)];
  const main = path.join(root, `services/${service}/dist/main.js`);
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first (\`npm run bench:checkout\` does), or pass --src`);
  return [...flags, main];
}

async function call<T = unknown>(url: string, init: RequestInit & { expect: number }): Promise<T> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(60_000) });
  const text = await res.text();
  if (res.status !== init.expect) throw new Error(`${init.method ?? 'GET'} ${url} answered ${res.status} (expected ${init.expect}): ${text.slice(0, 1000)}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Machine-wide busy share over one second; waits (bounded) until other work has mostly stopped. */
async function waitForQuiet(maxSeconds = QUIET_WAIT, busyBelow = 0.25): Promise<number> {
  if (!maxSeconds) return 0;
  const started = Date.now();
  while (Date.now() - started < maxSeconds * 1000) {
    const a = machineCpuMs();
    await sleep(1000);
    const b = machineCpuMs();
    if (!a || !b) return 0;
    const busy = (b.busy - a.busy) / (b.total - a.total || 1);
    if (busy < busyBelow) return Math.round((Date.now() - started) / 1000) - 1;
  }
  log(`the machine stayed busy for ${maxSeconds} s (other work running); measuring anyway`);
  return maxSeconds;
}

/** Free client connection slots of the Postgres server (all databases, everyone's). */
async function freeConnections(db: pg.Client): Promise<{ free: number; ours: number; others: number; max: number }> {
  const { rows } = await db.query<{ max: number; reserved: number; ours: number; others: number }>(
    `SELECT current_setting('max_connections')::int AS max, current_setting('superuser_reserved_connections')::int AS reserved,
            count(*) FILTER (WHERE datname = $1)::int AS ours, count(*) FILTER (WHERE datname IS DISTINCT FROM $1)::int AS others
       FROM pg_stat_activity WHERE backend_type = 'client backend'`,
    [DB_NAME],
  );
  const r = rows[0]!;
  return { free: r.max - r.reserved - r.ours - r.others, ours: r.ours, others: r.others, max: r.max };
}

/**
 * pgbench needs `clients` connections on a server with max_connections 100 that the services (up to
 * ~80 pooled connections under load) and other people's runs share: wait (bounded) until the
 * services' idle pool connections have closed (node-postgres closes them after 30 s idle).
 */
async function waitForConnections(db: pg.Client, needed: number, maxSeconds = 45): Promise<number> {
  const started = Date.now();
  for (;;) {
    const c = await freeConnections(db);
    if (c.free >= needed) return Math.round((Date.now() - started) / 1000);
    if (Date.now() - started > maxSeconds * 1000) {
      log(`only ${c.free} free Postgres connections (max ${c.max}; this run ${c.ours}, others ${c.others}), wanted ${needed}: measuring anyway`);
      return maxSeconds;
    }
    await sleep(1000);
  }
}

/**
 * autocannon stops with requests in flight and the services finish them afterwards: wait (bounded)
 * until no sale is pending or reserved, so that the next measurement starts on an idle system.
 */
async function waitSalesSettled(db: pg.Client, maxSeconds = 30): Promise<void> {
  const started = Date.now();
  for (;;) {
    const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM sales.sales WHERE status IN ('pending', 'reserved')");
    if (rows[0]!.n === 0) return;
    if (Date.now() - started > maxSeconds * 1000) {
      log(`${rows[0]!.n} sales still in flight after ${maxSeconds} s; going on`);
      return;
    }
    await sleep(200);
  }
}

async function apiSales(db: pg.Client): Promise<number> {
  const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM sales.sales WHERE idempotency_key NOT LIKE 'pgbench:%'");
  return rows[0]!.n;
}

/** Database-wide counters, to express the API path's work per checkout. */
async function dbCounters(db: pg.Client): Promise<{ commits: number; rollbacks: number; inserted: number; updated: number; deleted: number }> {
  const { rows } = await db.query<{ commits: string; rollbacks: string; inserted: string; updated: string; deleted: string }>(
    `SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()) AS commits,
            (SELECT xact_rollback FROM pg_stat_database WHERE datname = current_database()) AS rollbacks,
            sum(n_tup_ins) AS inserted, sum(n_tup_upd) AS updated, sum(n_tup_del) AS deleted
       FROM pg_stat_user_tables`,
  );
  const r = rows[0]!;
  return { commits: Number(r.commits), rollbacks: Number(r.rollbacks), inserted: Number(r.inserted), updated: Number(r.updated), deleted: Number(r.deleted) };
}
type Counters = Awaited<ReturnType<typeof dbCounters>>;
async function countersAfter(db: pg.Client, before: Counters, per: number) {
  // Cumulative statistics reach the shared counters when a backend goes idle (at most ~1 s later).
  await sleep(1500);
  const after = await dbCounters(db);
  const d = (k: keyof Counters) => (per ? r2((after[k] - before[k]) / per) : 0);
  return { commitsPer: d('commits'), rollbacksPer: d('rollbacks'), rowsInsertedPer: d('inserted'), rowsUpdatedPer: d('updated'), rowsDeletedPer: d('deleted') };
}

// ---- the two measurements ----------------------------------------------------------------------
/**
 * One closed-loop autocannon measurement of POST requests; every request gets a fresh
 * Idempotency-Key (so each one is a new sale, never a replay). Latency of 2xx answers, as
 * bench/lib/load.ts records it.
 */
async function measureCheckout(options: { title: string; url: string; connections: number; duration: number; headers: Record<string, string>; body: string }): Promise<Measurement> {
  let samples = new Float64Array(1 << 14);
  let count = 0;
  const instance = autocannon({
    title: options.title,
    url: options.url,
    connections: options.connections,
    duration: options.duration,
    timeout: 20, // above the gateway's 15 s upstream timeout, so a stuck sale shows as its 504
    headers: options.headers,
    requests: [
      {
        method: 'POST',
        path: '/api/v1/transactions',
        body: options.body,
        setupRequest: (req) => ({ ...req, headers: { ...req.headers, 'idempotency-key': randomUUID() } }),
      },
    ],
  });
  activeInstances.add(instance);
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    if (statusCode < 200 || statusCode > 299) return;
    if (count === samples.length) {
      const grown = new Float64Array(samples.length * 2);
      grown.set(samples);
      samples = grown;
    }
    samples[count++] = responseTime;
  });
  const result = await instance;
  activeInstances.delete(instance);
  const kept = samples.slice(0, count);
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => [code, s.count]));
  return {
    title: options.title,
    durationSeconds: result.duration,
    responses: Object.values(statusCodes).reduce((a, b) => a + b, 0),
    ok: result['2xx'],
    non2xx: result.non2xx,
    socketErrors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    requestsPerSecond: result.duration ? Math.round(result['2xx'] / result.duration) : 0,
    latencyMs: latencySummary(kept),
    samples: kept,
  };
}

interface PgbenchRun {
  measurement: Measurement;
  /** pgbench's own figures. */
  tps: number;
  processed: number;
  failed: number;
  latencyAverageMs: number;
  initialConnectionMs: number;
  aborted: boolean;
  stderrTail: string;
}

/**
 * pgbench with the checkout script; latency percentiles from its per-transaction log. With `cpu`,
 * CPU is taken over a window inside the run (from 1 s after the start, when its connections are
 * open, to 0.5 s before the end): pgbench's own backends start and exit with it, so snapshots
 * before and after the run would not see them.
 */
async function runPgbench(title: string, vars: Record<string, string>, clients: number, seconds: number, keepLog: boolean, cpu?: CpuGroup[]): Promise<PgbenchRun & { cpu?: CpuReport }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pos-bench-checkout-'));
  try {
    const argv = [
      '-n',
      '-h', pgUrl.hostname,
      '-p', pgUrl.port || '5432',
      '-U', PGBENCH_USER,
      '-M', PGBENCH_MODE,
      '-c', String(clients),
      '-j', String(Math.min(PGBENCH_THREADS, clients)),
      '-T', String(seconds),
      '-f', PGBENCH_SCRIPT,
      ...(keepLog ? ['-l', `--log-prefix=${path.join(dir, 'tx')}`] : []),
      ...Object.entries(vars).flatMap(([k, v]) => ['-D', `${k}=${v}`]),
      DB_NAME,
    ];
    const child = spawn('pgbench', argv, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, HOME: process.env.HOME, ...(process.env.PGPASSWORD ? { PGPASSWORD: process.env.PGPASSWORD } : {}) } });
    pgbenchChildren.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
    let cpuBefore: ReturnType<typeof snapshot> | undefined;
    let cpuAfter: ReturnType<typeof snapshot> | undefined;
    const timers = cpu && seconds >= 3 ? [setTimeout(() => (cpuBefore = snapshot(cpu)), 1000), setTimeout(() => (cpuAfter = snapshot(cpu)), (seconds - 0.5) * 1000)] : [];
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', (err) => reject(new Error(`pgbench could not start (${err.message}); install it with the Postgres client (apt-get install -y postgresql-client-15)`)));
      child.once('exit', (c) => resolve(c));
    });
    pgbenchChildren.delete(child);
    timers.forEach((t) => clearTimeout(t));
    const num = (re: RegExp) => {
      const m = re.exec(stdout);
      return m ? Number(m[1]) : NaN;
    };
    const tps = num(/^tps = ([\d.]+)/m);
    const processed = num(/number of transactions actually processed: (\d+)/);
    const failedMatch = num(/number of failed transactions: (\d+)/);
    if (!Number.isFinite(tps) || !Number.isFinite(processed)) {
      throw new Error(`pgbench ${code === null ? 'was stopped' : `exited with ${code}`} without results:\n${stderr.slice(-3000)}\n${stdout.slice(-2000)}`);
    }
    // Per-transaction log: client_id transaction_no time_us script_no time_epoch time_us (one file per thread).
    const latencies: number[] = [];
    let loggedFailures = 0;
    if (keepLog) {
      for (const f of readdirSync(dir).filter((n) => n.startsWith('tx.'))) {
        for (const line of readFileSync(path.join(dir, f), 'utf8').split('\n')) {
          const field = line.split(' ')[2];
          if (field === undefined || field === '') continue;
          const us = Number(field);
          if (Number.isFinite(us)) latencies.push(us / 1000);
          else loggedFailures++;
        }
      }
    }
    const samples = Float64Array.from(latencies);
    const failed = Number.isFinite(failedMatch) ? failedMatch : 0;
    const aborted = code !== 0 || /aborted/i.test(stderr);
    const measurement: Measurement = {
      title,
      durationSeconds: seconds,
      responses: processed + failed,
      ok: processed,
      non2xx: Math.max(failed, loggedFailures),
      socketErrors: aborted ? 1 : 0,
      timeouts: 0,
      statusCodes: { committed: processed, ...(failed ? { failed } : {}) },
      requestsPerSecond: Math.round(tps),
      latencyMs: latencySummary(samples),
      samples,
    };
    const window = cpuBefore && cpuAfter ? (cpuAfter.at - cpuBefore.at) / 1000 : 0;
    return {
      cpu: cpuBefore && cpuAfter ? cpuReport(cpuBefore, cpuAfter, Math.round(tps * window)) : undefined,
      measurement,
      tps: r2(tps),
      processed,
      failed,
      latencyAverageMs: num(/latency average = ([\d.]+) ms/),
      initialConnectionMs: num(/initial connection time = ([\d.]+) ms/),
      aborted,
      stderrTail: stderr.split('\n').filter(Boolean).slice(-5).join('\n'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- run -----------------------------------------------------------------------------------------
interface CheckoutRun {
  measurement: Measurement;
  cpu: CpuReport;
  perCheckout: Awaited<ReturnType<typeof countersAfter>>;
}
interface BaselineRun {
  pgbench: PgbenchRun;
  cpu: CpuReport;
  perTransaction: Awaited<ReturnType<typeof countersAfter>>;
  secondsWaitedForConnections: number;
}

interface SaleView {
  id: string;
  status: string;
  receiptNumber: number | null;
  lines: Array<{ productId: string; sku: string; name: string; quantity: number; unitPrice: { amount: number }; tax: { amount: number }; total: { amount: number }; taxRateBps: number }>;
  subtotal: { amount: number };
  taxTotal: { amount: number };
  total: { amount: number; currency: string };
  changeDue?: { amount: number };
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const loadBefore = os.loadavg();
  log(`${os.cpus().length} cores, load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}; Node ${process.version}`);
  const pgbenchVersion = execFileSync('pgbench', ['--version'], { encoding: 'utf8' }).trim();
  log(`fresh database ${DB_NAME} and Redis ${REDIS_URL}; ${pgbenchVersion}`);
  await resetDatabase();
  await flushRedis();

  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const logDir = path.join(root, 'bench/logs', `${stamp}-checkout`);
  mkdirSync(logDir, { recursive: true });
  const logFile = (name: string) => path.join(logDir, `${name}.log`);

  const [authPort, inventoryPort, paymentPort, transactionPort, gatewayPort, nobodyPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort()]);
  // One fresh secret per service client, all known to auth-service (as scripts/start.mjs does).
  const clients = ['inventory-service', 'payment-service', 'transaction-service'];
  const secrets = Object.fromEntries(clients.map((c) => [c, randomBytes(24).toString('base64url')]));
  const nobody = `http://127.0.0.1:${nobodyPort}`; // services not under test: nothing listens there
  // Production mode, so every setting is explicit (as in a deployment); secrets are fresh per run.
  const common: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    TSX_TSCONFIG_PATH: path.join(root, 'tsconfig.dev.json'),
    REDIS_URL,
    DATABASE_URL: `postgres://pos_app@${PG_HOST}/${DB_NAME}`,
    WORKER_DATABASE_URL: `postgres://pos_worker@${PG_HOST}/${DB_NAME}`,
    AUTH_SERVICE_URL: `http://127.0.0.1:${authPort}`,
    INVENTORY_SERVICE_URL: `http://127.0.0.1:${inventoryPort}`,
    PAYMENT_SERVICE_URL: `http://127.0.0.1:${paymentPort}`,
    TRANSACTION_SERVICE_URL: `http://127.0.0.1:${transactionPort}`,
    CUSTOMER_SERVICE_URL: nobody,
    NOTIFICATION_SERVICE_URL: nobody,
    JWT_ISSUER: 'cloud-pos-auth',
    // MongoDB holds derived data only (audit trail, sales analytics); there is none on this machine,
    // so its consumers are off and nothing connects to a stray one.
    MONGODB_URI: `mongodb://127.0.0.1:${nobodyPort}`,
    AUDIT_CONSUMER_ENABLED: 'false',
    ANALYTICS_CONSUMER_ENABLED: 'false',
    LOG_TO_MONGO: 'false',
  };
  const client = (id: string): NodeJS.ProcessEnv => ({ SERVICE_CLIENT_ID: id, SERVICE_CLIENT_SECRET: secrets[id] });

  log('starting auth-service, inventory-service, payment-service, transaction-service, api-gateway');
  const auth = startNode({
    name: 'auth-service',
    logFile: logFile('auth-service'),
    port: authPort,
    cwd: root,
    nodeArgs: serviceCommand('auth-service'),
    env: { ...common, PORT: String(authPort), SIGNING_KEY_SECRET: randomBytes(32).toString('base64url'), SERVICE_CLIENTS: clients.map((c) => `${c}:${secrets[c]}`).join(',') },
  });
  await waitReady(auth);
  const inventory = startNode({ name: 'inventory-service', logFile: logFile('inventory-service'), port: inventoryPort, cwd: root, nodeArgs: serviceCommand('inventory-service'), env: { ...common, PORT: String(inventoryPort), ...client('inventory-service') } });
  const payment = startNode({
    name: 'payment-service',
    logFile: logFile('payment-service'),
    port: paymentPort,
    cwd: root,
    nodeArgs: serviceCommand('payment-service'),
    env: { ...common, PORT: String(paymentPort), GIFT_CARD_CODE_SECRET: randomBytes(32).toString('base64url'), ...client('payment-service') },
  });
  const transaction = startNode({ name: 'transaction-service', logFile: logFile('transaction-service'), port: transactionPort, cwd: root, nodeArgs: serviceCommand('transaction-service'), env: { ...common, PORT: String(transactionPort), ...client('transaction-service') } });
  await Promise.all([waitReady(inventory), waitReady(payment), waitReady(transaction)]);
  const gateway = startNode({
    name: 'api-gateway',
    logFile: logFile('api-gateway'),
    port: gatewayPort,
    cwd: root,
    nodeArgs: serviceCommand('api-gateway'),
    env: {
      ...common,
      PORT: String(gatewayPort),
      // The benchmark measures speed, not the limiter: the limits stay on (their Redis round trips
      // are part of every request) but far above what the run can send.
      RATE_LIMIT_PER_USER: '100000000',
      RATE_LIMIT_PER_IP: '100000000',
      RATE_LIMIT_LOGIN_PER_IP: '1000',
    },
  });
  await waitReady(gateway);
  const api = `${gateway.url}/api/v1`;

  // ---- seed through the API ---------------------------------------------------------------------
  const reg = await call<{ accessToken: string; refreshToken: string; tenant: { id: string }; store: { id: string; currency?: string }; user: { id: string } }>(`${api}/auth/register`, {
    method: 'POST',
    expect: 201,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tenantName: 'Bench Checkout', storeName: 'Bench Till', email: `owner-${stamp.toLowerCase()}@bench.pos`, password: 'bench-password-123', name: 'Bench Owner' }),
  });
  let session = { accessToken: reg.accessToken, refreshToken: reg.refreshToken };
  const tenantId = reg.tenant.id;
  const storeId = reg.store.id;
  const json = () => ({ 'content-type': 'application/json', authorization: `Bearer ${session.accessToken}` });
  const productSpecs = [
    { sku: 'BENCH-COFFEE', name: 'Bench coffee beans 500 g', price: 1299, taxRateBps: 825 },
    { sku: 'BENCH-MILK', name: 'Bench milk 1 l', price: 199, taxRateBps: 0 },
    { sku: 'BENCH-MUG', name: 'Bench mug', price: 849, taxRateBps: 2000 },
  ];
  const products: Array<{ id: string; sku: string; name: string }> = [];
  for (const p of productSpecs) {
    const created = await call<{ id: string }>(`${api}/products`, {
      method: 'POST',
      expect: 201,
      headers: json(),
      body: JSON.stringify({ sku: p.sku, name: p.name, price: { amount: p.price, currency: 'USD' }, taxRateBps: p.taxRateBps }),
    });
    products.push({ id: created.id, sku: p.sku, name: p.name });
  }
  // Lines in ascending product id: the order inventory-service locks the levels in, and the order
  // the pgbench script updates them in.
  products.sort((a, b) => a.id.localeCompare(b.id));
  for (const p of products) {
    await call(`${api}/stock/adjustments`, {
      method: 'POST',
      expect: 201,
      headers: { ...json(), 'idempotency-key': randomUUID() },
      body: JSON.stringify({ storeId, productId: p.id, quantity: STOCK, reason: 'receive', note: 'bench stock' }),
    });
  }
  const shift = await call<{ id: string }>(`${api}/shifts`, {
    method: 'POST',
    expect: 201,
    headers: json(),
    body: JSON.stringify({ storeId, openingFloat: { amount: 10_000, currency: 'USD' } }),
  });
  log(`seeded: tenant ${tenantId}, store ${storeId}, 3 products with ${STOCK.toLocaleString('en-US')} units each, the owner's shift ${shift.id}`);

  // One sale to learn the total (prices and tax come from the server), then the benchmark body:
  // the same 3 lines paid in cash with the next whole 10.00 (change given, as at a till).
  const lines = products.map((p) => ({ productId: p.id, quantity: 1 }));
  const probeTotal = await call<SaleView>(`${api}/transactions`, {
    method: 'POST',
    expect: 201,
    headers: { ...json(), 'idempotency-key': randomUUID() },
    body: JSON.stringify({ storeId, lines, tenders: [{ method: 'cash', amount: { amount: 100_000, currency: 'USD' } }] }),
  });
  const total = probeTotal.total.amount;
  const cash = Math.ceil(total / 1000) * 1000;
  const body = JSON.stringify({ storeId, lines, tenders: [{ method: 'cash', amount: { amount: cash, currency: 'USD' } }] });
  const probe = await call<SaleView>(`${api}/transactions`, { method: 'POST', expect: 201, headers: { ...json(), 'idempotency-key': randomUUID() }, body });
  if (probe.status !== 'completed' || probe.total.amount !== total) throw new Error(`the probe sale is ${probe.status} with total ${probe.total.amount} (expected completed, ${total})`);
  log(`a sale: ${probe.lines.length} lines, total ${(total / 100).toFixed(2)} USD, paid ${(cash / 100).toFixed(2)} in cash, change ${((cash - total) / 100).toFixed(2)}; receipt ${probe.receiptNumber}`);

  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    // The pgbench script's variables: this tenant's rows and the probe sale's numbers.
    const { rows: envelopeRows } = await admin.query<{ envelope: string }>(
      "SELECT envelope::text AS envelope FROM sales.outbox WHERE type = 'sale.completed' AND envelope->'data'->>'id' = $1",
      [probe.id],
    );
    if (!envelopeRows[0]) throw new Error('the probe sale left no sale.completed event in sales.outbox');
    const byProduct = new Map(probe.lines.map((l) => [l.productId, l]));
    const vars: Record<string, string> = {
      tenant: tenantId,
      store: storeId,
      shift: shift.id,
      cashier: reg.user.id,
      currency: probe.total.currency,
      subtotal: String(probe.subtotal.amount),
      taxtotal: String(probe.taxTotal.amount),
      total: String(total),
      change: String(cash - total),
      envelope: envelopeRows[0].envelope,
    };
    products.forEach((p, i) => {
      const l = byProduct.get(p.id)!;
      Object.assign(vars, {
        [`product${i + 1}`]: p.id,
        [`sku${i + 1}`]: l.sku,
        [`name${i + 1}`]: l.name,
        [`price${i + 1}`]: String(l.unitPrice.amount),
        [`taxbps${i + 1}`]: String(l.taxRateBps),
        [`tax${i + 1}`]: String(l.tax.amount),
        [`linetotal${i + 1}`]: String(l.total.amount),
      });
    });
    // The script must run cleanly before it is measured.
    const check = await runPgbench('check', vars, 1, 1, false);
    if (check.aborted || check.processed < 1) throw new Error(`the pgbench script did not run cleanly:\n${check.stderrTail}`);

    const headersFor = () => ({ 'content-type': 'application/json', authorization: `Bearer ${session.accessToken}` });
    const refresh = async () => {
      // Access tokens live 15 minutes: a fresh one before each measurement keeps long runs valid.
      const next = await call<{ accessToken: string; refreshToken: string }>(`${api}/auth/refresh`, {
        method: 'POST',
        expect: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refreshToken: session.refreshToken }),
      });
      session = { accessToken: next.accessToken, refreshToken: next.refreshToken };
    };

    const pid = (p: Proc) => () => (p.child.pid ? [p.child.pid] : []);
    const serviceGroups: CpuGroup[] = [
      { name: 'api-gateway', pids: pid(gateway) },
      { name: 'transaction-service', pids: pid(transaction) },
      { name: 'inventory-service', pids: pid(inventory) },
      { name: 'payment-service', pids: pid(payment) },
      { name: 'auth-service', pids: pid(auth) },
    ];
    const shared: CpuGroup[] = [
      { name: 'postgres (all backends)', pids: () => pidsByName('postgres') },
      { name: 'redis-server', pids: () => pidsByName('redis-server') },
    ];
    const checkoutGroups = [...serviceGroups, ...shared];
    const baselineGroups: CpuGroup[] = [{ name: 'pgbench', pids: () => pidsByName('pgbench') }, ...shared, { name: 'services (idle)', pids: () => serviceGroups.flatMap((g) => g.pids()) }];

    const checkoutRuns: CheckoutRun[] = [];
    const baselineRuns: BaselineRun[] = [];
    const quietWaits: number[] = [];
    const connectionsAtStart = await freeConnections(admin);
    const titleCheckout = 'checkout through the gateway (3 lines, cash)';
    const titleBaseline = `pgbench, the same sale as one SQL transaction (-M ${PGBENCH_MODE})`;

    const doCheckout = async (round: number) => {
      await refresh();
      quietWaits.push(await waitForQuiet());
      // The services' pools may open up to ~80 connections under this load (20 each for transaction-,
      // inventory- and payment-service, 10 for auth-service, their relays): leave them some room.
      await waitForConnections(admin, 40);
      if (WARMUP) await measureCheckout({ title: 'warm-up', url: gateway.url, connections: CONNECTIONS, duration: WARMUP, headers: headersFor(), body });
      await waitSalesSettled(admin);
      log(`round ${round}/${ROUNDS}: ${titleCheckout}, ${CONNECTIONS} connections, ${DURATION} s`);
      const salesBefore = await apiSales(admin);
      const counters = await dbCounters(admin);
      const before = snapshot(checkoutGroups);
      const m = await measureCheckout({ title: titleCheckout, url: gateway.url, connections: CONNECTIONS, duration: DURATION, headers: headersFor(), body });
      const cpu = cpuReport(before, snapshot(checkoutGroups), m.ok);
      await waitSalesSettled(admin);
      // Per sale the run created: those still in flight when autocannon stopped finished meanwhile.
      const perCheckout = await countersAfter(admin, counters, (await apiSales(admin)) - salesBefore);
      checkoutRuns.push({ measurement: m, cpu, perCheckout });
      log(`  ${m.requestsPerSecond} checkouts/s, p50 ${m.latencyMs.p50} ms, p99 ${m.latencyMs.p99} ms, errors ${errorsOf(m)}${errorsOf(m) ? ` ${JSON.stringify(m.statusCodes)}` : ''}`);
    };
    // Other people's test runs open and close Postgres connections all the time: a pgbench that
    // found the server full is tried again (bounded) once connections are free.
    const pgbenchWhenConnectionsFree = async (...a: Parameters<typeof runPgbench>) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await runPgbench(...a);
        } catch (err) {
          if (attempt >= 4 || !/too many clients|remaining connection slots/i.test((err as Error).message)) throw err;
          log(`pgbench found Postgres full (max_connections, shared with other runs); waiting and trying again (${attempt}/3)`);
          await sleep(5000);
          await waitForConnections(admin, PGBENCH_CLIENTS + 2);
        }
      }
    };
    const doBaseline = async (round: number) => {
      quietWaits.push(await waitForQuiet());
      const waited = await waitForConnections(admin, PGBENCH_CLIENTS + 2);
      if (WARMUP) await pgbenchWhenConnectionsFree('warm-up', vars, PGBENCH_CLIENTS, WARMUP, false);
      log(`round ${round}/${ROUNDS}: ${titleBaseline}, ${PGBENCH_CLIENTS} clients, ${PGBENCH_THREADS} threads, ${DURATION} s`);
      const counters = await dbCounters(admin);
      const before = snapshot(baselineGroups);
      const run = await pgbenchWhenConnectionsFree(titleBaseline, vars, PGBENCH_CLIENTS, DURATION, true, baselineGroups);
      const cpu = run.cpu ?? cpuReport(before, snapshot(baselineGroups), run.processed);
      const perTransaction = await countersAfter(admin, counters, run.processed);
      baselineRuns.push({ pgbench: run, cpu, perTransaction, secondsWaitedForConnections: waited });
      log(`  ${run.tps} tps, p50 ${run.measurement.latencyMs.p50} ms, p99 ${run.measurement.latencyMs.p99} ms, failed ${run.failed}${run.aborted ? `, ABORTED:\n${run.stderrTail}` : ''}`);
    };
    for (let round = 1; round <= ROUNDS; round++) {
      // Alternate the order, so drift on a shared machine does not favour one side.
      if (round % 2) {
        await doCheckout(round);
        await doBaseline(round);
      } else {
        await doBaseline(round);
        await doCheckout(round);
      }
    }

    // One connection: what a single till waits for a checkout when nothing queues in front of it.
    // (With 50 connections in a closed loop, mean latency = 50 / throughput: that part is queueing.)
    let single: Measurement | undefined;
    if (SINGLE) {
      await refresh();
      quietWaits.push(await waitForQuiet());
      log(`checkouts over 1 connection, ${SINGLE} s`);
      single = await measureCheckout({ title: 'checkout, 1 connection (no queueing)', url: gateway.url, connections: 1, duration: SINGLE, headers: headersFor(), body });
      await waitSalesSettled(admin);
      log(`  ${single.requestsPerSecond} checkouts/s, p50 ${single.latencyMs.p50} ms, p99 ${single.latencyMs.p99} ms, errors ${errorsOf(single)}`);
    }

    // ---- checks: every 2xx is one completed sale, stock adds up ---------------------------------
    await sleep(1000);
    const { rows: saleRows } = await admin.query<{ source: string; status: string; n: number }>(
      `SELECT CASE WHEN idempotency_key LIKE 'pgbench:%' THEN 'pgbench' ELSE 'api' END AS source, status, count(*)::int AS n
         FROM sales.sales WHERE tenant_id = $1 GROUP BY 1, 2 ORDER BY 1, 2`,
      [tenantId],
    );
    const { rows: stockRows } = await admin.query<{ product_id: string; on_hand: number; moved: number }>(
      `SELECT l.product_id, l.on_hand, (SELECT COALESCE(sum(quantity), 0)::int FROM inventory.stock_movements m WHERE m.level_id = l.id) AS moved
         FROM inventory.stock_levels l WHERE l.tenant_id = $1`,
      [tenantId],
    );
    const { rows: payRows } = await admin.query<{ n: number }>("SELECT count(*)::int AS n FROM payments.payments WHERE tenant_id = $1 AND status = 'captured'", [tenantId]);
    const sales = Object.fromEntries(saleRows.map((r) => [`${r.source} ${r.status}`, r.n]));
    const apiCompleted = sales['api completed'] ?? 0;
    const pgbenchCompleted = sales['pgbench completed'] ?? 0;
    const okApi = checkoutRuns.reduce((a, r) => a + r.measurement.ok, 0) + (single?.ok ?? 0);
    const ledgerConsistent = stockRows.length === 3 && stockRows.every((s) => s.on_hand === s.moved && s.on_hand === STOCK - apiCompleted - pgbenchCompleted);
    const checks = {
      salesByStatus: sales,
      apiAnswered2xx: okApi,
      /** Completed API sales: the 2xx answers of the measurements and warm-ups, plus the two probes. */
      apiCompleted,
      apiUnfinished: (sales['api pending'] ?? 0) + (sales['api reserved'] ?? 0),
      apiFailed: sales['api failed'] ?? 0,
      pgbenchCommitted: pgbenchCompleted,
      capturedPayments: payRows[0]!.n,
      stock: stockRows.map((s) => ({ productId: s.product_id, onHand: s.on_hand, sumOfMovements: s.moved })),
      ledgerConsistent,
    };
    log(`checks: ${JSON.stringify(sales)}; ${payRows[0]!.n} captured payments; stock = ${STOCK} - sales, = sum of its movements: ${ledgerConsistent ? 'yes' : 'NO'}`);

    // ---- results ----------------------------------------------------------------------------------
    const checkout = combine(titleCheckout, checkoutRuns.map((r) => r.measurement));
    const baseline = combine(titleBaseline, baselineRuns.map((r) => r.pgbench.measurement));
    const pgbenchTps = baselineRuns.reduce((a, r) => a + r.pgbench.tps, 0) / baselineRuns.length;
    const checkoutTps = checkout.durationSeconds ? checkout.ok / checkout.durationSeconds : 0;
    const ratio = pgbenchTps ? checkoutTps / pgbenchTps : 0;
    const roundRatios = checkoutRuns.map((r, i) => r.measurement.ok / (r.measurement.durationSeconds || 1) / (baselineRuns[i]!.pgbench.tps || 1));
    const errors = errorsOf(checkout) + (single ? errorsOf(single) : 0);
    const pgbenchProblems = baselineRuns.some((r) => r.pgbench.aborted || r.pgbench.failed > 0);
    const goals = {
      ratio: { goal: `>= ${GOAL_RATIO}`, measured: Number(ratio.toFixed(3)), met: ratio >= GOAL_RATIO },
      p99: { goal: `< ${GOAL_P99_MS} ms`, measuredMs: checkout.latencyMs.p99, met: checkout.latencyMs.p99 < GOAL_P99_MS },
    };
    const loadAfter = os.loadavg();
    const allCpu = [...checkoutRuns.map((r) => r.cpu), ...baselineRuns.map((r) => r.cpu)];
    const maxOther = Math.max(...allCpu.map((c) => c.otherCores ?? 0));
    const noisy = maxOther > NOISY_OTHER_CORES;
    const averageCpu = (list: CpuReport[]) => {
      const out: Record<string, { cores: number; msPerRequest: number }> = {};
      for (const name of Object.keys(list[0]!.cores)) {
        out[name] = {
          cores: r2(list.reduce((a, c) => a + c.cores[name]!, 0) / list.length),
          msPerRequest: Number((list.reduce((a, c) => a + c.msPerRequest[name]!, 0) / list.length).toFixed(3)),
        };
      }
      return out;
    };
    const averageCounters = (list: Array<CheckoutRun['perCheckout']>) =>
      Object.fromEntries(Object.keys(list[0]!).map((k) => [k, r2(list.reduce((a, c) => a + c[k as keyof typeof c], 0) / list.length)])) as CheckoutRun['perCheckout'];
    const strip = ({ samples: _samples, ...m }: Measurement) => m;
    const cpuCheckout = averageCpu(checkoutRuns.map((r) => r.cpu));
    const cpuBaseline = averageCpu(baselineRuns.map((r) => r.cpu));
    const perCheckout = averageCounters(checkoutRuns.map((r) => r.perCheckout));
    const perTransaction = averageCounters(baselineRuns.map((r) => r.perTransaction));
    const valid = errors === 0 && !pgbenchProblems && checks.apiUnfinished === 0 && checks.apiFailed === 0 && ledgerConsistent;

    const result = {
      benchmark: 'checkout (3 lines, cash) through the gateway vs the same sale as one SQL transaction in pgbench',
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model,
        memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
        node: process.version,
        pgbench: pgbenchVersion,
        platform: `${os.platform()} ${os.release()}`,
        loadAverageBefore: loadBefore.map((l) => r2(l)),
        loadAverageAfter: loadAfter.map((l) => r2(l)),
        postgresConnectionsAtStart: connectionsAtStart,
        note: 'load generator, pgbench, the five services, Postgres and Redis share these cores',
      },
      settings: {
        connections: CONNECTIONS,
        durationSeconds: DURATION,
        warmupSeconds: WARMUP,
        rounds: ROUNDS,
        singleConnectionSeconds: SINGLE,
        quietWaitSeconds: QUIET_WAIT,
        runtime: args.src ? 'tsx (sources)' : 'node dist (built)',
        request: `POST /api/v1/transactions, 3 lines (quantity 1 each), one cash tender of ${cash} (total ${total}, change ${cash - total}), owner token, one open shift shared by all connections, a fresh Idempotency-Key per request`,
        pgbench: {
          script: 'bench/checkout-pgbench.sql',
          mode: PGBENCH_MODE,
          clients: PGBENCH_CLIENTS,
          threads: PGBENCH_THREADS,
          user: PGBENCH_USER,
          rowLevelSecurity: PGBENCH_USER === 'postgres' ? 'not applied (superuser)' : 'applied (app.tenant_id set per transaction)',
        },
        mongo: 'none: audit and analytics consumers off (derived data, not on the request path)',
      },
      goals,
      valid,
      noisy,
      results: {
        checkout: strip(checkout),
        pgbench: { ...strip(baseline), tps: r2(pgbenchTps) },
        checkoutsPerSecond: r2(checkoutTps),
        singleConnection: single ? strip(single) : null,
        ratio: Number(ratio.toFixed(3)),
      },
      work: {
        perCheckout,
        perPgbenchTransaction: perTransaction,
        note: 'database-wide deltas (pg_stat_database commits, pg_stat_user_tables row inserts/updates) divided by the successful checkouts / pgbench transactions; includes the outbox relays and whatever else the services did meanwhile',
      },
      checks,
      rounds: checkoutRuns.map((r, i) => ({
        round: i + 1,
        order: i % 2 ? 'pgbench first' : 'checkout first',
        checkout: strip(r.measurement),
        pgbench: { ...strip(baselineRuns[i]!.pgbench.measurement), tps: baselineRuns[i]!.pgbench.tps, latencyAverageMs: baselineRuns[i]!.pgbench.latencyAverageMs, initialConnectionMs: baselineRuns[i]!.pgbench.initialConnectionMs, failed: baselineRuns[i]!.pgbench.failed, aborted: baselineRuns[i]!.pgbench.aborted },
        ratio: Number(roundRatios[i]!.toFixed(3)),
        secondsWaitedForPostgresConnections: baselineRuns[i]!.secondsWaitedForConnections,
      })),
      cpu: {
        checkout: cpuCheckout,
        pgbench: cpuBaseline,
        machineBusy: { checkout: checkoutRuns.map((r) => r.cpu.machineBusy), pgbench: baselineRuns.map((r) => r.cpu.machineBusy) },
        otherCores: { checkout: checkoutRuns.map((r) => r.cpu.otherCores), pgbench: baselineRuns.map((r) => r.cpu.otherCores) },
        otherProcesses: { checkout: checkoutRuns.map((r) => r.cpu.otherProcesses), pgbench: baselineRuns.map((r) => r.cpu.otherProcesses) },
        secondsWaitedForQuiet: quietWaits,
      },
    };

    // ---- report ------------------------------------------------------------------------------------
    const row = (m: Measurement, perSecond: number) => `| ${m.title} | ${Math.round(perSecond)} | ${m.latencyMs.p50} | ${m.latencyMs.p97_5} | ${m.latencyMs.p99} | ${m.latencyMs.max} | ${errorsOf(m)} |`;
    const yes = (b: boolean) => (b ? 'met' : '**not met**');
    const cpuRows = (name: string, c: Record<string, { cores: number; msPerRequest: number }>) =>
      Object.entries(c)
        .map(([k, v]) => `| ${name} | ${k} | ${v.cores} | ${v.msPerRequest} |`)
        .join('\n');
    const others = (list: CpuReport[]) =>
      list
        .map((c) => `${c.otherCores ?? '?'}${Object.keys(c.otherProcesses ?? {}).length ? ` (${Object.entries(c.otherProcesses!).map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}`)
        .join(', ');
    const table = `### Checkout, 3 lines cash, ${CONNECTIONS} connections, ${ROUNDS} x ${DURATION} s (${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC)

| measurement | per s | p50 ms | p97.5 ms | p99 ms | max ms | errors |
|---|---:|---:|---:|---:|---:|---:|
${row(checkout, checkoutTps)}
${row(baseline, pgbenchTps)}${single ? `\n${row(single, single.ok / (single.durationSeconds || 1))}` : ''}

| goal | measured | |
|---|---:|---|
| checkouts/s / pgbench tps >= ${GOAL_RATIO} | ${ratio.toFixed(3)} (rounds: ${roundRatios.map((r) => r.toFixed(3)).join(', ')}) | ${yes(goals.ratio.met)} |
| checkout p99 < ${GOAL_P99_MS} ms | ${checkout.latencyMs.p99} ms | ${yes(goals.p99.met)} |

| round (order) | checkouts/s | pgbench tps | ratio | checkout p99 ms | pgbench p99 ms | other cores checkout / pgbench |
|---|---:|---:|---:|---:|---:|---|
${checkoutRuns
  .map((r, i) => {
    const b = baselineRuns[i]!;
    return `| ${i + 1} (${i % 2 ? 'pgbench first' : 'checkout first'}) | ${Math.round(r.measurement.ok / (r.measurement.durationSeconds || 1))} | ${b.pgbench.tps} | ${roundRatios[i]!.toFixed(3)} | ${r.measurement.latencyMs.p99} | ${b.pgbench.measurement.latencyMs.p99} | ${r.cpu.otherCores ?? '?'} / ${b.cpu.otherCores ?? '?'} |`;
  })
  .join('\n')}

| per unit of work | commits | rows inserted | rows updated | rows deleted |
|---|---:|---:|---:|---:|
| one checkout through the API | ${perCheckout.commitsPer} | ${perCheckout.rowsInsertedPer} | ${perCheckout.rowsUpdatedPer} | ${perCheckout.rowsDeletedPer} |
| one pgbench transaction | ${perTransaction.commitsPer} | ${perTransaction.rowsInsertedPer} | ${perTransaction.rowsUpdatedPer} | ${perTransaction.rowsDeletedPer} |

| measurement | component | CPU cores used | CPU ms per checkout / transaction |
|---|---|---:|---:|
${cpuRows('checkout', cpuCheckout)}
${cpuRows('pgbench', cpuBaseline)}

${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}, ${pgbenchVersion} (-M ${PGBENCH_MODE}, -c ${PGBENCH_CLIENTS} -j ${PGBENCH_THREADS}, as ${PGBENCH_USER}); load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')}; machine busy during checkout ${result.cpu.machineBusy.checkout.map((b) => `${Math.round((b ?? 0) * 100)}%`).join(', ')}, pgbench ${result.cpu.machineBusy.pgbench.map((b) => `${Math.round((b ?? 0) * 100)}%`).join(', ')}; cores used by other processes (checkout / pgbench): ${others(checkoutRuns.map((r) => r.cpu))} / ${others(baselineRuns.map((r) => r.cpu))}. Checks: ${checks.apiCompleted} API sales completed (${okApi} 2xx measured + warm-ups and probes), ${checks.apiFailed} failed, ${checks.apiUnfinished} unfinished; ${checks.pgbenchCommitted} pgbench sales; stock = ${STOCK.toLocaleString('en-US')} - all sales = sum of movements: ${ledgerConsistent ? 'yes' : '**no**'}.${noisy ? `\n\n**Noisy run:** other work on the machine used up to ${maxOther} cores during a measurement; compare with a quieter run before drawing conclusions.` : ''}${!valid ? `\n\n**Not a valid run:** ${errors} API errors (status codes ${JSON.stringify(checkout.statusCodes)})${pgbenchProblems ? `; pgbench failed or aborted (${baselineRuns.map((r) => r.pgbench.stderrTail).filter(Boolean).join(' / ')})` : ''}${checks.apiFailed || checks.apiUnfinished ? `; ${checks.apiFailed} failed and ${checks.apiUnfinished} unfinished API sales` : ''}${ledgerConsistent ? '' : '; the stock ledger does not add up'}.` : ''}`;

    console.log(`\n${table}\n`);
    if (!args['no-write']) {
      const dir = path.join(root, 'bench/results');
      mkdirSync(dir, { recursive: true });
      const day = startedAt.toISOString().slice(0, 10);
      let file = path.join(dir, `${day}-checkout.json`);
      for (let n = 2; existsSync(file); n++) file = path.join(dir, `${day}-checkout-${n}.json`);
      writeFileSync(`${file}.tmp`, `${JSON.stringify({ ...result, markdown: table }, null, 2)}\n`);
      renameSync(`${file}.tmp`, file);
      log(`results written to ${path.relative(root, file)}`);
    }
  } finally {
    await admin.end();
  }
}

main().then(
  () => shutdown(0),
  (err: unknown) => shutdown(1, `benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`),
);
