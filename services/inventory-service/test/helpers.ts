import type { AddressInfo, Server } from 'node:net';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { createPool, type Pool } from '@pos/database';
import { createLogger, loadConfig } from '@pos/utils';
import { PASSWORD, bearer, registerTenant, startAuthService, uniqueEmail, type RegisteredTenant, type TestAuthService } from '../../auth-service/test/helpers';
import { configSchema } from '../src/config';
import { buildDeps, closeDeps, type BuiltDeps } from '../src/build-deps';
import { createApp } from '../src/app';

export { bearer, PASSWORD };

/** A running auth-service (the real one: tokens, JWKS, stores) for inventory tests. */
export interface AuthServer {
  svc: TestAuthService;
  url: string;
  close(): Promise<void>;
}

export async function startAuthServer(): Promise<AuthServer> {
  const svc = await startAuthService();
  const server: Server = svc.app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return {
    svc,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections?.();
      await new Promise((r) => server.close(r));
      await svc.close();
    },
  };
}

export interface InventoryUnderTest {
  deps: BuiltDeps;
  app: ReturnType<typeof createApp>['app'];
  table: ReturnType<typeof createApp>['table'];
  close(): Promise<void>;
}

export async function startInventory(authUrl: string, overrides: Record<string, string> = {}): Promise<InventoryUnderTest> {
  const config = loadConfig(configSchema, { ...process.env, AUTH_SERVICE_URL: authUrl, ...overrides });
  const deps = await buildDeps(config, createLogger({ service: 'inventory-service', level: 'error' }));
  const { app, table } = createApp(deps);
  return { deps, app, table, close: () => closeDeps(deps) };
}

export interface Shop extends RegisteredTenant {
  /** A second store (allows negative stock). */
  otherStoreId: string;
  manager: { id: string; token: string };
  cashier: { id: string; token: string };
}

/** A tenant with two stores, a manager and a cashier of the first store. */
export async function createShop(auth: AuthServer): Promise<Shop> {
  const t = await registerTenant(auth.svc.app);
  const other = await request(auth.svc.app)
    .post('/api/v1/stores')
    .set(bearer(t.accessToken))
    .send({ name: 'Outlet', currency: 'USD', timezone: 'UTC', taxInclusive: false, allowNegativeStock: true })
    .expect(201);
  const user = async (role: 'manager' | 'cashier') => {
    const email = uniqueEmail(role);
    const created = await request(auth.svc.app).post('/api/v1/users').set(bearer(t.accessToken)).send({ email, name: role, role, storeIds: [t.storeId], password: PASSWORD }).expect(201);
    const login = await request(auth.svc.app).post('/api/v1/auth/login').send({ email, password: PASSWORD }).expect(200);
    return { id: created.body.id as string, token: login.body.accessToken as string };
  };
  return { ...t, otherStoreId: other.body.id, manager: await user('manager'), cashier: await user('cashier') };
}

let skuCounter = 0;
export function productBody(overrides: Record<string, unknown> = {}) {
  skuCounter += 1;
  const n = `${Date.now().toString(36)}${skuCounter}`;
  return { sku: `SKU-${n}`, name: `Product ${n}`, barcodes: [`${Date.now()}${skuCounter}`.slice(-13)], price: { amount: 499, currency: 'USD' }, taxRateBps: 825, ...overrides };
}

export async function createProduct(app: InventoryUnderTest['app'], token: string, overrides: Record<string, unknown> = {}) {
  const res = await request(app).post('/api/v1/products').set(bearer(token)).send(productBody(overrides)).expect(201);
  return res.body as { id: string; sku: string; barcodes: string[]; version: number; price: { amount: number } };
}

export async function receive(app: InventoryUnderTest['app'], token: string, storeId: string, productId: string, quantity: number) {
  return request(app)
    .post('/api/v1/stock/adjustments')
    .set(bearer(token))
    .set('Idempotency-Key', randomUUID())
    .send({ storeId, productId, quantity, reason: 'receive' })
    .expect(201);
}

/** Owner connection for assertions on stored state. */
export function adminPool(): Pool {
  return createPool({ connectionString: process.env.DATABASE_ADMIN_URL!, max: 2 });
}

/** on-hand must equal the sum of the ledger for every level of the tenant. */
export async function ledgerDrift(admin: Pool, tenantId: string): Promise<Array<{ id: string; on_hand: number; sum: number }>> {
  const { rows } = await admin.query(
    `SELECT l.id, l.on_hand, COALESCE(SUM(m.quantity), 0)::int AS sum
       FROM inventory.stock_levels l LEFT JOIN inventory.stock_movements m ON m.level_id = l.id
      WHERE l.tenant_id = $1 GROUP BY l.id, l.on_hand HAVING l.on_hand <> COALESCE(SUM(m.quantity), 0)`,
    [tenantId],
  );
  return rows;
}
