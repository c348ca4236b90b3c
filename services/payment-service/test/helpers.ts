import { Writable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import winston from 'winston';
import request from 'supertest';
import { createPool, type Pool } from '@pos/database';
import { createLogger, loadConfig } from '@pos/utils';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PASSWORD, bearer, createShop, startAuthServer, type AuthServer, type Shop } from '../../auth-service/test/helpers';
import { configSchema } from '../src/config';
import { buildDeps, closeDeps, type BuiltDeps } from '../src/build-deps';
import { createApp } from '../src/app';
import type { CustomersUnderTest } from '../../customer-service/test/helpers';

export { bearer, createShop, startAuthServer, PASSWORD, type AuthServer, type Shop };


/**
 * Fast timings for tests: one processor call 300 ms, tok_timeout answers after 1 s, one call to
 * customer-service 1.5 s, handler 3 s.
 */
export const TEST_TIMINGS = {
  PROCESSOR_TIMEOUT_MS: '300',
  SIMULATOR_SLOW_RESPONSE_MS: '1000',
  PROCESSOR_RETRY_BACKOFF_MS: '20',
  PAYMENT_HANDLER_TIMEOUT_MS: '3000',
  CUSTOMER_SERVICE_TIMEOUT_MS: '1500',
};

/** The test auth-service's client credentials (its SERVICE_CLIENTS), used for payment-service's service tokens. */
export const TEST_SERVICE_CLIENT = { SERVICE_CLIENT_ID: 'transaction-service', SERVICE_CLIENT_SECRET: 'test-secret-123' };

export interface PaymentsUnderTest {
  deps: BuiltDeps;
  app: ReturnType<typeof createApp>['app'];
  table: ReturnType<typeof createApp>['table'];
  /** Every line payment-service logged (JSON objects), for "never logged" assertions. */
  logLines: string[];
  close(): Promise<void>;
}

export async function startPayments(authUrl: string, overrides: Record<string, string> = {}): Promise<PaymentsUnderTest> {
  const config = loadConfig(configSchema, { ...process.env, AUTH_SERVICE_URL: authUrl, ...TEST_TIMINGS, ...TEST_SERVICE_CLIENT, ...overrides });
  const logLines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      logLines.push(chunk.toString());
      cb();
    },
  });
  const logger = createLogger({ service: 'payment-service', level: 'debug', transports: [new winston.transports.Stream({ stream })] });
  const deps = await buildDeps(config, logger);
  const { app, table } = createApp(deps);
  return { deps, app, table, logLines, close: () => closeDeps(deps) };
}

/** A client-credentials token (role `service`) for the shop's tenant, as transaction-service gets it. */
export async function serviceToken(auth: AuthServer, tenantId: string): Promise<string> {
  const res = await request(auth.svc.app)
    .post('/api/v1/auth/token')
    .send({ grant_type: 'client_credentials', client_id: 'transaction-service', client_secret: 'test-secret-123', tenantId })
    .expect(200);
  return res.body.accessToken as string;
}

export const usd = (amount: number) => ({ amount, currency: 'USD' });

/** A process body for the shop's main store. */
export function tender(shop: Shop, method: string, amount: number, extra: Record<string, unknown> = {}) {
  return { transactionId: randomUUID(), storeId: shop.storeId, method, amount: usd(amount), ...extra };
}

export function processPayment(p: PaymentsUnderTest, token: string, body: Record<string, unknown>, key: string = randomUUID()) {
  return request(p.app).post('/api/v1/payments/process').set(bearer(token)).set('Idempotency-Key', key).send(body);
}

export async function issueGiftCard(p: PaymentsUnderTest, token: string, amount: number, code?: string) {
  const res = await request(p.app)
    .post('/api/v1/gift-cards')
    .set(bearer(token))
    .set('Idempotency-Key', randomUUID())
    .send({ initialBalance: usd(amount), ...(code ? { code } : {}) })
    .expect(201);
  return res.body as { id: string; code: string; last4: string; balance: { amount: number; currency: string } };
}

/** Owner connection for assertions on stored state. */
export function adminPool(): Pool {
  return createPool({ connectionString: process.env.DATABASE_ADMIN_URL!, max: 2 });
}

export async function paymentRows(admin: Pool, tenantId: string, key: string) {
  const { rows } = await admin.query('SELECT * FROM payments.payments WHERE tenant_id = $1 AND idempotency_key = $2', [tenantId, key]);
  return rows;
}

export async function events(admin: Pool, type: string, paymentId: string) {
  const { rows } = await admin.query("SELECT envelope FROM payments.outbox WHERE type = $1 AND envelope->'data'->>'paymentId' = $2 ORDER BY seq", [type, paymentId]);
  return rows.map((r) => r.envelope as { type: string; tenantId: string; data: Record<string, unknown> });
}

/** A gift card's ledger sum must equal its balance. */
export async function giftCardDrift(admin: Pool, tenantId: string) {
  const { rows } = await admin.query(
    `SELECT c.id, c.balance, COALESCE(SUM(l.amount), 0)::bigint AS sum
       FROM payments.gift_cards c LEFT JOIN payments.gift_card_ledger l ON l.gift_card_id = c.id
      WHERE c.tenant_id = $1 GROUP BY c.id, c.balance HAVING c.balance <> COALESCE(SUM(l.amount), 0)`,
    [tenantId],
  );
  return rows;
}

/** The real customer-service (loyalty ledger) on a loopback port, for `loyalty` payments. */
export interface CustomerServer {
  app: CustomersUnderTest['app'];
  url: string;
  close(): Promise<void>;
}

export async function startCustomerServer(authUrl: string): Promise<CustomerServer> {
  // Loaded lazily: customer-service is a sibling workspace.
  const { startCustomers } = await import('../../customer-service/test/helpers');
  const customers = await startCustomers(authUrl);
  const server: Server = customers.app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return {
    app: customers.app,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await customers.close();
    },
  };
}

/** A customer with `points` loyalty points (granted by an owner's adjustment at customer-service). */
export async function customerWithPoints(customers: CustomerServer, ownerToken: string, points: number): Promise<string> {
  const tag = randomUUID().slice(0, 8);
  const created = await request(customers.app).post('/api/v1/customers').set(bearer(ownerToken)).send({ name: `Loyal ${tag}`, email: `loyal-${tag}@example.test` }).expect(201);
  const id = created.body.id as string;
  if (points > 0) {
    await request(customers.app)
      .post(`/api/v1/customers/${id}/loyalty/adjustments`)
      .set(bearer(ownerToken))
      .set('Idempotency-Key', randomUUID())
      .send({ points, reason: 'welcome bonus' })
      .expect(201);
  }
  return id;
}

export async function pointsBalance(customers: CustomerServer, token: string, customerId: string): Promise<number> {
  const res = await request(customers.app).get(`/api/v1/customers/${customerId}/loyalty`).set(bearer(token)).expect(200);
  return res.body.balance as number;
}
