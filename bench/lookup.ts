// Barcode lookup through the gateway with 10,000 products, against the ceiling of a bare Express
// route behind the same gateway, measured in the same run.
//
//   npm run bench                      (builds, then runs this file with tsx)
//   npm run bench -- --rounds 3 --duration 15
//
// Starts auth-service, inventory-service and two api-gateways as child processes on free ports of
// 127.0.0.1, on a database and Redis db of its own (recreated on every run); registers a tenant,
// imports the products, then alternates the two measurements (autocannon, closed loop) and writes
// bench/results/<date>-lookup.json and a Markdown table. Every child is stopped at the end, on
// error and on Ctrl-C. See docs/performance.md.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { Redis } from 'ioredis';
import { cpuReport, machineCpuMs, pidsByName, snapshot, type CpuGroup, type CpuReport } from './lib/cpu';
import { activeInstances, combine, errorsOf, measure, type Measurement } from './lib/load';
import { measurePaced } from './lib/paced';
import { firstJsonLine, freePort, killAllNow, startNode, stopAll, waitReady, whenAnyExitsUnexpectedly, type Proc } from './lib/processes';

const root = path.resolve(__dirname, '..');

// ---- options (every one bounded, so a run always ends by itself) ------------------------------
const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '2' },
    products: { type: 'string', default: '10000' },
    'quiet-wait': { type: 'string', default: '30' },
    rate: { type: 'string', default: '500' },
    src: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(`Usage: npm run bench -- [options]
  --duration <s>      seconds per measurement (default 10, 1-60)
  --warmup <s>        warm-up seconds before each measurement (default 3, 0-30)
  --connections <n>   concurrent connections (default 50, 1-500)
  --rounds <n>        alternating rounds of both measurements (default 2, 1-5)
  --products <n>      catalog size (default 10000, 1-10000)
  --rate <n>          after the rounds, both targets once more at this fixed rate (req/s, evenly
                      spaced, open loop) over at most the same number of connections: latency when
                      not saturated (default 500, 0 skips)
  --quiet-wait <s>    before each measurement, wait up to this long for other work on the machine
                      to stop (default 30, 0-300)
  --src               run the services from TypeScript sources with tsx (no build needed)
  --profile           also write V8 CPU profiles of gateway and inventory-service to bench/profiles/
                      (profiling slows them: such runs write no results file)
  --no-write          print the table only
Environment: BENCH_DATABASE (default pos_bench; dropped and recreated), BENCH_PG (127.0.0.1:5432),
  BENCH_REDIS_URL (redis://127.0.0.1:6379/2; flushed), BENCH_DATABASE_USER (postgres),
  BENCH_NODE_ARGS (extra node flags for the services, e.g. --trace-gc), BENCH_MONGODB_URI (a local
  MongoDB; default: the in-process stand-in of scripts/mongo-memory-server.mjs, as \`npm start\`). Service output: bench/logs/<run>/.`);
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
const CONNECTIONS = bounded('connections', args.connections, 1, 500);
const ROUNDS = bounded('rounds', args.rounds, 1, 5);
const PRODUCTS = bounded('products', args.products, 1, 10_000);
const QUIET_WAIT = bounded('quiet-wait', args['quiet-wait'], 0, 300);
const RATE = bounded('rate', args.rate, 0, 5_000);

// Goals from the inventory issue.
const GOAL_RATIO = 0.7;
const GOAL_P99_MS = 20;
/** A measurement during which other work used more than this many cores is flagged as noisy. */
const NOISY_OTHER_CORES = 0.3;

const DB_NAME = process.env.BENCH_DATABASE ?? 'pos_bench';
const PG_HOST = process.env.BENCH_PG ?? '127.0.0.1:5432';
const PG_ADMIN = process.env.BENCH_DATABASE_USER ?? 'postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/2';
if (!/^pos_bench[a-z0-9_]*$/.test(DB_NAME)) {
  console.error('BENCH_DATABASE must start with pos_bench (the benchmark drops and recreates it)');
  process.exit(2);
}
const redisDb = Number(new URL(REDIS_URL).pathname.slice(1) || 0);
if (redisDb < 2) {
  console.error('BENCH_REDIS_URL must name a Redis db of its own (2 or higher): the benchmark flushes it; 0 is `npm start`, 1 is `npm test`');
  process.exit(2);
}
for (const u of [`postgres://${PG_HOST}`, REDIS_URL]) {
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(new URL(u).hostname)) {
    console.error('The benchmark only talks to this machine: BENCH_PG and BENCH_REDIS_URL must be local');
    process.exit(2);
  }
}
const adminUrl = `postgres://${PG_ADMIN}@${PG_HOST}/${DB_NAME}`;
// MongoDB (audit, API usage): a real one if given, else the in-process stand-in `npm start` uses.
const MONGODB_URI = process.env.BENCH_MONGODB_URI;
if (MONGODB_URI && !/^mongodb:\/\/(?:[^@/]*@)?(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(MONGODB_URI)) {
  console.error('The benchmark only talks to this machine: BENCH_MONGODB_URI must be local');
  process.exit(2);
}
const MONGO_STAND_IN = path.join(root, 'scripts/mongo-memory-server.mjs');

// Nothing outlives the run: stop everything on Ctrl-C, on a crash, and after a hard time limit.
const budgetMs = 5 * 60_000 + (ROUNDS + 1) * 2 * (DURATION + WARMUP + 10 + QUIET_WAIT) * 1000;
let finishing = false;
/** Set on Ctrl-C, a crash or the time limit: measurements stop and nothing is reported or written. */
const abort = new AbortController();
async function shutdown(code: number, reason?: string): Promise<never> {
  if (!finishing) {
    finishing = true;
    abort.abort();
    if (reason) console.error(reason);
    for (const i of activeInstances) i.stop();
    console.error('stopping services...');
    await stopAll();
  }
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(130, '\ninterrupted'));
process.on('SIGTERM', () => void shutdown(143, '\nterminated'));
process.on('exit', killAllNow);
setTimeout(() => void shutdown(1, `the benchmark did not finish within its ${Math.round(budgetMs / 1000)} s budget`), budgetMs).unref();
whenAnyExitsUnexpectedly((p, code, signal) => void shutdown(1, `${p.name} stopped unexpectedly (${signal ?? `code ${code}`}):\n${p.tail()}`));

const log = (msg: string) => console.log(`[bench] ${msg}`);

// ---- setup ---------------------------------------------------------------------------------------
async function resetDatabase(): Promise<void> {
  const client = new pg.Client({ connectionString: `postgres://${PG_ADMIN}@${PG_HOST}/postgres` });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${DB_NAME}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
  const { execFileSync } = await import('node:child_process');
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

function serviceCommand(service: string, profileDir?: string, profileName = service): string[] {
  const flags = [
    ...(process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean),
    ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${profileName}.cpuprofile`] : []),
  ];
  if (args.src) return [...flags, '--import', 'tsx', path.join(root, `services/${service}/src/main.ts`)];
  const main = path.join(root, `services/${service}/dist/main.js`);
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first (\`npm run bench\` does), or pass --src`);
  return [...flags, main];
}

/**
 * A short hash of the code that ran (built JS of the services under test and the shared packages, or
 * their sources with --src), so a results file can be matched to a version without git.
 */
function codeFingerprint(): string {
  const hash = createHash('sha256');
  const sub = args.src ? 'src' : 'dist';
  const dirs = [...['auth-service', 'inventory-service', 'api-gateway'].map((s) => path.join(root, 'services', s, sub)), ...readdirSync(path.join(root, 'shared')).map((p) => path.join(root, 'shared', p, sub))];
  const walk = (dir: string): string[] =>
    existsSync(dir)
      ? readdirSync(dir, { withFileTypes: true })
          .sort((a, b) => a.name.localeCompare(b.name))
          .flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : /\.(js|ts)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [path.join(dir, e.name)] : []))
      : [];
  for (const file of dirs.flatMap(walk)) hash.update(path.relative(root, file)).update(readFileSync(file));
  return hash.digest('hex').slice(0, 12);
}

/** EAN-13 in the in-store range (prefix 20), with a valid check digit. */
function ean13(n: number): string {
  const body = `20${String(n).padStart(10, '0')}`;
  const sum = [...body].reduce((s, d, i) => s + Number(d) * (i % 2 ? 3 : 1), 0);
  return `${body}${(10 - (sum % 10)) % 10}`;
}

async function call(url: string, init: RequestInit & { expect: number }): Promise<unknown> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(180_000) });
  const text = await res.text();
  if (res.status !== init.expect) throw new Error(`${init.method ?? 'GET'} ${url} answered ${res.status} (expected ${init.expect}): ${text.slice(0, 1000)}`);
  return text ? JSON.parse(text) : undefined;
}

async function waitOutboxDrained(timeoutMs = 180_000): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await client.query<{ n: string }>(
        `SELECT (SELECT count(*) FROM inventory.outbox WHERE published_at IS NULL) + (SELECT count(*) FROM auth.outbox WHERE published_at IS NULL) AS n`,
      );
      if (Number(rows[0]!.n) === 0) return;
      if (Date.now() > deadline) throw new Error(`${rows[0]!.n} outbox events still unpublished after ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await client.end();
  }
}

/**
 * On a shared machine other work (someone's test run) skews a measurement: wait (bounded) until the
 * machine is mostly idle, measured over one second; returns the seconds waited (0 when quiet).
 */
async function waitForQuiet(maxSeconds = QUIET_WAIT, busyBelow = 0.25): Promise<number> {
  if (!maxSeconds) return 0;
  const started = Date.now();
  while (Date.now() - started < maxSeconds * 1000) {
    const a = machineCpuMs();
    await new Promise((r) => setTimeout(r, 1000));
    const b = machineCpuMs();
    if (!a || !b) return 0;
    const busy = (b.busy - a.busy) / (b.total - a.total || 1);
    if (busy < busyBelow) return Math.round((Date.now() - started) / 1000) - 1;
  }
  log(`the machine stayed busy for ${maxSeconds} s (other work running); measuring anyway`);
  return maxSeconds;
}

// ---- run -----------------------------------------------------------------------------------------
interface TargetRun {
  measurement: Measurement;
  cpu: CpuReport;
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const fingerprint = codeFingerprint();
  const loadBefore = os.loadavg();
  log(`${os.cpus().length} cores, load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}; Node ${process.version}`);
  log(`fresh database ${DB_NAME} and Redis ${REDIS_URL}`);
  await resetDatabase();
  await flushRedis();

  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  // Everything the children print goes to bench/logs/<run>/ (not committed), e.g. with
  // BENCH_NODE_ARGS=--trace-gc to see the services' garbage collections.
  const logDir = path.join(root, 'bench/logs', stamp);
  mkdirSync(logDir, { recursive: true });
  const logFile = (name: string) => path.join(logDir, `${name.replace(/[^a-z0-9-]+/gi, '-')}.log`);
  const profileDir = args.profile ? path.join(root, 'bench/profiles', stamp) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });

  const [authPort, inventoryPort, gatewayPort, barePort, bareGatewayPort, nobodyPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort()]);
  const clientSecret = randomBytes(24).toString('base64url');
  // Like `npm start`: without a MongoDB, the services get the stand-in (stopped after them, since
  // they flush to it on shutdown). Older checkouts without the stand-in script simply skip this.
  let mongoUri = MONGODB_URI;
  let mongo: Proc | undefined;
  if (!mongoUri && existsSync(MONGO_STAND_IN)) {
    mongo = startNode({
      name: 'mongo stand-in',
      port: 0,
      cwd: root,
      nodeArgs: [MONGO_STAND_IN],
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      pipeStdin: true,
      stopLast: true,
      logFile: logFile('mongo-stand-in'),
    });
    mongoUri = (await firstJsonLine<{ uri: string }>(mongo)).uri;
  }
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
    JWT_ISSUER: 'cloud-pos-auth',
    ...(mongoUri ? { MONGODB_URI: mongoUri, MONGODB_DB: 'pos_bench' } : {}),
  };
  const nobody = `http://127.0.0.1:${nobodyPort}`; // services not under test: nothing listens there
  const gatewayEnv = (inventoryUrl: string, port: number): NodeJS.ProcessEnv => ({
    ...common,
    PORT: String(port),
    INVENTORY_SERVICE_URL: inventoryUrl,
    TRANSACTION_SERVICE_URL: nobody,
    PAYMENT_SERVICE_URL: nobody,
    CUSTOMER_SERVICE_URL: nobody,
    NOTIFICATION_SERVICE_URL: nobody,
    // The benchmark measures speed, not the limiter: the limits stay on (their Redis round trips
    // are part of every request) but far above what the run can send.
    RATE_LIMIT_PER_USER: '100000000',
    RATE_LIMIT_PER_IP: '100000000',
  });

  log('starting auth-service, inventory-service, api-gateway');
  const auth = startNode({
    name: 'auth-service',
    logFile: logFile('auth-service'),
    port: authPort,
    cwd: root,
    nodeArgs: serviceCommand('auth-service'),
    env: { ...common, PORT: String(authPort), SIGNING_KEY_SECRET: randomBytes(32).toString('base64url'), SERVICE_CLIENTS: `inventory-service:${clientSecret}` },
  });
  await waitReady(auth);
  const inventory = startNode({
    name: 'inventory-service',
    logFile: logFile('inventory-service'),
    port: inventoryPort,
    cwd: root,
    nodeArgs: serviceCommand('inventory-service', profileDir),
    env: { ...common, PORT: String(inventoryPort), SERVICE_CLIENT_ID: 'inventory-service', SERVICE_CLIENT_SECRET: clientSecret },
  });
  await waitReady(inventory);
  const gateway = startNode({ name: 'api-gateway', logFile: logFile('api-gateway'), port: gatewayPort, cwd: root, nodeArgs: serviceCommand('api-gateway', profileDir), env: gatewayEnv(inventory.url, gatewayPort) });
  await waitReady(gateway);

  // Seed: a tenant (through the gateway, like a sign-up) and the catalog (straight to the service:
  // the import's 10 MB body is above the gateway's 1 MiB limit by design).
  const reg = (await call(`${gateway.url}/api/v1/auth/register`, {
    method: 'POST',
    expect: 201,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tenantName: 'Bench Grocer', storeName: 'Bench Store', email: `owner-${stamp.toLowerCase()}@bench.pos`, password: 'bench-password-123', name: 'Bench Owner' }),
  })) as { accessToken: string; tenant: { id: string } };
  const token = reg.accessToken;
  const barcodes = Array.from({ length: PRODUCTS }, (_, i) => ean13(i + 1));
  const rows = barcodes.map((barcode, i) => ({
    sku: `BENCH-${String(i + 1).padStart(5, '0')}`,
    name: `Bench product ${i + 1}`,
    price: { amount: 99 + ((i * 37) % 5000), currency: 'USD' },
    taxRateBps: [0, 500, 825, 2000][i % 4],
    barcodes: [barcode],
  }));
  log(`importing ${PRODUCTS} products`);
  const t0 = performance.now();
  const imported = (await call(`${inventory.url}/api/v1/products/import`, {
    method: 'POST',
    expect: 200,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(rows),
  })) as { total: number; created: number };
  if (imported.created !== PRODUCTS) throw new Error(`the import created ${imported.created} products, expected ${PRODUCTS}`);
  log(`imported in ${((performance.now() - t0) / 1000).toFixed(1)} s; waiting for the outbox relay to publish the ${PRODUCTS} events`);
  await waitOutboxDrained();

  // The bare upstream answers exactly what a real lookup answers, so both move the same bytes.
  const headers = { authorization: `Bearer ${token}` };
  const sampleRes = await fetch(`${gateway.url}/api/v1/products/lookup?barcode=${barcodes[0]}`, { headers });
  const sampleBody = await sampleRes.text();
  if (sampleRes.status !== 200) throw new Error(`a lookup through the gateway answered ${sampleRes.status}: ${sampleBody}`);

  log('starting the bare Express upstream and a second api-gateway in front of it');
  const bare = startNode({ name: 'bare-upstream', logFile: logFile('bare-upstream'), port: barePort, cwd: root, nodeArgs: [path.join(root, 'bench/bare-upstream.mjs')], env: { PATH: process.env.PATH, NODE_ENV: 'production', PORT: String(barePort), BENCH_PRODUCT_JSON: sampleBody } });
  await waitReady(bare, '/health');
  const bareGateway = startNode({ name: 'api-gateway (baseline)', logFile: logFile('api-gateway-baseline'), port: bareGatewayPort, cwd: root, nodeArgs: serviceCommand('api-gateway', profileDir, 'api-gateway-baseline'), env: gatewayEnv(bare.url, bareGatewayPort) });
  await waitReady(bareGateway);
  const bareCheck = await fetch(`${bareGateway.url}/api/v1/products/lookup?barcode=${barcodes[0]}`, { headers });
  const bareBody = await bareCheck.text();
  if (bareCheck.status !== 200 || bareBody !== sampleBody) throw new Error(`the baseline answered ${bareCheck.status} with a different body: ${bareBody.slice(0, 300)}`);
  const noToken = await fetch(`${bareGateway.url}/api/v1/products/lookup?barcode=${barcodes[0]}`);
  await noToken.body?.cancel();
  if (noToken.status !== 401) throw new Error(`the baseline gateway did not check the token (answered ${noToken.status} without one)`);

  // CPU accounting per component (Redis and Postgres are shared with anything else on the box).
  const groupsFor = (target: 'lookup' | 'bare'): CpuGroup[] => {
    const pid = (p: Proc) => () => (p.child.pid ? [p.child.pid] : []);
    return [
      { name: 'api-gateway', pids: pid(target === 'lookup' ? gateway : bareGateway) },
      target === 'lookup' ? { name: 'inventory-service', pids: pid(inventory) } : { name: 'bare upstream', pids: pid(bare) },
      { name: 'redis-server', pids: () => pidsByName('redis-server') },
      { name: 'postgres (all backends)', pids: () => pidsByName('postgres') },
      ...(mongo ? [{ name: 'mongo stand-in', pids: pid(mongo) }] : []),
    ];
  };

  const random = () => barcodes[Math.floor(Math.random() * barcodes.length)]!;
  const randomPath = () => `/api/v1/products/lookup?barcode=${random()}`;
  const targets = {
    lookup: { title: 'lookup through the gateway', url: gateway.url },
    bare: { title: 'bare Express route through the gateway (ceiling)', url: bareGateway.url },
  } as const;

  // Warm the lookup cache the way a store does over a day: every barcode once, in order.
  log(`cache warm-up: each of the ${PRODUCTS} barcodes looked up once`);
  let next = 0;
  const sweep = await measure({ title: 'sweep', url: gateway.url, connections: CONNECTIONS, amount: PRODUCTS, headers, nextPath: () => `/api/v1/products/lookup?barcode=${barcodes[next++ % barcodes.length]}` });
  if (sweep.ok !== PRODUCTS) throw new Error(`the warm-up sweep got ${sweep.ok} of ${PRODUCTS} products (status codes ${JSON.stringify(sweep.statusCodes)})`);

  const runs: Record<'lookup' | 'bare', TargetRun[]> = { lookup: [], bare: [] };
  // Measurement windows on the monotonic clock (microseconds), the clock V8 profiles use too: the
  // profile summary can then leave out start-up, import and warm-up.
  const windows: Record<'lookup' | 'bare', Array<[number, number]>> = { lookup: [], bare: [] };
  const quietWaits: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    // Alternate the order, so drift on a shared machine does not favour one side.
    const order: Array<'lookup' | 'bare'> = round % 2 ? ['bare', 'lookup'] : ['lookup', 'bare'];
    for (const key of order) {
      if (abort.signal.aborted) return;
      const target = targets[key];
      quietWaits.push(await waitForQuiet());
      if (WARMUP) await measure({ title: 'warm-up', url: target.url, connections: CONNECTIONS, duration: WARMUP, headers, nextPath: randomPath });
      log(`round ${round}/${ROUNDS}: ${target.title}, ${CONNECTIONS} connections, ${DURATION} s`);
      const groups = groupsFor(key);
      const before = snapshot(groups);
      const fromUs = Number(process.hrtime.bigint() / 1000n);
      const m = await measure({ title: target.title, url: target.url, connections: CONNECTIONS, duration: DURATION, headers, nextPath: randomPath });
      windows[key].push([fromUs, Number(process.hrtime.bigint() / 1000n)]);
      const cpu = cpuReport(before, snapshot(groups), m.ok);
      runs[key].push({ measurement: m, cpu });
      log(`  ${m.requestsPerSecond} req/s, p50 ${m.latencyMs.p50} ms, p99 ${m.latencyMs.p99} ms, errors ${errorsOf(m)}`);
    }
  }

  // The same two paths at a steady, unsaturated rate: what a register waits when the system is
  // not running flat out (closed-loop latency above is mostly queueing: connections / throughput).
  const atRate: Partial<Record<'lookup' | 'bare', Measurement>> = {};
  const atRateCpu: Partial<Record<'lookup' | 'bare', CpuReport>> = {};
  if (RATE) {
    for (const key of ['lookup', 'bare'] as const) {
      if (abort.signal.aborted) return;
      quietWaits.push(await waitForQuiet());
      log(`${targets[key].title} at a fixed ${RATE} req/s, ${CONNECTIONS} connections, ${DURATION} s`);
      const before = snapshot(groupsFor(key));
      const m = await measurePaced({ title: targets[key].title, url: targets[key].url, connections: CONNECTIONS, duration: DURATION, rate: RATE, headers, nextPath: randomPath, signal: abort.signal });
      atRateCpu[key] = cpuReport(before, snapshot(groupsFor(key)), m.ok);
      atRate[key] = m;
      log(`  ${m.requestsPerSecond} req/s, p50 ${m.latencyMs.p50} ms, p99 ${m.latencyMs.p99} ms, errors ${errorsOf(m)}`);
    }
  }

  if (abort.signal.aborted) return; // interrupted: no table, no results file
  const lookup = combine(targets.lookup.title, runs.lookup.map((r) => r.measurement));
  const bareAll = combine(targets.bare.title, runs.bare.map((r) => r.measurement));
  const ratio = bareAll.requestsPerSecond ? lookup.requestsPerSecond / bareAll.requestsPerSecond : 0;
  const roundRatios = runs.lookup.map((r, i) => r.measurement.requestsPerSecond / (runs.bare[i]!.measurement.requestsPerSecond || 1));
  const errors = errorsOf(lookup) + errorsOf(bareAll) + (atRate.lookup ? errorsOf(atRate.lookup) : 0) + (atRate.bare ? errorsOf(atRate.bare) : 0);
  const goals = {
    ratio: { goal: `>= ${GOAL_RATIO}`, measured: Number(ratio.toFixed(3)), met: ratio >= GOAL_RATIO },
    p99: { goal: `< ${GOAL_P99_MS} ms`, measuredMs: lookup.latencyMs.p99, met: lookup.latencyMs.p99 < GOAL_P99_MS },
    ...(atRate.lookup
      ? { p99AtFixedRate: { goal: `< ${GOAL_P99_MS} ms at ${RATE} req/s`, measuredMs: atRate.lookup.latencyMs.p99, met: atRate.lookup.latencyMs.p99 < GOAL_P99_MS } }
      : {}),
  };
  const loadAfter = os.loadavg();
  // CPU no component accounts for: other people's work on a shared box (plus some kernel network
  // time of the run itself, about 0.1-0.2 cores here when the machine is otherwise idle).
  const maxOther = Math.max(...[...[...runs.lookup, ...runs.bare].map((r) => r.cpu), ...Object.values(atRateCpu)].map((c) => c.otherCores ?? 0));
  const noisy = maxOther > NOISY_OTHER_CORES;
  const averageCpu = (list: TargetRun[]) => {
    const out: Record<string, { cores: number; msPerRequest: number }> = {};
    for (const name of Object.keys(list[0]!.cpu.cores)) {
      out[name] = {
        cores: Number((list.reduce((a, r) => a + r.cpu.cores[name]!, 0) / list.length).toFixed(2)),
        msPerRequest: Number((list.reduce((a, r) => a + r.cpu.msPerRequest[name]!, 0) / list.length).toFixed(3)),
      };
    }
    return out;
  };
  const strip = ({ samples: _samples, ...m }: Measurement) => m;

  const result = {
    benchmark: 'barcode lookup through the gateway vs a bare Express route behind the same gateway',
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
      loadAverageBefore: loadBefore.map((l) => Number(l.toFixed(2))),
      loadAverageAfter: loadAfter.map((l) => Number(l.toFixed(2))),
      note: 'load generator, both gateways, the services, Postgres and Redis share these cores',
    },
    settings: {
      products: PRODUCTS,
      connections: CONNECTIONS,
      durationSeconds: DURATION,
      warmupSeconds: WARMUP,
      rounds: ROUNDS,
      fixedRate: RATE || null,
      quietWaitSeconds: QUIET_WAIT,
      runtime: args.src ? 'tsx (sources)' : 'node dist (built)',
      codeFingerprint: fingerprint,
      mongodb: mongo ? 'in-process stand-in (scripts/mongo-memory-server.mjs)' : MONGODB_URI ? 'BENCH_MONGODB_URI' : 'none',
      requests: 'GET /api/v1/products/lookup?barcode=<uniformly random of the catalog>, owner access token',
      cache: 'Redis warm (every barcode looked up once before measuring); in-process layer as configured (default 2 s)',
      responseBytes: Buffer.byteLength(sampleBody),
    },
    goals,
    valid: errors === 0,
    noisy,
    results: { lookup: strip(lookup), bare: strip(bareAll), ratio: Number(ratio.toFixed(3)) },
    atFixedRate: RATE
      ? { requestsPerSecond: RATE, lookup: atRate.lookup && strip(atRate.lookup), bare: atRate.bare && strip(atRate.bare), cpu: atRateCpu }
      : null,
    rounds: runs.lookup.map((r, i) => ({
      round: i + 1,
      lookup: strip(r.measurement),
      bare: strip(runs.bare[i]!.measurement),
      ratio: Number(roundRatios[i]!.toFixed(3)),
    })),
    cpu: {
      lookup: averageCpu(runs.lookup),
      bare: averageCpu(runs.bare),
      machineBusy: { lookup: runs.lookup.map((r) => r.cpu.machineBusy), bare: runs.bare.map((r) => r.cpu.machineBusy) },
      otherCores: { lookup: runs.lookup.map((r) => r.cpu.otherCores), bare: runs.bare.map((r) => r.cpu.otherCores) },
      secondsWaitedForQuiet: quietWaits,
      otherProcesses: { lookup: runs.lookup.map((r) => r.cpu.otherProcesses), bare: runs.bare.map((r) => r.cpu.otherProcesses) },
    },
  };

  // ---- report ----------------------------------------------------------------------------------
  const row = (m: Measurement) => `| ${m.title} | ${m.requestsPerSecond} | ${m.latencyMs.p50} | ${m.latencyMs.p97_5} | ${m.latencyMs.p99} | ${m.latencyMs.max} | ${errorsOf(m)} |`;
  const yes = (b: boolean) => (b ? 'met' : '**not met**');
  const cpuRow = (name: string, c: ReturnType<typeof averageCpu>) =>
    Object.entries(c)
      .map(([k, v]) => `| ${name} | ${k} | ${v.cores} | ${v.msPerRequest} |`)
      .join('\n');
  const others = (list: TargetRun[]) =>
    list
      .map((r) => `${r.cpu.otherCores ?? '?'}${Object.keys(r.cpu.otherProcesses ?? {}).length ? ` (${Object.entries(r.cpu.otherProcesses!).map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}`)
      .join(', ');
  const table = `### Barcode lookup, ${PRODUCTS} products, ${CONNECTIONS} connections, ${ROUNDS} x ${DURATION} s each (${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC)

| through the gateway | req/s | p50 ms | p97.5 ms | p99 ms | max ms | errors |
|---|---:|---:|---:|---:|---:|---:|
${row(lookup)}
${row(bareAll)}

| goal | measured | |
|---|---:|---|
| lookup req/s / ceiling req/s >= ${GOAL_RATIO} | ${ratio.toFixed(2)} (rounds: ${roundRatios.map((r) => r.toFixed(2)).join(', ')}) | ${yes(goals.ratio.met)} |
| lookup p99 < ${GOAL_P99_MS} ms | ${lookup.latencyMs.p99} ms | ${yes(goals.p99.met)} |

| round (order) | lookup req/s | ceiling req/s | ratio | lookup p99 ms | ceiling p99 ms | other cores lookup / ceiling |
|---|---:|---:|---:|---:|---:|---|
${runs.lookup
  .map((r, i) => {
    const b = runs.bare[i]!;
    return `| ${i + 1} (${i % 2 ? 'lookup first' : 'ceiling first'}) | ${r.measurement.requestsPerSecond} | ${b.measurement.requestsPerSecond} | ${roundRatios[i]!.toFixed(2)} | ${r.measurement.latencyMs.p99} | ${b.measurement.latencyMs.p99} | ${r.cpu.otherCores ?? '?'} / ${b.cpu.otherCores ?? '?'} |`;
  })
  .join('\n')}
${
  atRate.lookup && atRate.bare
    ? `
At a fixed ${RATE} req/s over the same ${CONNECTIONS} connections (not saturated):

| through the gateway | req/s | p50 ms | p97.5 ms | p99 ms | max ms | errors |
|---|---:|---:|---:|---:|---:|---:|
${row(atRate.lookup)}
${row(atRate.bare)}

Lookup p99 < ${GOAL_P99_MS} ms at ${RATE} req/s: ${yes(atRate.lookup.latencyMs.p99 < GOAL_P99_MS)} (${atRate.lookup.latencyMs.p99} ms). Cores used by other processes meanwhile (lookup / ceiling): ${atRateCpu.lookup?.otherCores ?? '?'} / ${atRateCpu.bare?.otherCores ?? '?'}.
`
    : ''
}
| measurement | component | CPU cores used | CPU ms per request |
|---|---|---:|---:|
${cpuRow('lookup', result.cpu.lookup)}
${cpuRow('ceiling', result.cpu.bare)}

${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}, code ${fingerprint}; load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')}; machine busy during lookup ${result.cpu.machineBusy.lookup.map((b) => `${Math.round((b ?? 0) * 100)}%`).join(', ')}, ceiling ${result.cpu.machineBusy.bare.map((b) => `${Math.round((b ?? 0) * 100)}%`).join(', ')}; cores used by other processes (lookup / ceiling): ${others(runs.lookup)} / ${others(runs.bare)}.${noisy ? `\n\n**Noisy run:** other work on the machine used up to ${maxOther} cores during a measurement; compare with a quieter run before drawing conclusions.` : ''}${errors ? `\n\n**${errors} errors (non-2xx or failed requests): this run is not valid.** Status codes: lookup ${JSON.stringify(lookup.statusCodes)}, ceiling ${JSON.stringify(bareAll.statusCodes)}` : ''}`;

  console.log(`\n${table}\n`);
  if (profileDir) {
    writeFileSync(path.join(profileDir, 'windows.json'), `${JSON.stringify(windows)}\n`);
    log(`profiled run: no results file written; profiles are written to ${path.relative(root, profileDir)} when the services stop; summarise with\n  npx tsx bench/profile-summary.ts --window lookup ${path.relative(root, profileDir)}/*.cpuprofile`);
  } else if (!args['no-write']) {
    const dir = path.join(root, 'bench/results');
    mkdirSync(dir, { recursive: true });
    const day = startedAt.toISOString().slice(0, 10);
    let file = path.join(dir, `${day}-lookup.json`);
    for (let n = 2; existsSync(file); n++) file = path.join(dir, `${day}-lookup-${n}.json`);
    writeFileSync(`${file}.tmp`, `${JSON.stringify({ ...result, markdown: table }, null, 2)}\n`);
    renameSync(`${file}.tmp`, file);
    log(`results written to ${path.relative(root, file)}`);
  }
}

main().then(
  () => shutdown(0),
  (err: unknown) => shutdown(1, `benchmark failed: ${err instanceof Error ? err.message : String(err)}`),
);
