import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { createPool, type Pool } from '@pos/database';
import { createLogger, loadConfig } from '@pos/utils';
import { PASSWORD, bearer, createShop, startAuthServer, type AuthServer, type Shop } from '../../auth-service/test/helpers';
import { configSchema } from '../src/config';
import { buildDeps, closeDeps, type BuiltDeps } from '../src/build-deps';
import { createApp } from '../src/app';

export { bearer, createShop, startAuthServer, PASSWORD, type AuthServer, type Shop };


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
