import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { createPool, type Pool } from '@pos/database';
import { createLogger, loadConfig } from '@pos/utils';
import { bearer, createShop, startAuthServer, type AuthServer, type Shop } from '../../inventory-service/test/helpers';
import { configSchema } from '../src/config';
import { buildDeps, closeDeps } from '../src/build-deps';
import { createApp } from '../src/app';
import type { CustomerDeps } from '../src/deps';

export { bearer, createShop, startAuthServer, type AuthServer, type Shop };

export interface CustomersUnderTest {
  deps: CustomerDeps;
  app: ReturnType<typeof createApp>['app'];
  table: ReturnType<typeof createApp>['table'];
  close(): Promise<void>;
}

export async function startCustomers(authUrl: string, overrides: Record<string, string> = {}): Promise<CustomersUnderTest> {
  const config = loadConfig(configSchema, { ...process.env, AUTH_SERVICE_URL: authUrl, ...overrides });
  const deps = await buildDeps(config, createLogger({ service: 'customer-service', level: 'error' }));
  const { app, table } = createApp(deps);
  return { deps, app, table, close: () => closeDeps(deps) };
}

/** A service token (role `service`) for the tenant, as payment- or notification-service would hold. */
export async function serviceToken(auth: AuthServer, tenantId: string): Promise<string> {
  const res = await request(auth.svc.app)
    .post('/api/v1/auth/token')
    .send({ grant_type: 'client_credentials', client_id: 'transaction-service', client_secret: 'test-secret-123', tenantId })
    .expect(200);
  return res.body.accessToken;
}

/** Owner connection for assertions on stored state. */
export function adminPool(): Pool {
  return createPool({ connectionString: process.env.DATABASE_ADMIN_URL!, max: 2 });
}

let counter = 0;
/** A valid, unique-enough North American number in national notation: (NXX) NXX-XXXX. */
export function usPhone(): { national: string; e164: string } {
  counter += 1;
  const area = 200 + Math.floor(Math.random() * 700);
  const exchange = 200 + Math.floor(Math.random() * 700);
  const line = String((Date.now() + counter * 7919) % 10_000).padStart(4, '0');
  const fixedArea = /11$/.test(String(area)) ? area + 1 : area;
  return { national: `(${fixedArea}) ${exchange}-${line}`, e164: `+1${fixedArea}${exchange}${line}` };
}

export function customerBody(overrides: Record<string, unknown> = {}) {
  const tag = randomUUID().slice(0, 8);
  return { name: `Casey Customer ${tag}`, email: `casey-${tag}@example.test`, phone: usPhone().national, ...overrides };
}

export async function createCustomer(app: CustomersUnderTest['app'], token: string, overrides: Record<string, unknown> = {}) {
  const res = await request(app).post('/api/v1/customers').set(bearer(token)).send(customerBody(overrides)).expect(201);
  return res.body as { id: string; name: string; email: string | null; phone: string | null; version: number; loyaltyBalance: number };
}

/** Gives a customer points through a manual adjustment. */
export async function grantPoints(app: CustomersUnderTest['app'], token: string, customerId: string, points: number) {
  await request(app)
    .post(`/api/v1/customers/${customerId}/loyalty/adjustments`)
    .set(bearer(token))
    .set('Idempotency-Key', randomUUID())
    .send({ points, reason: 'welcome bonus' })
    .expect(201);
}

/** The ledger sums to the balance, every balance_after is >= 0, and the running balance matches it. */
export async function ledgerProblems(admin: Pool, tenantId: string): Promise<string[]> {
  const { rows } = await admin.query<{ id: string; loyalty_balance: number; sum: number; bad_running: number; negative: number }>(
    `SELECT c.id, c.loyalty_balance, coalesce(sum(l.points), 0)::bigint AS sum,
            count(*) FILTER (WHERE l.balance_after <> running)::int AS bad_running,
            count(*) FILTER (WHERE l.balance_after < 0)::int AS negative
       FROM customers.customers c
       LEFT JOIN (SELECT *, sum(points) OVER (PARTITION BY customer_id ORDER BY seq) AS running FROM customers.loyalty_ledger) l ON l.customer_id = c.id
      WHERE c.tenant_id = $1 GROUP BY c.id, c.loyalty_balance`,
    [tenantId],
  );
  return rows.filter((r) => Number(r.sum) !== r.loyalty_balance || r.bad_running > 0 || r.negative > 0).map((r) => `${r.id}: balance ${r.loyalty_balance}, ledger ${r.sum}`);
}

export async function waitFor<T>(check: () => Promise<T | undefined | false>, what = 'condition', timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
