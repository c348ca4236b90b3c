import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { ledgerDrift } from '../../inventory-service/test/helpers';
import { bearer, createProduct, createShop, onHand, openShift, sell, startStack, stockedProduct, usd, type Shop, type Stack } from './helpers';

/**
 * Offline sales (POS-DESIGN §11) through HTTP against the real auth, inventory and payment
 * services: terminal prices booked and differences flagged, stock taken below zero, dated when
 * they happened, shifts chosen by the documented rule, exactly once per key.
 */
describe('transaction-service offline sales', () => {
  let stack: Stack;
  let shop: Shop;
  let otherShop: Shop;
  let cashierShift: string;

  const minutesAgo = (n: number) => new Date(Date.now() - n * 60_000).toISOString();
  const offline = (occurredAt: string, terminalId = 'till-7') => ({ occurredAt, terminalId });
  const cash = (amount: number) => [{ method: 'cash', amount: usd(amount) }];

  const saleRow = async (id: string) => (await stack.admin.query('SELECT *, business_date::text AS business_date FROM sales.sales WHERE id = $1', [id])).rows[0];
  const salesWithKey = async (key: string) => (await stack.admin.query('SELECT count(*)::int AS n FROM sales.sales WHERE tenant_id = $1 AND idempotency_key = $2', [shop.tenantId, key])).rows[0].n;
  const saleMovements = async (saleId: string) =>
    (await stack.admin.query("SELECT product_id, kind, quantity, on_hand_after, reason FROM inventory.stock_movements WHERE reference_type = 'sale' AND reference_id = $1", [saleId])).rows;
  const completedEvent = async (saleId: string) =>
    (await stack.admin.query("SELECT envelope->'data' AS data FROM sales.outbox WHERE type = 'sale.completed' AND envelope->'data'->>'id' = $1", [saleId])).rows;

  beforeAll(async () => {
    stack = await startStack();
    shop = await createShop(stack.auth);
    otherShop = await createShop(stack.auth);
    cashierShift = await openShift(stack, shop.cashier.token, shop.storeId);
    // The cashier's shift has been open since the morning: offline sales of the last hours fall in it.
    await stack.admin.query("UPDATE sales.shifts SET opened_at = now() - interval '2 hours' WHERE id = $1", [cashierShift]);
  });
  afterAll(() => stack.close());

  it('when an offline cash sale comes at a stale terminal price, then 201 with totals from the terminal price, both prices recorded and the sale flagged', async () => {
    const p = await stockedProduct(stack, shop, 1200, 825, 10);
    const occurredAt = minutesAgo(12);
    const res = await sell(stack, shop.cashier.token, {
      storeId: shop.storeId,
      lines: [{ productId: p.id, quantity: 2, unitPrice: usd(1000) }],
      tenders: cash(2500),
      offline: offline(occurredAt),
    }).expect(201);
    // 2 x 10.00 (the terminal's price, not the catalog's 12.00) + 8.25% tax = 20.00 + 1.65
    expect(res.body).toMatchObject({
      status: 'completed',
      shiftId: cashierShift,
      subtotal: usd(2000),
      taxTotal: usd(165),
      total: usd(2165),
      changeDue: usd(335),
      flags: ['price_mismatch'],
      offline: { occurredAt: new Date(occurredAt).toISOString(), terminalId: 'till-7', syncedAt: expect.any(String) },
      createdAt: new Date(occurredAt).toISOString(),
      completedAt: new Date(occurredAt).toISOString(),
      receiptNumber: expect.any(Number),
    });
    expect(res.body.lines[0]).toMatchObject({ unitPrice: usd(1000), catalogPrice: usd(1200), priceOverriddenBy: null, total: usd(2165) });
    expect(Date.parse(res.body.offline.syncedAt)).toBeGreaterThan(Date.parse(occurredAt));

    const row = await saleRow(res.body.id);
    expect(row).toMatchObject({ flags: ['price_mismatch'], terminal_id: 'till-7', total: 2165, cash_applied: 2165 });
    expect(row.occurred_at.toISOString()).toBe(new Date(occurredAt).toISOString());
    const { rows: lines } = await stack.admin.query('SELECT unit_price, catalog_price, price_override_by FROM sales.sale_lines WHERE sale_id = $1', [res.body.id]);
    expect(lines).toEqual([{ unit_price: 1000, catalog_price: 1200, price_override_by: null }]);
    expect(await onHand(stack, shop.storeId, p.id)).toBe(8);
    const { rows: pays } = await stack.admin.query('SELECT method, amount, status FROM payments.payments WHERE transaction_id = $1', [res.body.id]);
    expect(pays).toEqual([{ method: 'cash', amount: 2165, status: 'captured' }]);

    const events = await completedEvent(res.body.id);
    expect(events).toHaveLength(1);
    expect(events[0].data).toMatchObject({ flags: ['price_mismatch'], offline: { terminalId: 'till-7', occurredAt: new Date(occurredAt).toISOString() }, total: usd(2165) });

    const receipt = await request(stack.app).get(`/api/v1/transactions/${res.body.id}/receipt`).set(bearer(shop.cashier.token)).expect(200);
    expect(receipt.text).toContain(`Receipt #${res.body.receiptNumber}  ${res.body.businessDate}\nOffline sale, terminal till-7\n`);
    const shown = await request(stack.app).get(`/api/v1/transactions/${res.body.id}`).set(bearer(shop.cashier.token)).expect(200);
    expect(shown.body).toMatchObject({ flags: ['price_mismatch'], offline: { terminalId: 'till-7' } });
    const flagged = await request(stack.app).get('/api/v1/transactions').query({ flagged: 'true', limit: 200 }).set(bearer(shop.accessToken)).expect(200);
    expect(flagged.body.data.map((s: { id: string }) => s.id)).toContain(res.body.id);
    expect(flagged.body.data.every((s: { flags: string[] }) => s.flags.length > 0)).toBe(true);
    const byFlag = await request(stack.app).get('/api/v1/transactions').query({ flag: 'price_mismatch', offline: 'true', limit: 200 }).set(bearer(shop.accessToken)).expect(200);
    expect(byFlag.body.data.map((s: { id: string }) => s.id)).toContain(res.body.id);
    const online = await request(stack.app).get('/api/v1/transactions').query({ offline: 'false', limit: 200 }).set(bearer(shop.accessToken)).expect(200);
    expect(online.body.data.map((s: { id: string }) => s.id)).not.toContain(res.body.id);
  });

  it('when an offline sale charged the catalog price, then it is booked unflagged in the open shift', async () => {
    const p = await stockedProduct(stack, shop, 700, 0, 10);
    const res = await sell(stack, shop.cashier.token, { storeId: shop.storeId, lines: [{ productId: p.id, quantity: 1, unitPrice: usd(700) }], tenders: cash(700), offline: offline(minutesAgo(3)) }).expect(201);
    expect(res.body).toMatchObject({ flags: [], shiftId: cashierShift, total: usd(700) });
    expect((await saleRow(res.body.id)).flags).toEqual([]);
  });

  it('when an offline sale drives stock below zero in a store that denies negative stock, then it is accepted, stock is negative and flagged, the ledger still adds up and stock.low fires', async () => {
    const p = await stockedProduct(stack, shop, 500, 0, 3);
    const levels = await request(stack.inventory.app).get('/api/v1/inventory').query({ storeId: shop.storeId, productId: p.id }).set(bearer(shop.accessToken)).expect(200);
    const level = levels.body.data[0];
    await request(stack.inventory.app).put(`/api/v1/inventory/${level.id}`).set(bearer(shop.accessToken)).send({ version: level.version, reorderPoint: 2 }).expect(200);

    const res = await sell(stack, shop.cashier.token, { storeId: shop.storeId, lines: [{ productId: p.id, quantity: 5, unitPrice: usd(500) }], tenders: cash(2500), offline: offline(minutesAgo(5)) }).expect(201);
    expect(res.body.flags).toEqual(['negative_stock']);
    expect(await onHand(stack, shop.storeId, p.id)).toBe(-2);
    expect(await saleMovements(res.body.id)).toEqual([{ product_id: p.id, kind: 'sale', quantity: -5, on_hand_after: -2, reason: 'offline sale (may go below zero)' }]);
    expect(await ledgerDrift(stack.admin, shop.tenantId)).toEqual([]);
    expect((await saleRow(res.body.id)).flags).toEqual(['negative_stock']);
    const { rows: low } = await stack.admin.query("SELECT envelope->'data' AS data FROM inventory.outbox WHERE type = 'stock.low' AND envelope->'data'->>'productId' = $1", [p.id]);
    expect(low.map((r) => r.data.onHand)).toEqual([-2]);

    // The store's rule still holds for online sales, and only transaction-service may ask for below zero.
    const online = await sell(stack, shop.cashier.token, { storeId: shop.storeId, lines: [{ productId: p.id, quantity: 1 }], tenders: cash(500) }).expect(409);
    expect(online.body.code).toBe('insufficient_stock');
    const direct = await request(stack.inventory.app)
      .post('/api/v1/stock/reservations')
      .set(bearer(shop.cashier.token))
      .send({ saleId: randomUUID(), storeId: shop.storeId, lines: [{ productId: p.id, quantity: 1 }], allowNegative: true })
      .expect(403);
    expect(direct.body.code).toBe('allow_negative_forbidden');
    expect(await onHand(stack, shop.storeId, p.id)).toBe(-2);
  });

  it('when an offline sale happened on an earlier store-local day, then it is dated then and the sales report shows it on that day and hour', async () => {
    const tz = 'America/Los_Angeles';
    const store = await request(stack.auth.svc.app)
      .post('/api/v1/stores')
      .set(bearer(shop.accessToken))
      .send({ name: 'West Coast', currency: 'USD', timezone: tz, taxInclusive: false, allowNegativeStock: false })
      .expect(201);
    const storeId = store.body.id as string;
    const p = await createProduct(stack.inventory.app, shop.accessToken, { price: usd(900), taxRateBps: 0 });
    // 05:30 UTC three days ago is the evening before in Los Angeles.
    const at = new Date(Date.now() - 3 * 86_400_000);
    at.setUTCHours(5, 30, 0, 0);
    const localDay = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
    const localHour = new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', hourCycle: 'h23' }).format(at);
    expect(localDay).not.toBe(at.toISOString().slice(0, 10));

    const shiftId = await openShift(stack, shop.accessToken, storeId, 5000);
    const res = await sell(stack, shop.accessToken, { storeId, lines: [{ productId: p.id, quantity: 1, unitPrice: usd(900) }], tenders: cash(1000), offline: offline(at.toISOString(), 'till-west') }).expect(201);
    // The owner's shift opened just now, after the sale: the cash is handed in to it.
    // Nothing of it was stocked at the new store either.
    expect(res.body).toMatchObject({ businessDate: localDay, createdAt: at.toISOString(), shiftId, flags: ['negative_stock', 'outside_shift'] });
    expect(await saleRow(res.body.id)).toMatchObject({ business_date: localDay });
    expect(await onHand(stack, storeId, p.id)).toBe(-1);

    const report = (groupBy: string, from = localDay, to = localDay) =>
      request(stack.app).get('/api/v1/reports/sales').query({ storeId, from, to, groupBy }).set(bearer(shop.accessToken)).expect(200);
    expect((await report('day')).body.rows).toEqual([expect.objectContaining({ key: localDay, salesCount: 1, net: usd(900) })]);
    expect((await report('hour')).body.rows).toEqual([expect.objectContaining({ key: localHour, salesCount: 1 })]);
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
    expect((await report('day', today, today)).body.totals.salesCount).toBe(0);

    // Attached to the open shift: its live Z-report counts the cash in the expected drawer.
    const z = await request(stack.app).get(`/api/v1/shifts/${shiftId}/report`).set(bearer(shop.accessToken)).expect(200);
    expect(z.body).toMatchObject({ salesCount: 1, cash: { cashSales: usd(900), expected: usd(5900) } });
  });

  it('when an offline sale has a card tender or a line without its terminal price, then 400 names each field and nothing is written', async () => {
    const p = await stockedProduct(stack, shop, 800, 0, 5);
    const key = randomUUID();
    const res = await sell(
      stack,
      shop.cashier.token,
      {
        storeId: shop.storeId,
        lines: [{ productId: p.id, quantity: 1 }],
        tenders: [{ method: 'cash', amount: usd(300) }, { method: 'card', amount: usd(500), cardToken: 'tok_visa' }],
        offline: offline(minutesAgo(1)),
      },
      key,
    ).expect(400);
    expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['lines.0.unitPrice', 'tenders.1.method']);
    expect(await salesWithKey(key)).toBe(0);
    expect(await onHand(stack, shop.storeId, p.id)).toBe(5);
    const { rows } = await stack.admin.query("SELECT count(*)::int AS n FROM inventory.stock_movements WHERE product_id = $1 AND kind = 'sale'", [p.id]);
    expect(rows[0].n).toBe(0);
  });

  it('when occurredAt is in the future beyond the clock skew or older than 30 days, then 400 names offline.occurredAt and nothing is written; a small skew is accepted', async () => {
    const p = await stockedProduct(stack, shop, 400, 0, 5);
    const body = (occurredAt: string) => ({ storeId: shop.storeId, lines: [{ productId: p.id, quantity: 1, unitPrice: usd(400) }], tenders: cash(400), offline: offline(occurredAt) });
    for (const occurredAt of [new Date(Date.now() + 10 * 60_000).toISOString(), new Date(Date.now() - 31 * 86_400_000).toISOString()]) {
      const key = randomUUID();
      const res = await sell(stack, shop.cashier.token, body(occurredAt), key).expect(400);
      expect(res.body).toMatchObject({ code: 'offline_sale_out_of_range', errors: [{ path: 'offline.occurredAt' }] });
      expect(await salesWithKey(key)).toBe(0);
    }
    const bad = await sell(stack, shop.cashier.token, body('yesterday')).expect(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toEqual(['offline.occurredAt']);
    expect(await onHand(stack, shop.storeId, p.id)).toBe(5);
    // A terminal clock a minute fast is fine.
    await sell(stack, shop.cashier.token, body(new Date(Date.now() + 60_000).toISOString())).expect(201);
    expect(await onHand(stack, shop.storeId, p.id)).toBe(4);
  });

  it('when an offline sale is sent again with the same key, then the same sale comes back with one stock movement; a different body is 422', async () => {
    const p = await stockedProduct(stack, shop, 650, 0, 5);
    const key = randomUUID();
    const body = { storeId: shop.storeId, lines: [{ productId: p.id, quantity: 2, unitPrice: usd(600) }], tenders: cash(2000), offline: offline(minutesAgo(30)) };
    const first = await sell(stack, shop.cashier.token, body, key).expect(201);
    const again = await sell(stack, shop.cashier.token, body, key).expect(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await salesWithKey(key)).toBe(1);
    expect(await saleMovements(first.body.id)).toHaveLength(1);
    expect(await onHand(stack, shop.storeId, p.id)).toBe(3);
    expect(await completedEvent(first.body.id)).toHaveLength(1);
    const changed = await sell(stack, shop.cashier.token, { ...body, offline: offline(minutesAgo(29)) }, key).expect(422);
    expect(changed.body.code).toBe('idempotency_key_reused');
  });

  it("when an offline sale names another tenant's product, then 400 and nothing is written", async () => {
    const theirs = await stockedProduct(stack, otherShop, 300, 0, 5);
    const key = randomUUID();
    const res = await sell(stack, shop.cashier.token, { storeId: shop.storeId, lines: [{ productId: theirs.id, quantity: 1, unitPrice: usd(300) }], tenders: cash(300), offline: offline(minutesAgo(2)) }, key).expect(400);
    expect(res.body).toMatchObject({ code: 'unknown_product', errors: [{ path: 'lines.0.productId' }] });
    expect(await salesWithKey(key)).toBe(0);
    expect(await onHand(stack, otherShop.storeId, theirs.id)).toBe(5);
  });

  it('when the shift that covered occurredAt is closed, then the sale joins it flagged, its kept Z-report is unchanged and its report shows the late cash and the variance it explains', async () => {
    const p = await stockedProduct(stack, shop, 1000, 0, 10);
    const manager = shop.manager;
    const shiftId = await openShift(stack, manager.token, shop.storeId, 2000);
    await new Promise((r) => setTimeout(r, 30));
    // The drawer holds the float and the offline sale's 10.00, but the server has not seen the sale yet.
    const closed = await request(stack.app).post(`/api/v1/shifts/${shiftId}/close`).set(bearer(manager.token)).send({ countedCash: usd(3000) }).expect(200);
    expect(closed.body.cash).toMatchObject({ expected: usd(2000), counted: usd(3000), variance: usd(1000) });
    const shift = (await stack.admin.query('SELECT opened_at, closed_at FROM sales.shifts WHERE id = $1', [shiftId])).rows[0];
    const during = new Date((shift.opened_at.getTime() + shift.closed_at.getTime()) / 2).toISOString();

    const res = await sell(stack, manager.token, { storeId: shop.storeId, lines: [{ productId: p.id, quantity: 1, unitPrice: usd(1000) }], tenders: cash(1000), offline: offline(during) }).expect(201);
    expect(res.body).toMatchObject({ shiftId, flags: ['shift_closed'], status: 'completed' });

    const report = await request(stack.app).get(`/api/v1/shifts/${shiftId}/report`).set(bearer(manager.token)).expect(200);
    expect(report.body).toMatchObject({
      salesCount: 0,
      cash: { expected: usd(2000), counted: usd(3000), variance: usd(1000) },
      lateSales: { count: 1, total: usd(1000), cash: usd(1000), expectedCash: usd(3000), variance: usd(0) },
    });
    const kept = (await stack.admin.query('SELECT z_report, expected_cash, variance FROM sales.shifts WHERE id = $1', [shiftId])).rows[0];
    expect(kept).toMatchObject({ expected_cash: 2000, variance: 1000, z_report: expect.objectContaining({ salesCount: 0 }) });
    expect(kept.z_report.lateSales).toBeUndefined();
  });

  it('when the cashier had no shift then and has none now, then the sale is still booked, without a shift, flagged no_shift, and counts in the store report', async () => {
    const p = await stockedProduct(stack, shop, 450, 0, 10);
    // The manager's only shift (previous test) opened moments ago; two hours back nothing covered.
    const at = new Date(Date.now() - 2 * 3600_000);
    const res = await sell(stack, shop.manager.token, { storeId: shop.storeId, lines: [{ productId: p.id, quantity: 1, unitPrice: usd(450) }], tenders: cash(500), offline: offline(at.toISOString()) }).expect(201);
    expect(res.body).toMatchObject({ shiftId: null, flags: ['no_shift'], changeDue: usd(50), status: 'completed' });
    expect(await saleRow(res.body.id)).toMatchObject({ shift_id: null, flags: ['no_shift'] });
    expect(await onHand(stack, shop.storeId, p.id)).toBe(9);
    const day = at.toISOString().slice(0, 10); // the main store keeps UTC
    const report = await request(stack.app).get('/api/v1/reports/sales').query({ storeId: shop.storeId, from: day, to: day, groupBy: 'product' }).set(bearer(shop.accessToken)).expect(200);
    expect(report.body.rows).toEqual(expect.arrayContaining([expect.objectContaining({ key: p.id, salesCount: 1, net: usd(450) })]));
    // Without a shift it cannot be voided (voids need the sale's shift open); refunds still work.
    await request(stack.app).post(`/api/v1/transactions/${res.body.id}/void`).set(bearer(shop.manager.token)).set('Idempotency-Key', randomUUID()).send({ reason: 'test' }).expect(409);
  });

  it('when a product was deactivated before the offline sale synced, then the sale is booked and flagged product_inactive; online it is still refused', async () => {
    const p = await stockedProduct(stack, shop, 250, 0, 5);
    await request(stack.inventory.app).patch(`/api/v1/products/${p.id}`).set(bearer(shop.accessToken)).send({ version: p.version, active: false }).expect(200);
    const res = await sell(stack, shop.cashier.token, { storeId: shop.storeId, lines: [{ productId: p.id, quantity: 1, unitPrice: usd(250) }], tenders: cash(250), offline: offline(minutesAgo(40)) }).expect(201);
    expect(res.body.flags).toEqual(['product_inactive']);
    await sell(stack, shop.cashier.token, { storeId: shop.storeId, lines: [{ productId: p.id, quantity: 1 }], tenders: cash(250) }).expect(400);
  });

  it('when a product was deleted before the offline sale synced, then the sale is booked, flagged product_inactive, its stock moves, and a refund with restock puts it back', async () => {
    const p = await stockedProduct(stack, shop, 300, 0, 5);
    await request(stack.inventory.app).delete(`/api/v1/products/${p.id}`).set(bearer(shop.accessToken)).expect(204);
    const res = await sell(stack, shop.cashier.token, { storeId: shop.storeId, lines: [{ productId: p.id, quantity: 2, unitPrice: usd(300) }], tenders: cash(600), offline: offline(minutesAgo(25)) }).expect(201);
    expect(res.body).toMatchObject({ status: 'completed', flags: ['product_inactive'], total: usd(600) });
    expect(res.body.lines[0]).toMatchObject({ productId: p.id, sku: p.sku, quantity: 2 });
    expect(await saleMovements(res.body.id)).toEqual([{ product_id: p.id, kind: 'sale', quantity: -2, on_hand_after: 3, reason: 'offline sale (may go below zero)' }]);
    expect(await completedEvent(res.body.id)).toHaveLength(1);
    // Online it is gone, and only transaction-service may read deleted products.
    await sell(stack, shop.cashier.token, { storeId: shop.storeId, lines: [{ productId: p.id, quantity: 1 }], tenders: cash(300) }).expect(400);
    const asManager = await request(stack.inventory.app).get('/api/v1/products').query({ ids: p.id, includeDeleted: 'true' }).set(bearer(shop.manager.token)).expect(403);
    expect(asManager.body.code).toBe('include_deleted_forbidden');
    const withoutIds = await request(stack.inventory.app).get('/api/v1/products').query({ includeDeleted: 'true' }).set(bearer(shop.manager.token)).expect(400);
    expect(withoutIds.body.errors.map((e: { path: string }) => e.path)).toEqual(['query.includeDeleted']);
    // The goods come back: the return is a record of what happened, like the sale (cash from the manager's drawer).
    await openShift(stack, shop.manager.token, shop.storeId);
    await request(stack.app)
      .post(`/api/v1/transactions/${res.body.id}/refunds`)
      .set(bearer(shop.manager.token))
      .set('Idempotency-Key', randomUUID())
      .send({ lines: [{ lineId: res.body.lines[0].id, quantity: 1 }], restock: true, reason: 'returned' })
      .expect(201);
    expect(await onHand(stack, shop.storeId, p.id)).toBe(4);
    expect(await ledgerDrift(stack.admin, shop.tenantId)).toEqual([]);
  });

  it("when a manager syncs a cashier's queued sale naming that cashier, then it is booked to the cashier and the shift that took the cash", async () => {
    const p = await stockedProduct(stack, shop, 400, 0, 5);
    const res = await sell(stack, shop.manager.token, {
      storeId: shop.storeId,
      lines: [{ productId: p.id, quantity: 1, unitPrice: usd(400) }],
      tenders: cash(400),
      offline: { ...offline(minutesAgo(15)), cashierId: shop.cashier.id.toUpperCase() },
    }).expect(201);
    expect(res.body).toMatchObject({ cashierId: shop.cashier.id, shiftId: cashierShift, flags: [] });
    expect(await saleRow(res.body.id)).toMatchObject({ cashier_id: shop.cashier.id, shift_id: cashierShift });
    expect((await completedEvent(res.body.id))[0].data).toMatchObject({ cashierId: shop.cashier.id, shiftId: cashierShift });
  });

  it('when a cashier names another user, or a manager names a user outside their reach, then 403 / 400 names offline.cashierId and nothing is written', async () => {
    const p = await stockedProduct(stack, shop, 400, 0, 5);
    const body = (cashierId: string) => ({ storeId: shop.storeId, lines: [{ productId: p.id, quantity: 1, unitPrice: usd(400) }], tenders: cash(400), offline: { ...offline(minutesAgo(15)), cashierId } });
    const keys = [randomUUID(), randomUUID(), randomUUID()];
    const byCashier = await sell(stack, shop.cashier.token, body(shop.manager.id), keys[0]).expect(403);
    expect(byCashier.body.code).toBe('offline_cashier_forbidden');
    for (const [i, stranger] of [otherShop.cashier.id, randomUUID()].entries()) {
      const res = await sell(stack, shop.manager.token, body(stranger), keys[i + 1]).expect(400);
      expect(res.body).toMatchObject({ code: 'unknown_cashier', errors: [{ path: 'offline.cashierId' }] });
    }
    for (const key of keys) expect(await salesWithKey(key)).toBe(0);
    expect(await onHand(stack, shop.storeId, p.id)).toBe(5);
  });

  it('when a cashier sends a price on an online sale, then it is still a manager-only override (403)', async () => {
    const p = await stockedProduct(stack, shop, 1000, 0);
    const res = await sell(stack, shop.cashier.token, { storeId: shop.storeId, lines: [{ productId: p.id, quantity: 1, unitPrice: usd(1) }], tenders: cash(1) }).expect(403);
    expect(res.body.code).toBe('price_override_forbidden');
  });
});
