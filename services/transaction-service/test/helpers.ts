import type { AddressInfo, Server } from 'node:net';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { createPool, type Pool } from '@pos/database';
import { createLogger, loadConfig } from '@pos/utils';
import { bearer, createProduct, createShop, receive, startAuthServer, startInventory, type AuthServer, type InventoryUnderTest, type Shop } from '../../inventory-service/test/helpers';
import { configSchema } from '../src/config';
import { buildDeps, closeDeps } from '../src/build-deps';
import { createApp } from '../src/app';
import { Checkout } from '../src/checkout';
import { Refunds } from '../src/refunds';
import type { TransactionDeps } from '../src/deps';
import type { CustomerServer } from '../../payment-service/test/helpers';

export { bearer, createProduct, createShop, receive, type Shop };

async function listen(app: Parameters<typeof request>[0] & { listen: (port: number, host: string) => Server }): Promise<{ url: string; server: Server }> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const close = (server: Server) =>
  new Promise((r) => {
    server.closeAllConnections();
    server.close(r);
  });

/** The real auth-, inventory- and payment-services on loopback ports, and transaction-service under test. */
export interface Stack {
  auth: AuthServer;
  inventory: InventoryUnderTest;
  inventoryUrl: string;
  paymentUrl: string;
  payment: { close(): Promise<void>; deps: { redis: { keys(p: string): Promise<string[]> } } };
  /** The real customer-service (loyalty points), when started with `{ customers: true }`. */
  customers?: CustomerServer;
  deps: TransactionDeps;
  checkout: Checkout;
  refunds: Refunds;
  app: ReturnType<typeof createApp>['app'];
  table: ReturnType<typeof createApp>['table'];
  admin: Pool;
  close(): Promise<void>;
}

export async function startStack(overrides: Record<string, string> = {}, options: { customers?: boolean } = {}): Promise<Stack> {
  const auth = await startAuthServer();
  const inventory = await startInventory(auth.url);
  const inv = await listen(inventory.app as never);
  // Loaded lazily: payment-service is a sibling workspace.
  const paymentHelpers = await import('../../payment-service/test/helpers');
  // Loyalty tenders need customer-service behind payment-service.
  const customers = options.customers ? await paymentHelpers.startCustomerServer(auth.url) : undefined;
  const payment = await paymentHelpers.startPayments(auth.url, customers ? { CUSTOMER_SERVICE_URL: customers.url } : {});
  const pay = await listen(payment.app as never);
  const config = loadConfig(configSchema, {
    ...process.env,
    AUTH_SERVICE_URL: auth.url,
    INVENTORY_SERVICE_URL: inv.url,
    PAYMENT_SERVICE_URL: pay.url,
    SERVICE_CLIENT_ID: 'transaction-service',
    SERVICE_CLIENT_SECRET: 'test-secret-123',
    ...overrides,
  });
  const deps = buildDeps(config, createLogger({ service: 'transaction-service', level: 'error' }));
  const checkout = new Checkout(deps);
  const refunds = new Refunds(deps);
  const { app, table } = createApp(deps, checkout, refunds);
  const admin = createPool({ connectionString: process.env.DATABASE_ADMIN_URL!, max: 2 });
  return {
    auth,
    inventory,
    inventoryUrl: inv.url,
    paymentUrl: pay.url,
    payment: payment as never,
    customers,
    deps,
    checkout,
    refunds,
    app,
    table,
    admin,
    async close() {
      await close(inv.server);
      await close(pay.server);
      await closeDeps(deps);
      await payment.close();
      await customers?.close();
      await inventory.close();
      await auth.close();
      await admin.end();
    },
  };
}

export async function openShift(stack: Stack, token: string, storeId: string, float = 10_000, currency = 'USD'): Promise<string> {
  const res = await request(stack.app).post('/api/v1/shifts').set(bearer(token)).send({ storeId, openingFloat: { amount: float, currency } }).expect(201);
  return res.body.id;
}

export function sell(stack: Stack, token: string, body: Record<string, unknown>, key: string = randomUUID()) {
  return request(stack.app).post('/api/v1/transactions').set(bearer(token)).set('Idempotency-Key', key).send(body);
}

export const usd = (amount: number) => ({ amount, currency: 'USD' });

/** A product with stock at the shop's main store. */
export async function stockedProduct(stack: Stack, shop: Shop, price: number, taxRateBps: number, quantity = 50) {
  const p = await createProduct(stack.inventory.app, shop.accessToken, { price: usd(price), taxRateBps });
  await receive(stack.inventory.app, shop.accessToken, shop.storeId, p.id, quantity);
  return p;
}

export async function onHand(stack: Stack, storeId: string, productId: string): Promise<number> {
  const { rows } = await stack.admin.query('SELECT on_hand FROM inventory.stock_levels WHERE store_id = $1 AND product_id = $2', [storeId, productId]);
  return rows[0]?.on_hand ?? 0;
}
