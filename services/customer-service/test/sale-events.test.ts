import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { Redis } from 'ioredis';
import { EventConsumer, eventStream } from '@pos/events';
import { bearer, openShift, sell, startStack, stockedProduct, usd, createShop, type Shop, type Stack } from '../../transaction-service/test/helpers';
import { saleEventHandlers } from '../src/events/sale-events';
import { createCustomer, ledgerProblems, startCustomers, waitFor, type CustomersUnderTest } from './helpers';

/*
 * Purchase history and loyalty from REAL sales: the checkout runs in-process (auth, inventory,
 * payment and transaction services), writes sale.completed / sale.refunded / sale.voided to its
 * outbox, and the test publishes exactly those rows — as the outbox relay does (XADD of the
 * envelope) — to a stream with a prefix of its own, read by customer-service's real EventConsumer
 * (group customer-service, inbox). Publishing only this test's rows keeps other test files' relays
 * and events out of the way.
 */
describe('customer-service history and loyalty from transaction-service events', () => {
  let stack: Stack;
  let svc: CustomersUnderTest;
  let shop: Shop;
  let consumer: EventConsumer;
  let redis: Redis;
  let consumerRedis: Redis;
  const prefix = `test-${randomUUID().slice(0, 8)}`;
  const stream = eventStream('transaction-service', prefix);
  const published = new Set<string>();

  beforeAll(async () => {
    stack = await startStack();
    svc = await startCustomers(stack.auth.url);
    shop = await createShop(stack.auth);
    await openShift(stack, shop.cashier.token, shop.storeId);
    await openShift(stack, shop.manager.token, shop.storeId);
    redis = new Redis(process.env.REDIS_URL!);
    consumerRedis = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
    consumer = new EventConsumer({
      redis: consumerRedis,
      pool: svc.deps.pool,
      schema: 'customers',
      group: 'customer-service',
      streams: ['transaction-service'],
      streamPrefix: prefix,
      handlers: saleEventHandlers(svc.deps),
      blockMs: 100,
      retryDelayMs: 100,
    });
    await consumer.start();
  }, 60_000);
  afterAll(async () => {
    await consumer.stop();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await Promise.all([redis.quit(), consumerRedis.quit()]);
    expect(await ledgerProblems(stack.admin, shop.tenantId)).toEqual([]);
    await svc.close();
    await stack.close();
  });

  /** Publishes the sale's outbox events not yet published by this test, in outbox order. */
  const publishSaleEvents = async (saleId: string) => {
    const { rows } = await stack.admin.query<{ id: string; envelope: unknown }>(
      `SELECT id, envelope FROM sales.outbox
        WHERE type IN ('sale.completed', 'sale.refunded', 'sale.voided') AND (envelope->'data'->>'id' = $1 OR envelope->'data'->'sale'->>'id' = $1)
        ORDER BY seq`,
      [saleId],
    );
    for (const row of rows.filter((r) => !published.has(r.id))) {
      await redis.xadd(stream, '*', 'event', JSON.stringify(row.envelope));
      published.add(row.id);
    }
    return rows.length;
  };

  /** Every entry of the stream was delivered to the group and acknowledged. */
  const drained = async () => {
    const groups = (await redis.call('XINFO', 'GROUPS', stream)) as unknown[][];
    const info = Object.fromEntries((groups[0] ?? []).reduce<Array<[string, unknown]>>((acc, v, i, arr) => (i % 2 === 0 ? [...acc, [String(v), arr[i + 1]]] : acc), []));
    const last = (await redis.xrevrange(stream, '+', '-', 'COUNT', 1))[0]?.[0];
    return info['pending'] === 0 && info['last-delivered-id'] === last;
  };

  const history = async (customerId: string, token = shop.accessToken) => (await request(svc.app).get(`/api/v1/customers/${customerId}/transactions`).set(bearer(token)).expect(200)).body.data;
  const loyalty = async (customerId: string) => (await request(svc.app).get(`/api/v1/customers/${customerId}/loyalty`).set(bearer(shop.accessToken)).expect(200)).body;
  const saleRow = async (saleId: string) => (await stack.admin.query('SELECT *, business_date::text AS business_date FROM customers.customer_sales WHERE sale_id = $1', [saleId])).rows[0];

  const cashSale = async (customerId: string | undefined, price: number, quantity: number, taxRateBps = 0) => {
    const p = await stockedProduct(stack, shop, price, taxRateBps);
    const res = await sell(stack, shop.cashier.token, {
      storeId: shop.storeId,
      ...(customerId ? { customerId } : {}),
      lines: [{ productId: p.id, quantity }],
      tenders: [{ method: 'cash', amount: usd(100_000) }],
    }).expect(201);
    return res.body as { id: string; total: { amount: number }; receiptNumber: number; businessDate: string; lines: Array<{ id: string }> };
  };
  const refund = (saleId: string, lineId: string, quantity: number) =>
    request(stack.app)
      .post(`/api/v1/transactions/${saleId}/refunds`)
      .set(bearer(shop.manager.token))
      .set('Idempotency-Key', randomUUID())
      .send({ lines: [{ lineId, quantity }], restock: false, reason: 'customer return' })
      .expect(201);
  const voidSale = (saleId: string) =>
    request(stack.app).post(`/api/v1/transactions/${saleId}/void`).set(bearer(shop.manager.token)).set('Idempotency-Key', randomUUID()).send({ reason: 'rang twice' }).expect(200);

  it('when a cashier sells to a customer through the checkout, then the sale appears in the history and points are earned on it once', async () => {
    const c = await createCustomer(svc.app, shop.cashier.token);
    const sale = await cashSale(c.id, 1000, 2, 825); // 2 x 10.00 + 8.25% = 21.65
    expect(sale.total.amount).toBe(2165);
    expect(await publishSaleEvents(sale.id)).toBe(1);
    const [entry] = await waitFor(async () => {
      const h = await history(c.id, shop.cashier.token);
      return h.length ? h : undefined;
    }, 'history row');
    expect(entry).toEqual({
      saleId: sale.id,
      storeId: shop.storeId,
      receiptNumber: sale.receiptNumber,
      status: 'completed',
      total: usd(2165),
      refundedTotal: usd(0),
      netTotal: usd(2165),
      occurredAt: expect.any(String),
      businessDate: sale.businessDate,
      loyalty: { pointsEarned: 21, pointsReversed: 0 },
      refunds: [],
    });
    const l = await loyalty(c.id);
    expect(l.balance).toBe(21);
    expect(l.ledger).toEqual([expect.objectContaining({ kind: 'earn', points: 21, balanceAfter: 21, saleId: sale.id, key: `sale:${sale.id}`, actorId: 'svc:customer-service' })]);
    const inbox = await stack.admin.query("SELECT count(*)::int AS n FROM customers.inbox WHERE consumer = 'customer-service' AND tenant_id = $1 AND type = 'sale.completed'", [shop.tenantId]);
    expect(inbox.rows[0].n).toBeGreaterThanOrEqual(1);

    // The same event delivered again (a relay retry, a replay) changes nothing.
    const { rows } = await stack.admin.query("SELECT envelope FROM sales.outbox WHERE type = 'sale.completed' AND envelope->'data'->>'id' = $1", [sale.id]);
    await redis.xadd(stream, '*', 'event', JSON.stringify(rows[0].envelope));
    await waitFor(drained, 'stream drained');
    expect((await loyalty(c.id)).ledger).toHaveLength(1);
    expect(await history(c.id)).toHaveLength(1);
  });

  it('when a sale has no customer, then nothing is recorded', async () => {
    const sale = await cashSale(undefined, 500, 1);
    await publishSaleEvents(sale.id);
    await waitFor(drained, 'stream drained');
    expect(await saleRow(sale.id)).toBeUndefined();
  });

  it('when a sale is refunded line by line, then points are reversed proportionally, rounded so they never exceed what was earned, and the last refund takes the rest', async () => {
    const c = await createCustomer(svc.app, shop.accessToken);
    const sale = await cashSale(c.id, 1099, 3); // 32.97 -> 32 points
    await publishSaleEvents(sale.id);
    await waitFor(async () => (await saleRow(sale.id))?.points_earned === 32, 'points earned');
    const lineId = sale.lines[0]!.id;

    const r1 = await refund(sale.id, lineId, 1);
    expect(r1.body.total).toEqual(usd(1099));
    await publishSaleEvents(sale.id);
    await waitFor(async () => (await saleRow(sale.id))?.status === 'partially_refunded', 'first refund');
    // floor(32 x 1099 / 3297) = 10
    expect((await loyalty(c.id)).balance).toBe(22);

    await refund(sale.id, lineId, 1);
    await refund(sale.id, lineId, 1);
    await publishSaleEvents(sale.id);
    await waitFor(async () => (await saleRow(sale.id))?.status === 'refunded', 'full refund');
    const l = await loyalty(c.id);
    expect(l.balance).toBe(0);
    expect(l.ledger.map((e: { kind: string; points: number }) => [e.kind, e.points])).toEqual([
      ['reverse', -11],
      ['reverse', -11],
      ['reverse', -10],
      ['earn', 32],
    ]);
    const [h] = await history(c.id);
    expect(h).toMatchObject({ status: 'refunded', total: usd(3297), refundedTotal: usd(3297), netTotal: usd(0), loyalty: { pointsEarned: 32, pointsReversed: 32 } });
    expect(h.refunds).toHaveLength(3);
    const refunds = await stack.admin.query('SELECT count(*)::int AS n, sum(total)::int AS total FROM customers.customer_sale_refunds WHERE sale_id = $1', [sale.id]);
    expect(refunds.rows[0]).toEqual({ n: 3, total: 3297 });
  });

  it('when a sale is voided, then all its points are reversed and the history shows it voided', async () => {
    const c = await createCustomer(svc.app, shop.accessToken);
    const sale = await cashSale(c.id, 2500, 1, 1000); // 27.50 -> 27 points
    await publishSaleEvents(sale.id);
    await waitFor(async () => (await saleRow(sale.id))?.points_earned === 27, 'points earned');
    await voidSale(sale.id);
    await publishSaleEvents(sale.id);
    await waitFor(async () => (await saleRow(sale.id))?.status === 'voided', 'void');
    const l = await loyalty(c.id);
    expect(l.balance).toBe(0);
    expect(l.ledger[0]).toMatchObject({ kind: 'reverse', points: -27, saleId: sale.id, key: `void:${sale.id}` });
    expect((await history(c.id))[0]).toMatchObject({ status: 'voided', total: usd(2750), refundedTotal: usd(2750), loyalty: { pointsEarned: 27, pointsReversed: 27 } });
  });

  it('when the earned points were already redeemed before a void, then the reversal never takes the balance below zero and notes the shortfall', async () => {
    const c = await createCustomer(svc.app, shop.accessToken);
    const sale = await cashSale(c.id, 1500, 1); // 15 points
    await publishSaleEvents(sale.id);
    await waitFor(async () => (await saleRow(sale.id))?.points_earned === 15, 'points earned');
    await request(svc.app).post(`/api/v1/customers/${c.id}/loyalty/redemptions`).set(bearer(shop.cashier.token)).set('Idempotency-Key', randomUUID()).send({ points: 12, reference: 'next visit' }).expect(201);
    await voidSale(sale.id);
    await publishSaleEvents(sale.id);
    await waitFor(async () => (await saleRow(sale.id))?.status === 'voided', 'void');
    const l = await loyalty(c.id);
    expect(l.balance).toBe(0);
    expect(l.ledger[0]).toMatchObject({ kind: 'reverse', points: -3, balanceAfter: 0, note: expect.stringContaining('12 already spent') });
  });

  it("when the tenant's rule gives 3 points per unit, then sales earn by that rule", async () => {
    const put = await request(svc.app).get('/api/v1/loyalty/rule').set(bearer(shop.accessToken)).expect(200);
    await request(svc.app).put('/api/v1/loyalty/rule').set(bearer(shop.accessToken)).send({ version: put.body.version, pointsPerUnit: 3 }).expect(200);
    try {
      const c = await createCustomer(svc.app, shop.accessToken);
      const sale = await cashSale(c.id, 1050, 1); // 10.50 -> 31 points
      await publishSaleEvents(sale.id);
      await waitFor(async () => (await saleRow(sale.id)) !== undefined, 'history row');
      expect((await loyalty(c.id)).balance).toBe(31);
    } finally {
      const now = await request(svc.app).get('/api/v1/loyalty/rule').set(bearer(shop.accessToken)).expect(200);
      await request(svc.app).put('/api/v1/loyalty/rule').set(bearer(shop.accessToken)).send({ version: now.body.version, pointsPerUnit: 1 }).expect(200);
    }
  });

  it('when events arrive out of order or with a loyalty tender, then a refund before its sale still earns once, and points are not earned on points', async () => {
    const c = await createCustomer(svc.app, shop.accessToken);
    const saleId = randomUUID();
    const sale = {
      id: saleId,
      status: 'completed',
      customerId: c.id,
      storeId: shop.storeId,
      receiptNumber: 99_999,
      total: usd(5000),
      tenders: [
        { method: 'loyalty', amount: usd(2000), status: 'captured' },
        { method: 'cash', amount: usd(3000), status: 'captured' },
      ],
      businessDate: '2026-01-15',
      createdAt: new Date().toISOString(),
      completedAt: new Date().toISOString(),
    };
    const envelope = (type: string, data: Record<string, unknown>) => ({ id: randomUUID(), type, version: 1, tenantId: shop.tenantId, occurredAt: new Date().toISOString(), requestId: null, data });
    const refundId = randomUUID();
    // The refund overtakes the sale (e.g. the sale's delivery failed once and was retried later).
    await redis.xadd(stream, '*', 'event', JSON.stringify(envelope('sale.refunded', { refund: { id: refundId, total: usd(2500), createdAt: new Date().toISOString() }, sale })));
    await redis.xadd(stream, '*', 'event', JSON.stringify(envelope('sale.completed', sale)));
    await waitFor(drained, 'stream drained');
    const row = await saleRow(saleId);
    // Earned on 50.00 - 20.00 paid with points = 30 points; half the sale refunded -> 15 back.
    expect(row).toMatchObject({ points_earned: 30, points_reversed: 15, refunded_total: 2500, status: 'partially_refunded', business_date: '2026-01-15' });
    expect((await loyalty(c.id)).ledger.map((e: { kind: string; points: number }) => [e.kind, e.points])).toEqual([
      ['reverse', -15],
      ['earn', 30],
    ]);
  });

  it('when a manager exports a customer, then every held fact is in it and customer.exported is audited; after erasure the totals and ledger remain', async () => {
    const c = await createCustomer(svc.app, shop.accessToken, { notes: 'prefers email receipts', marketingConsent: { email: true } });
    const sale = await cashSale(c.id, 2000, 2); // 40.00 -> 40 points
    await publishSaleEvents(sale.id);
    await waitFor(async () => (await saleRow(sale.id))?.points_earned === 40, 'points earned');
    await refund(sale.id, sale.lines[0]!.id, 1);
    await publishSaleEvents(sale.id);
    await waitFor(async () => (await saleRow(sale.id))?.status === 'partially_refunded', 'refund');

    const exported = await request(svc.app).get(`/api/v1/customers/${c.id}/export`).set(bearer(shop.manager.token)).expect(200);
    expect(exported.headers['cache-control']).toBe('no-store');
    expect(exported.body).toMatchObject({
      exportedAt: expect.any(String),
      customer: { id: c.id, name: c.name, email: c.email, phone: c.phone, notes: 'prefers email receipts', loyaltyBalance: 20 },
      consents: { email: { granted: true }, sms: { granted: false }, history: [{ channel: 'email', granted: true, actorId: shop.ownerId }] },
      purchaseHistory: {
        totals: [{ currency: 'USD', sales: 1, total: 4000, refunded: 2000 }],
        transactions: [{ saleId: sale.id, status: 'partially_refunded', total: usd(4000), refundedTotal: usd(2000), refunds: [expect.objectContaining({ total: usd(2000) })] }],
      },
      loyalty: { balance: 20, ledger: [expect.objectContaining({ kind: 'earn', points: 40 }), expect.objectContaining({ kind: 'reverse', points: -20 })] },
    });
    const audit = await stack.admin.query("SELECT envelope->'data' AS data FROM customers.outbox WHERE type = 'customer.exported' AND envelope->'data'->>'customerId' = $1", [c.id]);
    expect(audit.rows.map((r) => r.data)).toEqual([{ customerId: c.id, actorId: shop.manager.id, actorRole: 'manager', exportedAt: exported.body.exportedAt }]);
    await request(svc.app).get(`/api/v1/customers/${c.id}/export`).set(bearer(shop.cashier.token)).expect(403);
    await request(svc.app).delete(`/api/v1/customers/${c.id}`).set(bearer(shop.cashier.token)).expect(403);

    await request(svc.app).delete(`/api/v1/customers/${c.id}`).set(bearer(shop.accessToken)).expect(204);
    const after = await request(svc.app).get(`/api/v1/customers/${c.id}/export`).set(bearer(shop.accessToken)).expect(200);
    expect(after.body.customer).toMatchObject({ name: 'Erased customer', email: null, phone: null, notes: null, erasedAt: expect.any(String) });
    expect(after.body.consents).toEqual({ email: { granted: false, changedAt: null }, sms: { granted: false, changedAt: null }, history: [] });
    expect(after.body.purchaseHistory).toEqual(exported.body.purchaseHistory);
    expect(after.body.loyalty).toEqual(exported.body.loyalty);
    expect(JSON.stringify(after.body)).not.toContain(c.email!);
    // A refund after the erasure still lands on the anonymised record.
    await refund(sale.id, sale.lines[0]!.id, 1);
    await publishSaleEvents(sale.id);
    await waitFor(async () => (await saleRow(sale.id))?.status === 'refunded', 'refund after erasure');
    expect((await loyalty(c.id)).balance).toBe(0);
  });
});
