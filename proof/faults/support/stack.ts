// The whole system as separate processes on 127.0.0.1, owned by the fault suite: a database of its
// own (dropped, recreated, migrated), its own redis-server (AOF on, in a temporary directory, as in
// docker-compose.yml), the MongoDB stand-in behind a TCP proxy that can be cut, an SMTP sink that can
// be stopped, and all seven services (built `dist`, or the sources with FAULTS_SRC=1) with small pools.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import pg from 'pg';
import { Redis } from 'ioredis';
import { recreateDatabase } from '../../../scripts/test/fresh-database';
import { Child, freePort, killAllChildrenNow, releaseReaper, stopAllChildren, tellReaper, waitFor } from './children';
import { SmtpSink } from './smtp-sink';
import { TcpProxy } from './tcp-proxy';

export const ROOT = path.resolve(__dirname, '../../..');

export const SERVICES = ['auth-service', 'inventory-service', 'payment-service', 'customer-service', 'notification-service', 'transaction-service', 'api-gateway'] as const;
export type ServiceName = (typeof SERVICES)[number];

export interface StackOptions {
  database: string;
  pgHost: string;
  fromSources: boolean;
  logDir: string;
  /** Lease of a pending sale and the recovery sweep's interval: short, so the suite settles quickly. */
  saleLeaseSeconds: number;
  sweepIntervalMs: number;
}

export class Stack {
  readonly services = new Map<ServiceName, Child>();
  readonly ports = new Map<ServiceName, number>();
  redis!: Child;
  redisPort = 0;
  redisDir = '';
  mongo!: Child;
  mongoDirectPort = 0;
  mongoProxy!: TcpProxy;
  smtp!: SmtpSink;
  admin!: pg.Pool;

  constructor(readonly options: StackOptions) {}

  get adminUrl(): string {
    return `postgres://postgres@${this.options.pgHost}/${this.options.database}`;
  }

  get gatewayUrl(): string {
    return `http://127.0.0.1:${this.ports.get('api-gateway')}`;
  }

  get mongoDirectUri(): string {
    return `mongodb://127.0.0.1:${this.mongoDirectPort}/?directConnection=true`;
  }

  get redisUrl(): string {
    return `redis://127.0.0.1:${this.redisPort}`;
  }

  async start(): Promise<void> {
    mkdirSync(this.options.logDir, { recursive: true });
    await this.resetDatabase();
    this.admin = new pg.Pool({ connectionString: this.adminUrl, max: 2 });

    this.redisPort = await freePort();
    this.redisDir = mkdtempSync(path.join(os.tmpdir(), 'pos-faults-redis-'));
    tellReaper(`dir ${this.redisDir}`);
    this.redis = new Child({
      name: 'redis-server',
      command: 'redis-server',
      // As docker-compose.yml: AOF (everysec) and noeviction; no RDB snapshots, so the AOF is the data.
      args: ['--port', String(this.redisPort), '--bind', '127.0.0.1', '--appendonly', 'yes', '--appendfsync', 'everysec', '--maxmemory-policy', 'noeviction', '--save', '', '--dir', this.redisDir],
      env: { PATH: process.env.PATH },
      cwd: this.redisDir,
      logFile: path.join(this.options.logDir, 'redis-server.log'),
      // redis-server rewrites its process title to "redis-server 127.0.0.1:<port>".
      marker: `127.0.0.1:${this.redisPort}`,
    });
    await this.startRedis();

    this.mongo = new Child({
      name: 'mongo-stand-in',
      command: process.execPath,
      args: [path.join(ROOT, 'scripts/mongo-memory-server.mjs')],
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      cwd: ROOT,
      logFile: path.join(this.options.logDir, 'mongo-stand-in.log'),
      pipeStdin: true,
    }).start();
    const info = await firstJsonLine<{ port: number }>(this.mongo);
    this.mongoDirectPort = info.port;
    this.mongoProxy = new TcpProxy(await freePort(), { host: '127.0.0.1', port: info.port });
    await this.mongoProxy.open();

    this.smtp = new SmtpSink(await freePort());
    await this.smtp.start();

    for (const name of SERVICES) this.ports.set(name, await freePort());
    const secrets = Object.fromEntries(SERVICES.map((s) => [s, randomBytes(24).toString('base64url')]));
    const url = (s: ServiceName) => `http://127.0.0.1:${this.ports.get(s)}`;
    const common: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      // Production mode, so every setting below is explicit, as in a deployment.
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      TSX_TSCONFIG_PATH: path.join(ROOT, 'tsconfig.dev.json'),
      DATABASE_URL: `postgres://pos_app@${this.options.pgHost}/${this.options.database}`,
      WORKER_DATABASE_URL: `postgres://pos_worker@${this.options.pgHost}/${this.options.database}`,
      // Seven services with an app and a worker pool each on a Postgres shared with other people.
      DB_POOL_MAX: '4',
      REDIS_URL: this.redisUrl,
      MONGODB_URI: `mongodb://127.0.0.1:${this.mongoProxy.port}/?directConnection=true`,
      MONGODB_DB: 'pos_faults',
      LOG_TO_MONGO: 'false',
      JWT_ISSUER: 'cloud-pos-auth',
      AUTH_SERVICE_URL: url('auth-service'),
      TRANSACTION_SERVICE_URL: url('transaction-service'),
      INVENTORY_SERVICE_URL: url('inventory-service'),
      PAYMENT_SERVICE_URL: url('payment-service'),
      CUSTOMER_SERVICE_URL: url('customer-service'),
      NOTIFICATION_SERVICE_URL: url('notification-service'),
    };
    const perService: Record<ServiceName, NodeJS.ProcessEnv> = {
      'auth-service': { SIGNING_KEY_SECRET: randomBytes(32).toString('base64url'), SERVICE_CLIENTS: SERVICES.map((s) => `${s}:${secrets[s]}`).join(',') },
      'inventory-service': {},
      'payment-service': { GIFT_CARD_CODE_SECRET: randomBytes(32).toString('base64url') },
      'customer-service': {},
      'notification-service': {
        SMTP_HOST: '127.0.0.1',
        SMTP_PORT: String(this.smtp.port),
        SMTP_FROM: 'Cloud POS faults <no-reply@faults.pos>',
        SMTP_TIMEOUT_MS: '3000',
        APP_PUBLIC_URL: 'http://127.0.0.1',
        // Retries while the SMTP server is down come quickly, and never give up within the run.
        DELIVERY_MAX_ATTEMPTS: '50',
        DELIVERY_BACKOFF_BASE_MS: '500',
        DELIVERY_BACKOFF_MAX_MS: '3000',
        DELIVERY_LEASE_SECONDS: '15',
        DELIVERY_POLL_INTERVAL_MS: '250',
      },
      'transaction-service': { SALE_LEASE_SECONDS: String(this.options.saleLeaseSeconds), SWEEP_INTERVAL_MS: String(this.options.sweepIntervalMs) },
      'api-gateway': { RATE_LIMIT_PER_USER: '100000000', RATE_LIMIT_PER_IP: '100000000', RATE_LIMIT_LOGIN_PER_IP: '1000', API_USAGE_ENABLED: 'false' },
    };
    for (const name of SERVICES) {
      this.services.set(
        name,
        new Child({
          name,
          command: process.execPath,
          args: this.serviceArgs(name),
          env: { ...common, ...perService[name], PORT: String(this.ports.get(name)), SERVICE_CLIENT_ID: name, SERVICE_CLIENT_SECRET: secrets[name] },
          cwd: ROOT,
          logFile: path.join(this.options.logDir, `${name}.log`),
        }),
      );
    }
    // auth-service first (JWKS, service tokens), the gateway last.
    await this.startService('auth-service');
    await Promise.all(SERVICES.filter((s) => s !== 'auth-service' && s !== 'api-gateway').map((s) => this.startService(s)));
    await this.startService('api-gateway');
  }

  private serviceArgs(name: ServiceName): string[] {
    if (this.options.fromSources) return ['--import', 'tsx', path.join(ROOT, `services/${name}/src/main.ts`)];
    const main = path.join(ROOT, `services/${name}/dist/main.js`);
    if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run test:faults\` (it builds first) or set FAULTS_SRC=1`);
    return [main];
  }

  service(name: ServiceName): Child {
    return this.services.get(name)!;
  }

  async startService(name: ServiceName, timeoutMs = 60_000): Promise<number> {
    const child = this.service(name).start();
    const url = `http://127.0.0.1:${this.ports.get(name)}/ready`;
    return waitFor(
      `${name} ready`,
      async () => {
        if (!child.alive) throw new Error(`${name} exited:\n${child.tail()}`);
        const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
        await res.body?.cancel();
        return res.ok;
      },
      timeoutMs,
      200,
    );
  }

  async startRedis(): Promise<void> {
    this.redis.start();
    await waitFor(
      'redis-server answering',
      async () => {
        if (!this.redis.alive) throw new Error(`redis-server exited:\n${this.redis.tail()}`);
        const r = new Redis(this.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        r.on('error', () => undefined);
        try {
          await r.connect();
          // While the AOF loads Redis answers LOADING errors; ready means it answers PING.
          return (await r.ping()) === 'PONG';
        } finally {
          r.disconnect();
        }
      },
      30_000,
      100,
    );
  }

  /** A client on the suite's Redis (inspection only). */
  redisClient(): Redis {
    const r = new Redis(this.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
    r.on('error', () => undefined);
    return r;
  }

  async stop(): Promise<void> {
    // Services flush to MongoDB and Redis on shutdown: those (and the proxy and sink) go last.
    await stopAllChildren([this.mongo, this.redis].filter(Boolean));
    await this.mongoProxy?.cut();
    await this.smtp?.stop();
    await this.admin?.end().catch(() => undefined);
    if (this.redisDir) rmSync(this.redisDir, { recursive: true, force: true });
    releaseReaper();
  }

  killNow(): void {
    killAllChildrenNow();
  }

  private async resetDatabase(): Promise<void> {
    const { database, pgHost } = this.options;
    if (!/^pos_faults[a-z0-9_]*$/.test(database)) throw new Error('FAULTS_DATABASE must start with pos_faults (the suite drops and recreates it)');
    await recreateDatabase(`postgres://postgres@${pgHost}`, database);
  }

}

function firstJsonLine<T>(child: Child, timeoutMs = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: child.child.stdout! });
    const timer = setTimeout(() => finish(new Error(`${child.spec.name} printed nothing within ${timeoutMs / 1000} s:\n${child.tail()}`)), timeoutMs);
    const onExit = () => finish(new Error(`${child.spec.name} exited before it was ready:\n${child.tail()}`));
    function finish(err?: Error, value?: T) {
      clearTimeout(timer);
      lines.close();
      child.child.off('exit', onExit);
      if (err) reject(err);
      else resolve(value as T);
    }
    lines.on('line', (line) => {
      if (!line.startsWith('{')) return;
      try {
        finish(undefined, JSON.parse(line) as T);
      } catch {
        // not the JSON line
      }
    });
    child.child.once('exit', onExit);
  });
}
