// The whole system in one process for the security sweep: the real auth-, inventory-, payment- and
// transaction-services (the transaction-service test stack), customer- and notification-service,
// and the gateway in front of all six, each on a loopback port, every log line captured.
// Two tenants, A (the attacker) and B (the victim), each get owner, manager, cashier and service
// tokens, and a set of resources (store, user, product, sale, payment, gift card, customer, …)
// whose ids the sweep puts into path parameters.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import express, { type Express } from 'express';
import winston from 'winston';
import type { Redis } from 'ioredis';
import type { Pool } from '@pos/database';
import { createLogger, type Logger } from '@pos/utils';
import { ACCESS_TOKEN_AUDIENCE } from '@pos/types';
import type { RouteInfo } from '@pos/http';
import { startStack, type Stack } from '../../../services/transaction-service/test/helpers';
import type { PaymentsUnderTest } from '../../../services/payment-service/test/helpers';
import { startCustomers, type CustomersUnderTest } from '../../../services/customer-service/test/helpers';
import { browserSubscription, startNotifications, type NotificationsUnderTest } from '../../../services/notification-service/test/helpers';
import { buildGateway, testRedis } from '../../../services/api-gateway/test/helpers';
import type { GatewayApp } from '../../../services/api-gateway/src/app';
import { send, type SweepRequest, type SweepResponse } from './http';

/** auth-service's test client credentials (its SERVICE_CLIENTS in the test config). */
export const SERVICE_CLIENT = { id: 'transaction-service', secret: 'test-secret-123' };
export const OTHER_CLIENT_SECRET = 'test-secret-456';
/** Every password this sweep sets; none may ever be found stored or logged. */
export const SWEEP_PASSWORD = 'sweep passphrase 7Qk!';
export const USER_PASSWORD = 'correct horse battery';
export const SWEEP_PIN = '482913';

export type RoleName = 'owner' | 'manager' | 'cashier' | 'service';
export const ROLE_NAMES: readonly RoleName[] = ['owner', 'manager', 'cashier', 'service'];

export interface SweepService {
  name: string;
  url: string;
  routes: readonly RouteInfo[];
}

/** Ids (and other keys) of one tenant's resources, by the name the sweep substitutes. */
export interface Fixtures {
  tenant: string;
  store: string;
  /** The store the manager and cashier act in (never closed by the sweep). */
  mainStore: string;
  user: string;
  category: string;
  product: string;
  sku: string;
  barcode: string;
  stockLevel: string;
  shift: string;
  sale: string;
  saleLine: string;
  refund: string;
  payment: string;
  paymentKey: string;
  giftCardCode: string;
  customer: string;
  customerEmail: string;
  redemptionKey: string;
  delivery: string;
  subscription: string;
  template: string;
  /** A string that appears in this tenant's data; another tenant must never see it. */
  marker: string;
}

export interface Tenant {
  label: 'A' | 'B';
  tenantId: string;
  tokens: Record<RoleName, string>;
  userIds: Record<Exclude<RoleName, 'service'>, string>;
  emails: string[];
  refreshTokens: string[];
  ids: Fixtures;
}

export interface SweepStack {
  services: SweepService[];
  gatewayUrl: string;
  authUrl: string;
  a: Tenant;
  b: Tenant;
  admin: Pool;
  redis: Redis;
  /** Every log line written by any service or the gateway since start, as JSON text. */
  logs: string[];
  /** Requests sent again because the service logged an infrastructure failure (not an input bug). */
  readonly infrastructureRetries: number;
  /** Secrets the sweep handled (passwords, refresh tokens, client secrets): never to be stored or logged. */
  secrets(): string[];
  /** Signs claims with auth-service's real, current key (to forge tokens that differ in one claim only). */
  signWithRealKey(claims: Record<string, unknown>, options: { subject: string; issuer?: string; audience?: string; expiresInSeconds?: number }): Promise<string>;
  /** Sends to a service by name ('api-gateway' for the gateway). */
  call(service: string, req: SweepRequest): Promise<SweepResponse>;
  close(): Promise<void>;
}

async function listen(app: Express | http.RequestListener): Promise<{ url: string; server: http.Server }> {
  const server = http.createServer(app as http.RequestListener);
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const closeServer = (server: http.Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

/** Sends a service's log lines to `sink` instead of the console, at debug level (the most that is ever logged). */
function capture(logger: Logger, sink: string[]): void {
  const stream = new Writable({
    write(chunk, _enc, cb) {
      sink.push(String(chunk));
      cb();
    },
  });
  logger.clear();
  logger.add(new winston.transports.Stream({ stream }));
  logger.level = 'debug';
}

function expectStatus(res: SweepResponse, status: number, what: string): void {
  if (res.status !== status) throw new Error(`sweep setup: ${what} answered ${res.status}, expected ${status}: ${res.text.slice(0, 500)}`);
}

const POOL_MAX = 6;
const INFRA_RETRIES = 6;
const INFRASTRUCTURE = /remaining connection slots|too many clients|timeout exceeded when trying to connect|Connection terminated|ECONNREFUSED|ECONNRESET|ETIMEDOUT|database system is (?:starting|shutting) up/i;

/** True when the log lines of this answer's request id name an infrastructure failure. */
function infrastructureFailure(logs: readonly string[], res: SweepResponse): boolean {
  const requestId = (res.json as { requestId?: unknown } | undefined)?.requestId;
  if (typeof requestId !== 'string') return false;
  return logs.some((line) => line.includes(requestId) && INFRASTRUCTURE.test(line));
}

/** A run-unique tag: emails are unique across the whole database, which outlives a test run. */
const runTag = () => `${process.pid.toString(36)}${Date.now().toString(36)}`;

export async function startSweepStack(): Promise<SweepStack> {
  const logs: string[] = [];
  const refreshTokens: string[] = [];

  // customer-service must be known to payment-service (loyalty tenders) before the test stack
  // starts it, but needs the stack's auth-service itself: a forwarding app bridges the two.
  const target: { app?: Express } = {};
  const bridge = express();
  bridge.use((req, res, next) => (target.app ? target.app(req, res, next) : res.status(503).end()));
  const customersPort = await listen(bridge);
  const previous = process.env.CUSTOMER_SERVICE_URL;
  process.env.CUSTOMER_SERVICE_URL = customersPort.url;
  let stack: Stack;
  try {
    stack = await startStack();
  } finally {
    if (previous === undefined) delete process.env.CUSTOMER_SERVICE_URL;
    else process.env.CUSTOMER_SERVICE_URL = previous;
  }
  const payment = stack.payment as unknown as PaymentsUnderTest;
  const customers: CustomersUnderTest = await startCustomers(stack.auth.url);
  target.app = customers.app;
  const transaction = await listen(stack.app);
  const notifications: NotificationsUnderTest = await startNotifications({
    AUTH_SERVICE_URL: stack.auth.url,
    CUSTOMER_SERVICE_URL: customersPort.url,
    SERVICE_CLIENT_ID: SERVICE_CLIENT.id,
    SERVICE_CLIENT_SECRET: SERVICE_CLIENT.secret,
  });
  const notify = await listen(notifications.app);

  for (const logger of [stack.auth.svc.deps.logger, stack.inventory.deps.logger, payment.deps.logger, stack.deps.logger, customers.deps.logger, notifications.deps.logger]) {
    capture(logger, logs);
  }
  // The test Postgres is shared with other suites (and, on a dev machine, benchmarks): keep each
  // service's pool small (pg-pool reads `max` on every checkout).
  for (const pool of [stack.auth.svc.deps.pool, stack.inventory.deps.pool, payment.deps.pool, stack.deps.pool, customers.deps.pool, notifications.deps.pool]) {
    (pool as unknown as { options: { max: number } }).options.max = POOL_MAX;
  }

  const redis = testRedis();
  const gatewayLogger = createLogger({ service: 'api-gateway', level: 'debug' });
  capture(gatewayLogger, logs);
  const gateway: GatewayApp = await buildGateway({
    redis,
    upstreams: {
      'auth-service': stack.auth.url,
      'inventory-service': stack.inventoryUrl,
      'payment-service': stack.paymentUrl,
      'transaction-service': transaction.url,
      'customer-service': customersPort.url,
      'notification-service': notify.url,
    },
    jwksUrl: `${stack.auth.url}/.well-known/jwks.json`,
    // The sweep is one client sending thousands of requests; the limits have their own tests.
    env: { RATE_LIMIT_PER_USER: '1000000', RATE_LIMIT_PER_IP: '1000000', RATE_LIMIT_LOGIN_PER_IP: '1000000' },
    deps: { logger: gatewayLogger },
  });
  const gw = await listen(gateway.app);

  const services: SweepService[] = [
    { name: 'auth-service', url: stack.auth.url, routes: stack.auth.svc.table.routes },
    { name: 'inventory-service', url: stack.inventoryUrl, routes: stack.inventory.table.routes },
    { name: 'transaction-service', url: transaction.url, routes: stack.table.routes },
    { name: 'payment-service', url: stack.paymentUrl, routes: payment.table.routes },
    { name: 'customer-service', url: customersPort.url, routes: customers.table.routes },
    { name: 'notification-service', url: notify.url, routes: notifications.table.routes },
  ];
  const retried = { count: 0 };
  const urls = new Map<string, string>([...services.map((s) => [s.name, s.url] as const), ['api-gateway', gw.url]]);
  const call = async (service: string, req: SweepRequest) => {
    const url = urls.get(service);
    if (!url) throw new Error(`unknown service ${service}`);
    // A 5xx that the service logged as an infrastructure failure (the shared Postgres out of
    // connections, a reset socket), or a 502/503/504 the route does not document (a saga step timed
    // out on a machine under load), says nothing about the input: wait and send it again. If it
    // persists, the caller sees it.
    for (let attempt = 1; ; attempt++) {
      const res = await send(url, req);
      const unavailable = [502, 503, 504].includes(res.status) && !req.declared5xx?.includes(res.status);
      if (res.status < 500 || attempt >= INFRA_RETRIES || !(unavailable || infrastructureFailure(logs, res))) return res;
      retried.count += 1;
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  };

  const close = async () => {
    gateway.close();
    await closeServer(gw.server);
    await closeServer(notify.server);
    await closeServer(transaction.server);
    await closeServer(customersPort.server);
    await notifications.close();
    await customers.close();
    await stack.close();
    await redis.quit();
  };

  const tag = runTag();
  let a: Tenant;
  let b: Tenant;
  try {
    a = await createTenant('A', tag, call, refreshTokens);
    b = await createTenant('B', tag, call, refreshTokens);
  } catch (err) {
    // Nothing may stay open when the setup fails, or the test process never ends.
    await close().catch(() => undefined);
    throw err;
  }

  return {
    services,
    gatewayUrl: gw.url,
    authUrl: stack.auth.url,
    a,
    b,
    admin: stack.admin,
    redis,
    logs,
    get infrastructureRetries() {
      return retried.count;
    },
    signWithRealKey: (claims, options) =>
      stack.auth.svc.deps.keys.sign(claims, {
        subject: options.subject,
        issuer: options.issuer ?? stack.auth.svc.deps.config.JWT_ISSUER,
        audience: options.audience ?? ACCESS_TOKEN_AUDIENCE,
        expiresInSeconds: options.expiresInSeconds ?? 300,
      }),
    secrets: () => [SWEEP_PASSWORD, USER_PASSWORD, SERVICE_CLIENT.secret, OTHER_CLIENT_SECRET, ...refreshTokens],
    call,
    close,
  };
}

type Call = (service: string, req: SweepRequest) => Promise<SweepResponse>;

async function createTenant(label: 'A' | 'B', tag: string, call: Call, refreshTokens: string[]): Promise<Tenant> {
  const marker = `tenant-${label}-marker-${tag}`;
  const email = (who: string) => `sweep-${label.toLowerCase()}-${who}-${tag}@sweep.test`.toLowerCase();
  const auth = (req: SweepRequest) => call('auth-service', req);

  const reg = await auth({ method: 'POST', path: '/api/v1/auth/register', body: { tenantName: `Sweep ${marker}`, storeName: `Main ${marker}`, email: email('owner'), password: SWEEP_PASSWORD, name: `Owner ${marker}` } });
  expectStatus(reg, 201, `register tenant ${label}`);
  const r = reg.json as { tenant: { id: string }; store: { id: string }; user: { id: string }; accessToken: string; refreshToken: string };
  refreshTokens.push(r.refreshToken);
  const tenantId = r.tenant.id;
  const mainStore = r.store.id;
  const owner = r.accessToken;

  const outlet = await auth({ method: 'POST', path: '/api/v1/stores', token: owner, body: { name: `Outlet ${marker}`, currency: 'USD', timezone: 'UTC', taxInclusive: false, allowNegativeStock: true, address: { line1: `1 ${marker} Street`, city: 'Springfield', country: 'US' } } });
  expectStatus(outlet, 201, 'create store');

  const person = async (role: 'manager' | 'cashier') => {
    const created = await auth({ method: 'POST', path: '/api/v1/users', token: owner, body: { email: email(role), name: `${role} ${marker}`, role, storeIds: [mainStore], password: USER_PASSWORD } });
    expectStatus(created, 201, `create ${role}`);
    const login = await auth({ method: 'POST', path: '/api/v1/auth/login', body: { email: email(role), password: USER_PASSWORD } });
    expectStatus(login, 200, `${role} login`);
    const session = login.json as { accessToken: string; refreshToken: string };
    refreshTokens.push(session.refreshToken);
    return { id: (created.json as { id: string }).id, token: session.accessToken };
  };
  const manager = await person('manager');
  const cashier = await person('cashier');
  const fixtureUser = await auth({ method: 'POST', path: '/api/v1/users', token: owner, body: { email: email('fixture'), name: `Fixture ${marker}`, role: 'cashier', storeIds: [mainStore], password: SWEEP_PASSWORD, pin: SWEEP_PIN } });
  expectStatus(fixtureUser, 201, 'create fixture user');

  const svc = await auth({ method: 'POST', path: '/api/v1/auth/token', body: { grant_type: 'client_credentials', client_id: SERVICE_CLIENT.id, client_secret: SERVICE_CLIENT.secret, tenantId } });
  expectStatus(svc, 200, 'client credentials');
  const service = (svc.json as { accessToken: string }).accessToken;

  const inv = (req: SweepRequest) => call('inventory-service', req);
  const category = await inv({ method: 'POST', path: '/api/v1/categories', token: owner, body: { name: `Category ${marker}` } });
  expectStatus(category, 201, 'create category');
  const categoryId = (category.json as { id: string }).id;
  const barcode = `${label === 'A' ? 1 : 2}${tag.replace(/[^0-9]/g, '').slice(-11).padStart(11, '7')}`;
  const product = await inv({
    method: 'POST',
    path: '/api/v1/products',
    token: owner,
    body: { sku: `SWEEP-${label}-${tag}`, name: `Product ${marker}`, description: `About ${marker}`, barcodes: [barcode], price: { amount: 1250, currency: 'USD' }, taxRateBps: 825, categoryId },
  });
  expectStatus(product, 201, 'create product');
  const p = product.json as { id: string; sku: string };
  const received = await inv({ method: 'POST', path: '/api/v1/stock/adjustments', token: owner, headers: { 'idempotency-key': `sweep-receive-${label}-${tag}` }, body: { storeId: mainStore, productId: p.id, quantity: 100, reason: 'receive', note: `Delivery ${marker}` } });
  expectStatus(received, 201, 'receive stock');
  const levels = await inv({ method: 'GET', path: `/api/v1/inventory?storeId=${mainStore}&productId=${p.id}`, token: owner });
  expectStatus(levels, 200, 'list stock');
  const stockLevel = (levels.json as { data: Array<{ id: string }> }).data[0]!.id;

  const cust = (req: SweepRequest) => call('customer-service', req);
  const customerEmail = email('customer');
  const customer = await cust({ method: 'POST', path: '/api/v1/customers', token: owner, body: { name: `Customer ${marker}`, email: customerEmail, notes: `Likes ${marker}` } });
  expectStatus(customer, 201, 'create customer');
  const customerId = (customer.json as { id: string }).id;
  const points = await cust({ method: 'POST', path: `/api/v1/customers/${customerId}/loyalty/adjustments`, token: owner, headers: { 'idempotency-key': `sweep-points-${label}-${tag}` }, body: { points: 500, reason: `Welcome ${marker}` } });
  expectStatus(points, 201, 'grant points');
  const redemptionKey = `sweep-redeem-${label}-${tag}`;
  const redeemed = await cust({ method: 'POST', path: `/api/v1/customers/${customerId}/loyalty/redemptions`, token: service, headers: { 'idempotency-key': redemptionKey }, body: { points: 10, reference: `Redeem ${marker}` } });
  expectStatus(redeemed, 201, 'redeem points');

  const tx = (req: SweepRequest) => call('transaction-service', req);
  const shift = await tx({ method: 'POST', path: '/api/v1/shifts', token: owner, body: { storeId: mainStore, openingFloat: { amount: 10_000, currency: 'USD' } } });
  expectStatus(shift, 201, 'open shift');
  const shiftId = (shift.json as { id: string }).id;
  const sale = await tx({
    method: 'POST',
    path: '/api/v1/transactions',
    token: owner,
    headers: { 'idempotency-key': `sweep-sale-${label}-${tag}` },
    body: {
      storeId: mainStore,
      customerId,
      lines: [{ productId: p.id, quantity: 3 }],
      tenders: [
        { method: 'card', amount: { amount: 1000, currency: 'USD' }, cardToken: 'tok_visa' },
        { method: 'cash', amount: { amount: 5000, currency: 'USD' } },
      ],
    },
  });
  expectStatus(sale, 201, 'checkout');
  const s = sale.json as { id: string; lines: Array<{ id: string }>; tenders: Array<{ method: string; paymentId: string }> };
  const refund = await tx({ method: 'POST', path: `/api/v1/transactions/${s.id}/refunds`, token: owner, headers: { 'idempotency-key': `sweep-refund-${label}-${tag}` }, body: { lines: [{ lineId: s.lines[0]!.id, quantity: 1 }], restock: true, reason: `Refund ${marker}` } });
  expectStatus(refund, 201, 'refund');
  const cardTender = s.tenders.find((t) => t.method === 'card')!;

  const pay = (req: SweepRequest) => call('payment-service', req);
  const paymentKey = `sweep-payment-${label}-${tag}`;
  const cash = await pay({ method: 'POST', path: '/api/v1/payments/process', token: service, headers: { 'idempotency-key': paymentKey }, body: { method: 'cash', transactionId: s.id, storeId: mainStore, amount: { amount: 100, currency: 'USD' } } });
  expectStatus(cash, 201, 'process payment');
  const gift = await pay({ method: 'POST', path: '/api/v1/gift-cards', token: owner, headers: { 'idempotency-key': `sweep-gift-${label}-${tag}` }, body: { initialBalance: { amount: 5000, currency: 'USD' } } });
  expectStatus(gift, 201, 'issue gift card');

  const note = (req: SweepRequest) => call('notification-service', req);
  const delivery = await note({ method: 'POST', path: '/api/v1/notifications/email', token: owner, headers: { 'idempotency-key': `sweep-mail-${label}-${tag}` }, body: { to: email('mailbox'), subject: `Hello ${marker}`, text: `Body ${marker}` } });
  expectStatus(delivery, 202, 'send email');
  const sub = browserSubscription(`https://push.sweep.test/${label}/${tag}`);
  const subscription = await note({ method: 'POST', path: '/api/v1/notifications/push/subscriptions', token: owner, body: { subscription: { endpoint: sub.endpoint, keys: sub.keys }, deviceId: `device-${label}`, userAgent: `Agent ${marker}` } });
  expectStatus(subscription, 201, 'subscribe to push');
  const template = await note({ method: 'PUT', path: '/api/v1/notifications/templates/receipt', token: owner, body: { subject: `Receipt ${marker}`, text: `Thanks from ${marker}` } });
  expectStatus(template, 200, 'customise template');

  return {
    label,
    tenantId,
    tokens: { owner, manager: manager.token, cashier: cashier.token, service },
    userIds: { owner: r.user.id, manager: manager.id, cashier: cashier.id },
    emails: [email('owner'), email('manager'), email('cashier'), email('fixture')],
    refreshTokens,
    ids: {
      tenant: tenantId,
      store: (outlet.json as { id: string }).id,
      mainStore,
      user: (fixtureUser.json as { id: string }).id,
      category: categoryId,
      product: p.id,
      sku: p.sku,
      barcode,
      stockLevel,
      shift: shiftId,
      sale: s.id,
      saleLine: s.lines[0]!.id,
      refund: (refund.json as { id: string }).id,
      payment: cardTender.paymentId,
      paymentKey,
      giftCardCode: (gift.json as { code: string }).code,
      customer: customerId,
      customerEmail,
      redemptionKey,
      delivery: (delivery.json as { id: string }).id,
      subscription: (subscription.json as { id: string }).id,
      template: 'receipt',
      marker,
    },
  };
}
