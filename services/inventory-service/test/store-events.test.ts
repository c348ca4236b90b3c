import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { Redis } from 'ioredis';
import { createPool, type Pool } from '@pos/database';
import { EventConsumer, OutboxRelay } from '@pos/events';
import { storeEventHandlers } from '@pos/stores';
import { bearer, createProduct, createShop, startAuthServer, startInventory, type AuthServer, type InventoryUnderTest, type Shop } from './helpers';

// auth-service publishes store events; inventory keeps its projection of the negative-stock policy from them.
describe('inventory-service store projection from auth-service events', () => {
  let auth: AuthServer;
  let inv: InventoryUnderTest;
  let shop: Shop;
  let worker: Pool;
  let relay: OutboxRelay;
  let consumer: EventConsumer;
  const redis: Redis[] = [];
  const prefix = `test-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    auth = await startAuthServer();
    inv = await startInventory(auth.url);
    shop = await createShop(auth);
    worker = createPool({ connectionString: process.env.WORKER_DATABASE_URL!, max: 2 });
    redis.push(new Redis(process.env.REDIS_URL!), new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null }));
    relay = new OutboxRelay({ pool: worker, redis: redis[0]!, schema: 'auth', service: 'auth-service', streamPrefix: prefix, pollIntervalMs: 20 });
    consumer = new EventConsumer({ redis: redis[1]!, pool: inv.deps.pool, schema: 'inventory', group: 'inventory-service', streams: ['auth-service'], streamPrefix: prefix, handlers: storeEventHandlers('inventory'), blockMs: 100 });
    relay.start();
    await consumer.start();
  });
  afterAll(async () => {
    await consumer.stop();
    await relay.stop();
    const keys = await redis[0]!.keys(`${prefix}:*`);
    if (keys.length) await redis[0]!.del(...keys);
    await Promise.all(redis.map((r) => r.quit()));
    await worker.end();
    await inv.close();
    await auth.close();
  });

  const waitFor = async (check: () => Promise<boolean>) => {
    for (let i = 0; i < 100; i++) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('condition not reached');
  };

  it('when the owner lets a store sell below zero in auth-service, then inventory allows it once the event arrives', async () => {
    const p = await createProduct(inv.app, shop.accessToken);
    const sell = () => request(inv.app).post('/api/v1/stock/reservations').set(bearer(shop.accessToken)).send({ saleId: randomUUID(), storeId: shop.storeId, lines: [{ productId: p.id, quantity: 1 }] });
    await sell().expect(409);

    const store = await request(auth.svc.app).get(`/api/v1/stores/${shop.storeId}`).set(bearer(shop.accessToken)).expect(200);
    await request(auth.svc.app).patch(`/api/v1/stores/${shop.storeId}`).set(bearer(shop.accessToken)).send({ version: store.body.version, allowNegativeStock: true }).expect(200);
    await waitFor(async () => (await sell()).status === 201);
    const { rows } = await auth.svc.admin.query('SELECT allow_negative_stock, source_version FROM inventory.stores WHERE id = $1', [shop.storeId]);
    expect(rows[0]).toEqual({ allow_negative_stock: true, source_version: store.body.version + 1 });
  });
});
