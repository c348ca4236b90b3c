import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { Redis } from 'ioredis';
import { eventStream, type EventConsumer } from '@pos/events';
import { connectMongo, factId, type MongoHandle } from '@pos/mongo';
import type { EventEnvelope } from '@pos/types';
import { createLogger, loadConfig } from '@pos/utils';
import { TcpProxy } from '../../../shared/mongo/test/tcp-proxy';
import { configSchema } from '../src/config';
import { buildDeps, closeDeps } from '../src/build-deps';
import { createApp } from '../src/app';
import { createAnalyticsConsumer } from '../src/analytics/analytics-consumer';
import { SALES_ANALYTICS, salesFact } from '../src/analytics/sales-facts';
import { localHour } from '../src/domain/business-date';
import { bearer, createShop, openShift, sell, startStack, stockedProduct, usd, type Shop, type Stack } from './helpers';

/*
 * Sales analytics from REAL sales: the checkout runs in-process (auth, inventory, payment and
 * transaction services) and writes sale.completed / sale.refunded / sale.voided to its outbox; the
 * test publishes exactly this tenant's rows (as the outbox relay does) to a stream with a prefix of its
 * own, read by the real analytics consumer (group transaction-service, inbox sales.inbox), which writes
 * one fact per event to MongoDB. The analytics routes must then give the same numbers as the Postgres
 * report (/reports/sales) for the same stores and days.
 */

const FROM = '2000-01-01';
const TO = '2099-12-31';
const waitFor = async <T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 20_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

type Row = Record<string, unknown> & { key: string };
/** The fields the Postgres report has, from a report or analytics row. */
const pgShape = (r: Row) => ({
  key: r.key,
  salesCount: r.salesCount,
  gross: r.gross,
  discounts: r.discounts,
  tax: r.tax,
  net: r.net,
  ...(r.quantity !== undefined ? { quantity: r.quantity, label: r.label } : {}),
});
const TOTALS = ['salesCount', 'gross', 'discounts', 'tax', 'net', 'refunds', 'netAfterRefunds'] as const;
const pick = (t: Record<string, unknown>) => Object.fromEntries(TOTALS.map((k) => [k, t[k]]));

describe('sales analytics (MongoDB sales_analytics, fed by sale events)', () => {
  let stack: Stack;
  let shop: Shop;
  let mongo: MongoHandle;
  let redis: Redis;
  let consumerRedis: Redis;
  let consumer: EventConsumer;
  let kolkataStoreId: string;
  const prefix = `test-analytics-${randomUUID().slice(0, 8)}`;
  const stream = eventStream('transaction-service', prefix);
  const published = new Set<string>();
  const sales: Record<string, { id: string; lines: Array<{ id: string }>; total: { amount: number } }> = {};

  /** Publishes this tenant's sale events not yet published, in outbox order; returns all of them. */
  const publish = async () => {
    const { rows } = await stack.admin.query<{ envelope: EventEnvelope }>("SELECT envelope FROM sales.outbox WHERE tenant_id = $1 AND type LIKE 'sale.%' ORDER BY seq", [shop.tenantId]);
    for (const { envelope } of rows.filter((r) => !published.has(r.envelope.id))) {
      await redis.xadd(stream, '*', 'event', JSON.stringify(envelope));
      published.add(envelope.id);
    }
    return rows.map((r) => r.envelope);
  };
  const facts = () => mongo.db.collection(SALES_ANALYTICS).find({ tenantId: shop.tenantId }).toArray();
  const waitForFacts = (n: number) => waitFor(async () => ((await facts()).length >= n ? true : undefined), `${n} facts`);
  const drained = () =>
    waitFor(async () => {
      const groups = (await redis.call('XINFO', 'GROUPS', stream)) as unknown[][];
      const g = groups[0] ?? [];
      const info: Record<string, unknown> = {};
      for (let i = 0; i + 1 < g.length; i += 2) info[String(g[i])] = g[i + 1];
      const last = (await redis.xrevrange(stream, '+', '-', 'COUNT', 1))[0]?.[0];
      return info['pending'] === 0 && info['last-delivered-id'] === last;
    }, 'stream drained');

  const report = (token: string, query: Record<string, string>) => request(stack.app).get('/api/v1/reports/sales').query(query).set(bearer(token)).expect(200);
  const analytics = (token: string, query: Record<string, string>) => request(stack.app).get('/api/v1/reports/analytics').query(query).set(bearer(token));

  beforeAll(async () => {
    stack = await startStack();
    shop = await createShop(stack.auth);
    mongo = connectMongo(process.env.MONGODB_URI!, process.env.MONGODB_DB!);
    redis = new Redis(process.env.REDIS_URL!);
    consumerRedis = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
    consumer = createAnalyticsConsumer({ redis: consumerRedis, pool: stack.deps.pool, db: mongo.db, streamPrefix: prefix, blockMs: 100, retryDelayMs: 100, claimIdleMs: 300 });
    await consumer.start();

    // A second store on Indian time (+05:30), so store-local hours and days differ from UTC.
    const kolkata = await request(stack.auth.svc.app)
      .post('/api/v1/stores')
      .set(bearer(shop.accessToken))
      .send({ name: 'Kolkata', currency: 'USD', timezone: 'Asia/Kolkata', taxInclusive: true, allowNegativeStock: true })
      .expect(201);
    kolkataStoreId = kolkata.body.id;

    await openShift(stack, shop.cashier.token, shop.storeId);
    await openShift(stack, shop.manager.token, shop.storeId);
    await openShift(stack, shop.accessToken, kolkataStoreId);
    const [coffee, mug, tea] = [await stockedProduct(stack, shop, 1000, 825), await stockedProduct(stack, shop, 450, 0), await stockedProduct(stack, shop, 333, 1000)];
    const sale = async (name: string, token: string, body: Record<string, unknown>) => {
      const res = await sell(stack, token, body).expect(201);
      sales[name] = res.body;
    };
    await sale('cashA', shop.cashier.token, {
      storeId: shop.storeId,
      lines: [{ productId: coffee.id, quantity: 2, discount: { percent: 10 } }, { productId: mug.id, quantity: 1 }],
      tenders: [{ method: 'cash', amount: usd(3000) }],
    });
    await sale('split', shop.cashier.token, {
      storeId: shop.storeId,
      lines: [{ productId: tea.id, quantity: 3 }, { productId: coffee.id, quantity: 1 }, { productId: tea.id, quantity: 1 }],
      discounts: [{ amount: usd(150) }],
      tenders: [{ method: 'card', amount: usd(1000), cardToken: 'tok_visa' }, { method: 'cash', amount: usd(5000) }],
    });
    await sale('card', shop.manager.token, { storeId: shop.storeId, lines: [{ productId: mug.id, quantity: 4 }], tenders: [{ method: 'card', amount: usd(1800), cardToken: 'tok_mastercard' }] });
    await sale('voided', shop.cashier.token, { storeId: shop.storeId, lines: [{ productId: coffee.id, quantity: 1 }], tenders: [{ method: 'cash', amount: usd(2000) }] });
    await sale('kolkata', shop.accessToken, { storeId: kolkataStoreId, lines: [{ productId: tea.id, quantity: 2 }, { productId: mug.id, quantity: 1 }], tenders: [{ method: 'cash', amount: usd(5000) }] });
    // A partial refund (one of two coffees, back to cash) and a void.
    await request(stack.app)
      .post(`/api/v1/transactions/${sales.cashA!.id}/refunds`)
      .set(bearer(shop.manager.token))
      .set('Idempotency-Key', randomUUID())
      .send({ lines: [{ lineId: sales.cashA!.lines[0]!.id, quantity: 1 }], restock: false, reason: 'spilled' })
      .expect(201);
    await request(stack.app).post(`/api/v1/transactions/${sales.voided!.id}/void`).set(bearer(shop.manager.token)).set('Idempotency-Key', randomUUID()).send({ reason: 'rang twice' }).expect(200);

    const events = await publish();
    expect(events.map((e) => e.type).sort()).toEqual([...Array(5).fill('sale.completed'), 'sale.refunded', 'sale.voided'].sort());
    await waitForFacts(events.length);
  }, 90_000);

  afterAll(async () => {
    await consumer.stop();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await Promise.all([redis.quit(), consumerRedis.quit()]);
    await mongo.close();
    await stack.close();
  });

  it('when every sale event is consumed, then there is one fact per event, signed so that a void cancels its sale', async () => {
    const all = await facts();
    expect(all).toHaveLength(7);
    for (const f of all) expect(f._id).toEqual(factId(String(f.eventId)));
    const voids = all.filter((f) => f.kind === 'void');
    const voidedSale = all.find((f) => f.kind === 'sale' && f.saleId === sales.voided!.id)!;
    expect(voids).toHaveLength(1);
    expect(voids[0]).toMatchObject({ saleId: sales.voided!.id, salesCount: -1, net: -voidedSale.net, voids: voidedSale.net, voidCount: 1, businessDate: voidedSale.businessDate });
    const refund = all.find((f) => f.kind === 'refund')!;
    expect(refund).toMatchObject({ saleId: sales.cashA!.id, salesCount: 0, net: 0, refundCount: 1, refunds: expect.any(Number), lines: [expect.objectContaining({ refundedQuantity: 1 })] });
    expect(refund.occurredAt).toBeInstanceOf(Date);
    // The Kolkata sale's hour is on Indian time.
    const k = all.find((f) => f.saleId === sales.kolkata!.id)!;
    expect(k.hour).toBe(localHour(new Date((sales.kolkata as unknown as { createdAt: string }).createdAt), 'Asia/Kolkata'));
  });

  it.each(['day', 'hour', 'cashier', 'product', 'tender'])('when grouped by %s, then the analytics equal the Postgres report for each store', async (groupBy) => {
    for (const storeId of [shop.storeId, kolkataStoreId]) {
      const query = { storeId, from: FROM, to: TO, groupBy };
      const pg = (await report(shop.accessToken, query)).body;
      const mg = (await analytics(shop.accessToken, query).expect(200)).body;
      expect(mg.rows.map(pgShape)).toEqual(pg.rows.map(pgShape));
      expect(mg.totals).toHaveLength(1);
      expect(pick(mg.totals[0])).toEqual(pick(pg.totals));
      expect(pg.totals.salesCount).toBeGreaterThan(0);
    }
  });

  it('when the analytics are read, then refunds and voids are reported too', async () => {
    const mg = (await analytics(shop.accessToken, { storeId: shop.storeId, from: FROM, to: TO }).expect(200)).body;
    expect(mg.totals[0]).toMatchObject({ currency: 'USD', salesCount: 3, refundCount: 1, voidCount: 1, voids: usd(sales.voided!.total.amount) });
    expect(mg.totals[0].refunds.amount).toBeGreaterThan(0);
    const byProduct = (await analytics(shop.accessToken, { storeId: shop.storeId, from: FROM, to: TO, groupBy: 'product' }).expect(200)).body;
    const coffeeRow = byProduct.rows.find((r: Row) => r.key === (sales.cashA as unknown as { lines: Array<{ productId: string }> }).lines[0]!.productId);
    expect(coffeeRow).toMatchObject({ refundCount: 1, refunds: mg.totals[0].refunds });
  });

  it('when top products are asked for, then they are the Postgres product rows by net (or quantity), limited', async () => {
    const pg = (await report(shop.accessToken, { storeId: shop.storeId, from: FROM, to: TO, groupBy: 'product' })).body.rows as Row[];
    const top = (await request(stack.app).get('/api/v1/reports/top-products').query({ storeId: shop.storeId, from: FROM, to: TO, limit: '2' }).set(bearer(shop.manager.token)).expect(200)).body;
    expect(top.data.map((p: Row) => [p.productId, p.quantity, p.net])).toEqual(pg.slice(0, 2).map((r) => [r.key, r.quantity, r.net]));
    const byQty = (await request(stack.app).get('/api/v1/reports/top-products').query({ storeId: shop.storeId, from: FROM, to: TO, sortBy: 'quantity' }).set(bearer(shop.accessToken)).expect(200)).body;
    const qty = byQty.data.map((p: Row) => p.quantity as number);
    expect([...qty].sort((a, b) => b - a)).toEqual(qty);
    expect(byQty.data).toHaveLength(pg.length);
    for (const p of byQty.data) expect(p.netAfterRefunds.amount).toBe(p.net.amount - p.refunds.amount);
  });

  it('when no store is given, then an owner sees every store and a manager only theirs; other roles, stores and tenants are refused', async () => {
    const main = (await report(shop.accessToken, { storeId: shop.storeId, from: FROM, to: TO })).body.totals;
    const kol = (await report(shop.accessToken, { storeId: kolkataStoreId, from: FROM, to: TO })).body.totals;
    const owner = (await analytics(shop.accessToken, { from: FROM, to: TO }).expect(200)).body;
    expect(owner.storeId).toBeNull();
    expect(owner.totals[0]).toMatchObject({ salesCount: main.salesCount + kol.salesCount, net: usd(main.net.amount + kol.net.amount) });
    const manager = (await analytics(shop.manager.token, { from: FROM, to: TO }).expect(200)).body;
    expect(pick(manager.totals[0])).toEqual(pick(main));

    await analytics(shop.manager.token, { storeId: kolkataStoreId, from: FROM, to: TO }).expect(403);
    await analytics(shop.cashier.token, { storeId: shop.storeId, from: FROM, to: TO }).expect(403);
    await request(stack.app).get('/api/v1/reports/top-products').query({ from: FROM, to: TO }).set(bearer(shop.cashier.token)).expect(403);
    const bad = await analytics(shop.accessToken, { from: FROM, to: 'soon', groupBy: 'week', storeId: 'nope' }).expect(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['query.groupBy', 'query.storeId', 'query.to']);
    expect((await analytics(shop.accessToken, { from: TO, to: FROM }).expect(400)).body.errors).toEqual([expect.objectContaining({ path: 'query.from' })]);

    const other = await createShop(stack.auth);
    await analytics(other.accessToken, { storeId: shop.storeId, from: FROM, to: TO }).expect(404);
    const theirs = (await analytics(other.accessToken, { from: FROM, to: TO }).expect(200)).body;
    expect(theirs.rows).toEqual([]);
    expect(theirs.totals).toEqual([]);
    expect((await request(stack.app).get('/api/v1/reports/top-products').query({ from: FROM, to: TO }).set(bearer(other.accessToken)).expect(200)).body.data).toEqual([]);
  });

  it('when the same events are delivered again (even past the inbox), then they are counted once', async () => {
    const before = await facts();
    const events = await publish();
    for (const e of events) await redis.xadd(stream, '*', 'event', JSON.stringify(e));
    await drained();
    const ids = events.map((e) => e.id);
    await stack.admin.query("DELETE FROM sales.inbox WHERE consumer = 'transaction-service' AND event_id = ANY($1::uuid[])", [ids]);
    for (const e of events) await redis.xadd(stream, '*', 'event', JSON.stringify(e));
    await waitFor(async () => {
      const { rows } = await stack.admin.query<{ n: number }>("SELECT count(*)::int AS n FROM sales.inbox WHERE consumer = 'transaction-service' AND event_id = ANY($1::uuid[])", [ids]);
      return rows[0]!.n === ids.length;
    }, 'redelivered events handled');
    await drained();
    const after = await facts();
    expect(after).toHaveLength(before.length);
    expect(new Map(after.map((f) => [String(f.eventId), JSON.stringify(f)]))).toEqual(new Map(before.map((f) => [String(f.eventId), JSON.stringify(f)])));
    for (const groupBy of ['day', 'product', 'tender']) {
      const query = { storeId: shop.storeId, from: FROM, to: TO, groupBy };
      const pg = (await report(shop.accessToken, query)).body;
      const mg = (await analytics(shop.accessToken, query).expect(200)).body;
      expect(mg.rows.map(pgShape)).toEqual(pg.rows.map(pgShape));
      expect(pick(mg.totals[0])).toEqual(pick(pg.totals));
    }
  });

  it('when MongoDB is unreachable, then the analytics answer 503 problem+json quickly and sales keep completing', async () => {
    const proxy = await TcpProxy.forUri(process.env.MONGODB_URI!).start();
    proxy.pause();
    const config = loadConfig(configSchema, {
      ...process.env,
      AUTH_SERVICE_URL: stack.auth.url,
      INVENTORY_SERVICE_URL: stack.inventoryUrl,
      PAYMENT_SERVICE_URL: stack.paymentUrl,
      SERVICE_CLIENT_ID: 'transaction-service',
      SERVICE_CLIENT_SECRET: 'test-secret-123',
      MONGODB_URI: proxy.uri(),
    });
    const deps = buildDeps(config, createLogger({ service: 'transaction-service', level: 'error' }));
    const { app } = createApp(deps);
    try {
      const product = await stockedProduct(stack, shop, 500, 0);
      await request(app).post('/api/v1/transactions').set(bearer(shop.cashier.token)).set('Idempotency-Key', randomUUID()).send({ storeId: shop.storeId, lines: [{ productId: product.id, quantity: 1 }], tenders: [{ method: 'cash', amount: usd(500) }] }).expect(201);
      const started = Date.now();
      const res = await request(app).get('/api/v1/reports/analytics').query({ storeId: shop.storeId, from: FROM, to: TO }).set(bearer(shop.accessToken)).expect(503);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(res.body).toMatchObject({ status: 503, code: 'analytics_unavailable' });
      await request(app).get('/api/v1/reports/sales').query({ storeId: shop.storeId, from: FROM, to: TO }).set(bearer(shop.accessToken)).expect(200);
    } finally {
      await closeDeps(deps);
      await proxy.close();
    }
  });
});

describe('salesFact (pure)', () => {
  const money = (amount: number) => ({ amount, currency: 'EUR' });
  const sale = {
    id: randomUUID(),
    storeId: randomUUID(),
    cashierId: randomUUID(),
    businessDate: '2025-03-09',
    createdAt: '2025-03-09T23:30:00.000Z',
    subtotal: money(1000),
    discountTotal: money(100),
    taxTotal: money(90),
    total: money(990),
    lines: [
      { id: 'l1', productId: 'p1', sku: 'A', name: 'Apple', quantity: 2, unitPrice: money(300), discount: money(60), tax: money(54), total: money(594) },
      { id: 'l2', productId: 'p1', sku: 'A', name: 'Apple', quantity: 1, unitPrice: money(300), discount: money(30), tax: money(27), total: money(297) },
      { id: 'l3', productId: 'p2', sku: 'B', name: 'Bread', quantity: 1, unitPrice: money(100), discount: money(10), tax: money(9), total: money(99) },
    ],
    tenders: [
      { method: 'card', amount: money(500) },
      { method: 'card', amount: money(290) },
      { method: 'cash', amount: money(200) },
      { method: 'gift_card', amount: money(0) },
    ],
  };
  const envelope = (type: string, data: Record<string, unknown>): EventEnvelope => ({ id: randomUUID(), type, version: 1, tenantId: randomUUID(), occurredAt: new Date().toISOString(), requestId: null, data });

  it('when a sale has several lines of one product and several tenders of one method, then the fact adds them up per product and method', () => {
    const f = salesFact(envelope('sale.completed', sale), 'Europe/Berlin')!;
    expect(f).toMatchObject({ kind: 'sale', businessDate: '2025-03-09', hour: '00', currency: 'EUR', salesCount: 1, gross: 1000, discounts: 100, tax: 90, net: 990 });
    expect(f.lines).toEqual([
      expect.objectContaining({ productId: 'p1', salesCount: 1, quantity: 3, gross: 900, discounts: 90, tax: 81, net: 891 }),
      expect.objectContaining({ productId: 'p2', salesCount: 1, quantity: 1, gross: 100, net: 99 }),
    ]);
    expect(f.tenders).toEqual([
      { method: 'card', salesCount: 1, amount: 790, refundCount: 0, refunds: 0 },
      { method: 'cash', salesCount: 1, amount: 200, refundCount: 0, refunds: 0 },
    ]);
  });

  it('when a refund is given just after midnight store time, then it counts on that store-local day', () => {
    const refund = { id: randomUUID(), total: money(297), createdAt: '2025-03-09T23:10:00.000Z', lines: [{ lineId: 'l2', quantity: 1, total: money(297) }], tenders: [{ method: 'cash', amount: money(297) }] };
    const f = salesFact(envelope('sale.refunded', { refund, sale }), 'Europe/Berlin')!;
    expect(f).toMatchObject({ kind: 'refund', businessDate: '2025-03-10', hour: '00', salesCount: 0, net: 0, refunds: 297, refundCount: 1 });
    expect(f.lines).toEqual([expect.objectContaining({ productId: 'p1', quantity: 0, refundedQuantity: 1, refunds: 297, refundCount: 1 })]);
    expect(f.tenders).toEqual([{ method: 'cash', salesCount: 0, amount: 0, refundCount: 1, refunds: 297 }]);
  });

  it('when data does not match the sale contract, then it throws (the consumer dead-letters it after retries); other types give no fact', () => {
    expect(() => salesFact(envelope('sale.completed', { id: 'x' }), 'UTC')).toThrow();
    expect(salesFact(envelope('stock.changed', {}), 'UTC')).toBeUndefined();
  });
});
