// The services under test as child processes on free local ports, on the benchmark's own database
// and Redis db (both recreated first), in production mode with fresh secrets; plus what every run
// needs around them: a hard time budget and a clean stop on Ctrl-C or a crash, the "quiet wait",
// HTTP calls for seeding, and the results file.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { machineCpuMs } from './cpu';
import { activeInstances } from './load';
import { killPgbenchNow, stopPgbench } from './pgbench';
import { firstJsonLine, freePort, killAllNow, startNode, stopAll, waitReady, whenAnyExitsUnexpectedly, type Proc } from './processes';

export const root = path.resolve(__dirname, '../..');
const started = performance.now();
/** Each line with the seconds since the run started, to see where a run's time goes. */
export const log = (msg: string) => console.log(`[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${msg}`);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Nothing outlives the run: every child is stopped on Ctrl-C, on a crash, on an unexpected child
 * exit and after `budgetMs`. The returned signal is aborted then, so measurements stop early and
 * nothing is reported or written.
 */
export function guardRun(budgetMs: number): { signal: AbortSignal; shutdown: (code: number, reason?: string) => Promise<never> } {
  const abort = new AbortController();
  let finishing = false;
  const shutdown = async (code: number, reason?: string): Promise<never> => {
    if (!finishing) {
      finishing = true;
      abort.abort();
      if (reason) console.error(reason);
      for (const i of activeInstances) i.stop();
      stopPgbench();
      console.error('stopping services...');
      await stopAll();
      killPgbenchNow();
    }
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(130, '\ninterrupted'));
  process.on('SIGTERM', () => void shutdown(143, '\nterminated'));
  process.on('exit', () => {
    killAllNow();
    killPgbenchNow();
  });
  setTimeout(() => void shutdown(1, `the benchmark did not finish within its ${Math.round(budgetMs / 1000)} s budget`), budgetMs).unref();
  whenAnyExitsUnexpectedly((p, code, signal) => void shutdown(1, `${p.name} stopped unexpectedly (${signal ?? `code ${code}`}):\n${p.tail()}`));
  return { signal: abort.signal, shutdown };
}

export async function flushRedis(url: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  await redis.connect();
  await redis.flushdb();
  await redis.quit();
}

export async function call<T = unknown>(url: string, init: RequestInit & { expect: number }): Promise<T> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(180_000) });
  const text = await res.text();
  if (res.status !== init.expect) throw new Error(`${init.method ?? 'GET'} ${url} answered ${res.status} (expected ${init.expect}): ${text.slice(0, 1000)}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/**
 * On a shared machine other work (someone's test run) skews a measurement: wait (bounded) until the
 * machine is mostly idle, measured over one second; returns the seconds waited (0 when quiet).
 */
export async function waitForQuiet(maxSeconds: number, busyBelow = 0.25): Promise<number> {
  if (!maxSeconds) return 0;
  const started = Date.now();
  while (Date.now() - started < maxSeconds * 1000) {
    const a = machineCpuMs();
    await sleep(1000);
    const b = machineCpuMs();
    if (!a || !b) return 0;
    if ((b.busy - a.busy) / (b.total - a.total || 1) < busyBelow) return Math.round((Date.now() - started) / 1000) - 1;
  }
  log(`the machine stayed busy for ${maxSeconds} s (other work running); measuring anyway`);
  return maxSeconds;
}

/**
 * A short hash of the code that ran (built JS of the services and shared packages, or their sources
 * with --src), so a results file can be matched to a version without git.
 */
export function codeFingerprint(services: string[], src: boolean): string {
  const hash = createHash('sha256');
  const sub = src ? 'src' : 'dist';
  const dirs = [...services.map((s) => path.join(root, 'services', s, sub)), ...readdirSync(path.join(root, 'shared')).map((p) => path.join(root, 'shared', p, sub))];
  const walk = (dir: string): string[] =>
    existsSync(dir)
      ? readdirSync(dir, { withFileTypes: true })
          .sort((a, b) => a.name.localeCompare(b.name))
          .flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : /\.(js|ts)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [path.join(dir, e.name)] : []))
      : [];
  for (const file of dirs.flatMap(walk)) hash.update(path.relative(root, file)).update(readFileSync(file));
  return hash.digest('hex').slice(0, 12);
}

/** bench/results/<day>[-suffix].json, never overwriting an earlier run of the same day (-2, -3…). */
export function writeResults(day: string, result: unknown): string {
  const dir = path.join(root, 'bench/results');
  mkdirSync(dir, { recursive: true });
  let file = path.join(dir, `${day}.json`);
  for (let n = 2; existsSync(file); n++) file = path.join(dir, `${day}-${n}.json`);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  return path.relative(root, file);
}

export interface StackOptions {
  pgHost: string;
  database: string;
  redisUrl: string;
  mongoUri?: string;
  logDir: string;
  src: boolean;
  /** V8 CPU profiles of every service go here (--profile). */
  profileDir?: string;
}

export interface Stack {
  auth: Proc;
  inventory: Proc;
  payment: Proc;
  transaction: Proc;
  gateway: Proc;
  mongo?: Proc;
  /** Starts a second api-gateway whose inventory and transaction routes go to `upstreamUrl`. */
  startGateway(name: string, upstreamUrl: string): Promise<Proc>;
}

/**
 * auth-, inventory-, payment-, transaction-service and the api-gateway, like `npm start` but in
 * production mode: every setting explicit, secrets fresh per run, services that are not under test
 * (customer, notification) pointing at a closed port. MongoDB (audit, API usage) is the in-process
 * stand-in of `npm start` unless a local one is given; the consumers that only feed MongoDB from the
 * event stream are off (derived data, not on any request path measured here).
 */
export async function startStack(o: StackOptions): Promise<Stack> {
  const logFile = (name: string) => path.join(o.logDir, `${name.replace(/[^a-z0-9-]+/gi, '-')}.log`);
  const command = (service: string, profileName = service): string[] => {
    const flags = [
      ...(process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean),
      ...(o.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`, `--cpu-prof-name=${profileName}.cpuprofile`] : []),
    ];
    if (o.src) return [...flags, '--import', 'tsx', path.join(root, `services/${service}/src/main.ts`)];
    const main = path.join(root, `services/${service}/dist/main.js`);
    if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first (\`npm run bench\` does), or pass --src`);
    return [...flags, main];
  };
  const [authPort, inventoryPort, paymentPort, transactionPort, gatewayPort, nobodyPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort()]);
  const nobody = `http://127.0.0.1:${nobodyPort}`;

  let mongoUri = o.mongoUri;
  let mongo: Proc | undefined;
  const standIn = path.join(root, 'scripts/mongo-memory-server.mjs');
  if (!mongoUri && existsSync(standIn)) {
    // Stopped after the services, since they flush to it on shutdown.
    mongo = startNode({ name: 'mongo stand-in', port: 0, cwd: root, nodeArgs: [standIn], env: { PATH: process.env.PATH, HOME: process.env.HOME }, pipeStdin: true, stopLast: true, logFile: logFile('mongo-stand-in') });
    mongoUri = (await firstJsonLine<{ uri: string }>(mongo)).uri;
  }
  const clients = ['inventory-service', 'payment-service', 'transaction-service'];
  const secrets = Object.fromEntries(clients.map((c) => [c, randomBytes(24).toString('base64url')]));
  const client = (id: string): NodeJS.ProcessEnv => ({ SERVICE_CLIENT_ID: id, SERVICE_CLIENT_SECRET: secrets[id] });
  const common: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    TSX_TSCONFIG_PATH: path.join(root, 'tsconfig.dev.json'),
    REDIS_URL: o.redisUrl,
    DATABASE_URL: `postgres://pos_app@${o.pgHost}/${o.database}`,
    WORKER_DATABASE_URL: `postgres://pos_worker@${o.pgHost}/${o.database}`,
    AUTH_SERVICE_URL: `http://127.0.0.1:${authPort}`,
    INVENTORY_SERVICE_URL: `http://127.0.0.1:${inventoryPort}`,
    PAYMENT_SERVICE_URL: `http://127.0.0.1:${paymentPort}`,
    TRANSACTION_SERVICE_URL: `http://127.0.0.1:${transactionPort}`,
    CUSTOMER_SERVICE_URL: nobody,
    NOTIFICATION_SERVICE_URL: nobody,
    JWT_ISSUER: 'cloud-pos-auth',
    MONGODB_URI: mongoUri ?? nobody.replace('http', 'mongodb'),
    MONGODB_DB: 'pos_bench',
    AUDIT_CONSUMER_ENABLED: 'false',
    ANALYTICS_CONSUMER_ENABLED: 'false',
    LOG_TO_MONGO: 'false',
  };
  const start = (service: string, port: number, env: NodeJS.ProcessEnv, name = service) =>
    startNode({ name, logFile: logFile(name), port, cwd: root, nodeArgs: command(service, name), env: { ...common, PORT: String(port), ...env } });
  // The benchmark measures speed, not the limiter: the limits stay on (their Redis round trips are
  // part of every request) but far above what the run can send.
  const limits = { RATE_LIMIT_PER_USER: '100000000', RATE_LIMIT_PER_IP: '100000000', RATE_LIMIT_LOGIN_PER_IP: '1000' };

  log('starting auth-service, inventory-service, payment-service, transaction-service, api-gateway');
  const auth = start('auth-service', authPort, { SIGNING_KEY_SECRET: randomBytes(32).toString('base64url'), SERVICE_CLIENTS: clients.map((c) => `${c}:${secrets[c]}`).join(',') });
  await waitReady(auth);
  const inventory = start('inventory-service', inventoryPort, client('inventory-service'));
  const payment = start('payment-service', paymentPort, { GIFT_CARD_CODE_SECRET: randomBytes(32).toString('base64url'), ...client('payment-service') });
  const transaction = start('transaction-service', transactionPort, client('transaction-service'));
  await Promise.all([waitReady(inventory), waitReady(payment), waitReady(transaction)]);
  const gateway = start('api-gateway', gatewayPort, limits);
  await waitReady(gateway);
  return {
    auth,
    inventory,
    payment,
    transaction,
    gateway,
    mongo,
    async startGateway(name, upstreamUrl) {
      const port = await freePort();
      const g = start('api-gateway', port, { ...limits, INVENTORY_SERVICE_URL: upstreamUrl, TRANSACTION_SERVICE_URL: upstreamUrl, PAYMENT_SERVICE_URL: nobody }, name);
      await waitReady(g);
      return g;
    },
  };
}
