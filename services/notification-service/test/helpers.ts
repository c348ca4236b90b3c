import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDecipheriv, createECDH, createPublicKey, hkdfSync, randomBytes, randomUUID, verify } from 'node:crypto';
import request from 'supertest';
import { SMTPServer } from 'smtp-server';
import { Redis } from 'ioredis';
import { createPool, type Pool } from '@pos/database';
import { EventConsumer } from '@pos/events';
import { createLogger, loadConfig } from '@pos/utils';
import { PASSWORD, bearer, registerTenant, startAuthService, uniqueEmail, type RegisteredTenant, type TestAuthService } from '../../auth-service/test/helpers';
import { configSchema } from '../src/config';
import { buildDeps, closeDeps } from '../src/build-deps';
import { createApp } from '../src/app';
import { DeliveryWorker } from '../src/delivery-worker';
import type { NotificationDeps } from '../src/deps';
import { CONSUMED_STREAMS, CONSUMER_GROUP, notificationEventHandlers } from '../src/events/handlers';
import { SCHEMA } from '../src/schema';

export { bearer, PASSWORD, uniqueEmail };

export const SERVICE_CLIENT = { id: 'notification-service', secret: 'test-secret-notify-789' };

// ---- auth-service (the real one) ---------------------------------------------------------------

export interface AuthServer {
  svc: TestAuthService;
  url: string;
  close(): Promise<void>;
}

/** The real auth-service on a port, knowing notification-service as a service client. */
export async function startAuthServer(): Promise<AuthServer> {
  const svc = await startAuthService({
    SERVICE_CLIENTS: `transaction-service:test-secret-123,inventory-service:test-secret-456,${SERVICE_CLIENT.id}:${SERVICE_CLIENT.secret}`,
  });
  const server = svc.app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return {
    svc,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await svc.close();
    },
  };
}

export interface Shop extends RegisteredTenant {
  manager: { id: string; email: string; token: string };
  cashier: { id: string; email: string; token: string };
}

/** A tenant of its own with a manager and a cashier of its store. */
export async function createShop(auth: AuthServer): Promise<Shop> {
  const t = await registerTenant(auth.svc.app, 'Notify');
  const user = async (role: 'manager' | 'cashier') => {
    const email = uniqueEmail(role);
    const created = await request(auth.svc.app).post('/api/v1/users').set(bearer(t.accessToken)).send({ email, name: `Test ${role}`, role, storeIds: [t.storeId], password: PASSWORD }).expect(201);
    const login = await request(auth.svc.app).post('/api/v1/auth/login').send({ email, password: PASSWORD }).expect(200);
    return { id: created.body.id as string, email, token: login.body.accessToken as string };
  };
  return { ...t, manager: await user('manager'), cashier: await user('cashier') };
}

/** A `service` token for the tenant, as another service would get it. */
export async function serviceToken(auth: AuthServer, tenantId: string): Promise<string> {
  const res = await request(auth.svc.app)
    .post('/api/v1/auth/token')
    .send({ grant_type: 'client_credentials', client_id: SERVICE_CLIENT.id, client_secret: SERVICE_CLIENT.secret, tenantId })
    .expect(200);
  return res.body.accessToken;
}

// ---- the service under test ----------------------------------------------------------------------

export interface NotificationsUnderTest {
  deps: NotificationDeps;
  app: ReturnType<typeof createApp>['app'];
  table: ReturnType<typeof createApp>['table'];
  /** Drives delivery in tests with runOnce(); limited to `tenants` so parallel test files never steal each other's rows. */
  worker: DeliveryWorker;
  /** Tenants this instance's worker serves: add the tenants a test file registers. */
  tenants: string[];
  workerPool: Pool;
  newWorker(workerId?: string, overrides?: Partial<NotificationDeps['config']>): DeliveryWorker;
  close(): Promise<void>;
}

export async function startNotifications(env: Record<string, string>): Promise<NotificationsUnderTest> {
  const config = loadConfig(configSchema, {
    ...process.env,
    SERVICE_CLIENT_ID: SERVICE_CLIENT.id,
    SERVICE_CLIENT_SECRET: SERVICE_CLIENT.secret,
    SMTP_HOST: '127.0.0.1',
    SMTP_TIMEOUT_MS: '3000',
    PUSH_ALLOW_HTTP_ENDPOINTS: 'true',
    DELIVERY_BACKOFF_BASE_MS: '0',
    DELIVERY_BACKOFF_MAX_MS: '0',
    CONTACT_LOOKUP_TIMEOUT_MS: '2000',
    ...env,
  });
  const logger = createLogger({ service: 'notification-service', level: 'error' });
  const deps = await buildDeps(config, logger);
  const { app, table } = createApp(deps);
  const workerPool = createPool({ connectionString: config.WORKER_DATABASE_URL, max: 5 });
  const tenants: string[] = [];
  const newWorker = (workerId?: string, overrides: Partial<NotificationDeps['config']> = {}) =>
    new DeliveryWorker({ pool: workerPool, config: { ...config, ...overrides }, email: deps.email, sms: deps.sms, push: deps.push, contacts: deps.contacts, logger, tenantIds: tenants, workerId });
  return {
    deps,
    app,
    table,
    worker: newWorker(),
    tenants,
    workerPool,
    newWorker,
    async close() {
      await workerPool.end();
      await closeDeps(deps);
    },
  };
}

/** Runs the worker until `done` holds (or fails after ~10 s). */
export async function drain(worker: DeliveryWorker, done: () => Promise<boolean>, pauseMs = 20): Promise<void> {
  for (let i = 0; i < 300; i++) {
    await worker.runOnce();
    if (await done()) return;
    await sleep(pauseMs);
  }
  throw new Error('deliveries did not reach the expected state');
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(check: () => Promise<boolean> | boolean, what = 'condition'): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`${what} not reached`);
}

/** Owner connection for assertions on stored state. */
export function adminPool(): Pool {
  return createPool({ connectionString: process.env.DATABASE_ADMIN_URL!, max: 2 });
}

// ---- a real SMTP server ----------------------------------------------------------------------------

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
  headers: Record<string, string>;
  subject: string;
  messageId: string;
  text: string;
  html: string | null;
}

export interface SmtpSink {
  port: number;
  messages: ReceivedMail[];
  /** Recipients refused with a permanent 550. */
  refuse: Set<string>;
  close(): Promise<void>;
}

/** A real SMTP server (npm `smtp-server`) on 127.0.0.1 that keeps every message it accepts. */
export async function startSmtpServer(options: { port?: number; auth?: { user: string; pass: string } } = {}): Promise<SmtpSink> {
  const messages: ReceivedMail[] = [];
  const refuse = new Set<string>();
  const server = new SMTPServer({
    disabledCommands: options.auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    allowInsecureAuth: true,
    authOptional: !options.auth,
    logger: false,
    onAuth(auth, _session, callback) {
      if (options.auth && auth.username === options.auth.user && auth.password === options.auth.pass) return callback(null, { user: auth.username });
      callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onRcptTo(address, _session, callback) {
      if (refuse.has(address.address.toLowerCase())) return callback(Object.assign(new Error('No such mailbox'), { responseCode: 550 }));
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        messages.push({
          ...parseMail(raw),
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.server.address() as AddressInfo).port,
    messages,
    refuse,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A port nothing listens on (for "SMTP is down"). */

function parseHeaders(block: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of block.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return headers;
}

function decodeBody(body: string, encoding: string | undefined): string {
  switch ((encoding ?? '7bit').toLowerCase()) {
    case 'quoted-printable':
      return Buffer.from(
        body
          .replace(/=\r?\n/g, '')
          .replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))),
        'latin1',
      ).toString('utf8');
    case 'base64':
      return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    default:
      return body;
  }
}

function decodeWords(value: string): string {
  return value.replace(/=\?utf-8\?([QB])\?([^?]*)\?=/gi, (_m, kind: string, text: string) =>
    kind.toUpperCase() === 'B' ? Buffer.from(text, 'base64').toString('utf8') : decodeBody(text.replace(/_/g, ' '), 'quoted-printable'),
  );
}

/** Just enough MIME for the tests: headers, text/plain and text/html (single or multipart/alternative). */
export function parseMail(raw: string): Omit<ReceivedMail, 'from' | 'to' | 'raw'> {
  const split = raw.search(/\r?\n\r?\n/);
  const headers = parseHeaders(raw.slice(0, split));
  const body = raw.slice(split).replace(/^\r?\n\r?\n/, '');
  let text = '';
  let html: string | null = null;
  const boundary = /boundary="?([^";]+)"?/i.exec(headers['content-type'] ?? '')?.[1];
  const parts = boundary
    ? body
        .split(`--${boundary}`)
        .slice(1)
        .filter((p) => !p.startsWith('--'))
        .map((p) => {
          // The line break before a boundary belongs to the boundary (RFC 2046).
          const s = p.replace(/^\r?\n/, '').replace(/\r?\n$/, '');
          const at = s.search(/\r?\n\r?\n/);
          return { headers: parseHeaders(s.slice(0, at)), body: s.slice(at).replace(/^\r?\n\r?\n/, '') };
        })
    : [{ headers, body }];
  for (const part of parts) {
    const decoded = decodeBody(part.body, part.headers['content-transfer-encoding']).replace(/\r\n/g, '\n');
    if (/text\/html/i.test(part.headers['content-type'] ?? '')) html = decoded;
    else text = decoded;
  }
  return { headers, subject: decodeWords(headers.subject ?? ''), messageId: headers['message-id'] ?? '', text, html };
}

// ---- small HTTP stubs --------------------------------------------------------------------------------

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface HttpStub {
  url: string;
  requests: RecordedRequest[];
  /** Decides the answer of each request; default 201 `{}`. */
  respond: (req: RecordedRequest) => { status: number; body?: unknown };
  close(): Promise<void>;
}

export async function startHttpStub(respond?: HttpStub['respond']): Promise<HttpStub> {
  const stub: HttpStub = { url: '', requests: [], respond: respond ?? (() => ({ status: 201, body: {} })), close: async () => undefined };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      stub.requests.push(recorded);
      const answer = stub.respond(recorded);
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body === undefined ? '' : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stub.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return stub;
}

/** Stand-in for customer-service (being built concurrently): GET /api/v1/customers/:id -> {id, name, email}. */
export async function startCustomerStub(): Promise<HttpStub & { customers: Map<string, { id: string; name: string; email: string | null }> }> {
  const customers = new Map<string, { id: string; name: string; email: string | null }>();
  const stub = await startHttpStub((req) => {
    const id = /^\/api\/v1\/customers\/([^/?]+)$/.exec(req.path)?.[1];
    if (req.method !== 'GET' || !id) return { status: 404, body: { status: 404 } };
    if (!req.headers.authorization?.startsWith('Bearer ')) return { status: 401, body: { status: 401 } };
    const c = customers.get(id);
    return c ? { status: 200, body: { ...c, phone: null, version: 1 } } : { status: 404, body: { status: 404, title: 'Not Found' } };
  });
  return Object.assign(stub, { customers });
}

export const jwtPayload = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;

// ---- a browser's side of Web Push --------------------------------------------------------------------

export interface BrowserSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
  /** Decrypts an aes128gcm push message body (RFC 8291) addressed to this subscription. */
  decrypt(body: Buffer): string;
}

/** What a browser creates when it subscribes: a P-256 key pair and an auth secret. */
export function browserSubscription(endpoint: string): BrowserSubscription {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const authSecret = randomBytes(16);
  const uaPublic = ecdh.getPublicKey();
  return {
    endpoint,
    keys: { p256dh: uaPublic.toString('base64url'), auth: authSecret.toString('base64url') },
    decrypt(body) {
      const salt = body.subarray(0, 16);
      const idLength = body.readUInt8(20);
      const asPublic = body.subarray(21, 21 + idLength);
      const cipherText = body.subarray(21 + idLength);
      const shared = ecdh.computeSecret(asPublic);
      const ikm = Buffer.from(hkdfSync('sha256', shared, authSecret, Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, asPublic]), 32));
      const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
      const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
      const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
      decipher.setAuthTag(cipherText.subarray(cipherText.length - 16));
      const padded = Buffer.concat([decipher.update(cipherText.subarray(0, cipherText.length - 16)), decipher.final()]);
      // The last record ends with the delimiter 0x02 followed by optional zero padding.
      let end = padded.length - 1;
      while (end >= 0 && padded[end] === 0) end -= 1;
      return padded.subarray(0, end).toString('utf8');
    },
  };
}

/** Verifies a `vapid t=<jwt>, k=<public key>` Authorization header and returns the JWT claims. */
export function verifyVapid(authorization: string, publicKey: string): Record<string, unknown> {
  const match = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(authorization);
  if (!match) throw new Error(`not a VAPID authorization: ${authorization}`);
  const [, jwt, k] = match;
  if (k !== publicKey) throw new Error('the VAPID key is not ours');
  const point = Buffer.from(k, 'base64url');
  const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33, 65).toString('base64url') }, format: 'jwk' });
  const [h, p, s] = jwt!.split('.');
  const ok = verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s!, 'base64url'));
  if (!ok) throw new Error('the VAPID signature does not verify');
  return jwtPayload(jwt!);
}

// ---- events ----------------------------------------------------------------------------------------------

export interface TestEvents {
  prefix: string;
  consumer: EventConsumer;
  /** XADDs an envelope to `${prefix}:events:<producer>`, as the producer's outbox relay would. */
  publish(producer: string, envelope: Record<string, unknown>): Promise<void>;
  /** Resolves once the group has read and acknowledged everything on the producer's stream. */
  settled(producer: string): Promise<void>;
  close(): Promise<void>;
}

/** A real EventConsumer of notification-service on streams with a unique prefix. */
export async function startEvents(svc: NotificationsUnderTest): Promise<TestEvents> {
  const prefix = `test-${randomUUID().slice(0, 8)}`;
  const writer = new Redis(process.env.REDIS_URL!);
  const reader = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
  const consumer = new EventConsumer({
    redis: reader,
    pool: svc.deps.pool,
    schema: SCHEMA,
    group: CONSUMER_GROUP,
    streams: CONSUMED_STREAMS,
    streamPrefix: prefix,
    handlers: notificationEventHandlers({ config: svc.deps.config, logger: svc.deps.logger }),
    blockMs: 100,
    retryDelayMs: 100,
    logger: createLogger({ service: 'notification-service', level: 'error' }),
  });
  await consumer.start();
  return {
    prefix,
    consumer,
    async publish(producer, envelope) {
      await writer.xadd(`${prefix}:events:${producer}`, '*', 'event', JSON.stringify(envelope));
    },
    async settled(producer) {
      await waitFor(async () => {
        const groups = (await writer.call('XINFO', 'GROUPS', `${prefix}:events:${producer}`)) as unknown[][];
        const group = groups.map((g) => Object.fromEntries(g.flatMap((v, i) => (i % 2 ? [] : [[v, g[i + 1]]])))).find((g) => g.name === CONSUMER_GROUP);
        return Boolean(group) && Number(group!.lag) === 0 && Number(group!.pending) === 0;
      }, 'consumer group settled');
    },
    async close() {
      await consumer.stop();
      const keys = await writer.keys(`${prefix}:*`);
      if (keys.length) await writer.del(...keys);
      await Promise.all([writer.quit(), reader.quit()]);
    },
  };
}

export function envelope(type: string, tenantId: string, data: Record<string, unknown>, overrides: Record<string, unknown> = {}) {
  return { id: randomUUID(), type, version: 1, tenantId, occurredAt: new Date().toISOString(), requestId: `req-${randomUUID().slice(0, 8)}`, data, ...overrides };
}

/** A sale as transaction-service publishes it in `sale.completed` (its sale view plus businessDate). */
export function saleView(storeId: string, customerId: string | null, overrides: Record<string, unknown> = {}) {
  const usd = (amount: number) => ({ amount, currency: 'USD' });
  const saleId = randomUUID();
  return {
    id: saleId,
    status: 'completed',
    failure: null,
    storeId,
    shiftId: randomUUID(),
    cashierId: randomUUID(),
    customerId,
    receiptNumber: 42,
    lines: [
      { id: randomUUID(), productId: randomUUID(), sku: 'COF-ESP', name: 'Espresso beans 250 g', quantity: 2, unitPrice: usd(899), discount: usd(0), tax: usd(148), total: usd(1946), taxRateBps: 825, priceOverriddenBy: null, refundedQuantity: 0 },
      { id: randomUUID(), productId: randomUUID(), sku: 'MUG-WHT', name: 'Mug, white', quantity: 1, unitPrice: usd(1200), discount: usd(120), tax: usd(89), total: usd(1169), taxRateBps: 825, priceOverriddenBy: null, refundedQuantity: 0 },
    ],
    subtotal: usd(2998),
    discountTotal: usd(120),
    taxTotal: usd(237),
    total: usd(3115),
    taxInclusive: false,
    tenders: [
      { method: 'card', amount: usd(2000), tendered: usd(2000), paymentId: randomUUID(), status: 'captured' },
      { method: 'cash', amount: usd(1115), tendered: usd(2000), paymentId: randomUUID(), status: 'captured' },
    ],
    changeDue: usd(885),
    refundedTotal: usd(0),
    businessDate: '2025-11-26',
    createdAt: new Date().toISOString(),
    completedAt: new Date().toISOString(),
    ...overrides,
  };
}

/** A uuid that is not in any tenant. */
export const someUuid = () => randomUUID();
