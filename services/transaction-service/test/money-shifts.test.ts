import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { bearer, createProduct, createShop, onHand, openShift, receive, sell, startStack, stockedProduct, usd, type Shop, type Stack } from './helpers';

describe('transaction-service: tax modes, currencies, refunds, voids, shifts and reports', () => {
  let stack: Stack;
  let shop: Shop;

  beforeAll(async () => {
    stack = await startStack();
    shop = await createShop(stack.auth);
  });
  afterAll(() => stack.close());

  const newStore = async (currency: string, taxInclusive: boolean) => {
    const res = await request(stack.auth.svc.app)
      .post('/api/v1/stores')
      .set(bearer(shop.accessToken))
      .send({ name: `${currency} ${taxInclusive ? 'incl' : 'excl'}`, currency, timezone: 'Asia/Tokyo', taxInclusive, allowNegativeStock: false })
      .expect(201);
    return res.body.id as string;
  };

  it('when a store is tax inclusive, then the tax is contained in the price and subtotal - discounts == total', async () => {
    const storeId = await newStore('EUR', true);
    const p = await createProduct(stack.inventory.app, shop.accessToken, { price: { amount: 1099, currency: 'EUR' }, taxRateBps: 2000 });
    await receive(stack.inventory.app, shop.accessToken, storeId, p.id, 10);
    await openShift(stack, shop.accessToken, storeId, 0, 'EUR');
    const res = await sell(stack, shop.accessToken, { storeId, lines: [{ productId: p.id, quantity: 1 }], tenders: [{ method: 'cash', amount: { amount: 1099, currency: 'EUR' } }] });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ taxInclusive: true, subtotal: { amount: 1099, currency: 'EUR' }, taxTotal: { amount: 183 }, total: { amount: 1099 } });
  });

  it('when a store sells in JPY, then amounts have no minor unit and the receipt shows whole yen', async () => {
    const storeId = await newStore('JPY', false);
    const p = await createProduct(stack.inventory.app, shop.accessToken, { price: { amount: 180, currency: 'JPY' }, taxRateBps: 1000 });
    await receive(stack.inventory.app, shop.accessToken, storeId, p.id, 10);
    await openShift(stack, shop.accessToken, storeId, 0, 'JPY');
    const res = await sell(stack, shop.accessToken, { storeId, lines: [{ productId: p.id, quantity: 3 }], tenders: [{ method: 'cash', amount: { amount: 1000, currency: 'JPY' } }] }).expect(201);
    expect(res.body).toMatchObject({ subtotal: { amount: 540, currency: 'JPY' }, taxTotal: { amount: 54 }, total: { amount: 594 }, changeDue: { amount: 406 } });
    const receipt = await request(stack.app).get(`/api/v1/transactions/${res.body.id}/receipt`).set(bearer(shop.accessToken)).expect(200);
    expect(receipt.text).toMatch(/TOTAL JPY\s+594\n/);
    const usdTender = await sell(stack, shop.accessToken, { storeId, lines: [{ productId: p.id, quantity: 1 }], tenders: [{ method: 'cash', amount: usd(500) }] }).expect(400);
    expect(usdTender.body.errors[0].path).toBe('tenders.0.amount.currency');
  });

  describe('shift close and Z-report', () => {
    it('when a shift closes, then expected cash = float + cash sales - cash refunds + paid in - paid out (change excluded) and the variance is kept', async () => {
      const cashier = shop.cashier;
      const shiftId = await openShift(stack, cashier.token, shop.storeId, 10_000);
      const p = await stockedProduct(stack, shop, 1000, 0);
      await sell(stack, cashier.token, { storeId: shop.storeId, lines: [{ productId: p.id, quantity: 2 }], tenders: [{ method: 'cash', amount: usd(5000) }] }).expect(201); // cash 2000, change 3000
      await sell(stack, cashier.token, { storeId: shop.storeId, lines: [{ productId: p.id, quantity: 1 }], tenders: [{ method: 'card', amount: usd(1000), cardToken: 'tok_visa' }] }).expect(201);
      await request(stack.app).post(`/api/v1/shifts/${shiftId}/cash`).set(bearer(cashier.token)).set('Idempotency-Key', randomUUID()).send({ kind: 'paid_in', amount: usd(500), reason: 'change top-up' }).expect(201);
      await request(stack.app).post(`/api/v1/shifts/${shiftId}/cash`).set(bearer(cashier.token)).set('Idempotency-Key', randomUUID()).send({ kind: 'paid_out', amount: usd(300), reason: 'milk' }).expect(201);
      // expected = 10000 + 2000 + 500 - 300 = 12200; counted 12150 -> variance -50
      const res = await request(stack.app).post(`/api/v1/shifts/${shiftId}/close`).set(bearer(cashier.token)).send({ countedCash: usd(12_150) }).expect(200);
      expect(res.body).toMatchObject({
        salesCount: 2,
        gross: usd(3000),
        net: usd(3000),
        tenders: { cash: usd(2000), card: usd(1000) },
        cash: { expected: usd(12_200), counted: usd(12_150), variance: usd(-50) },
      });
      const { rows } = await stack.admin.query('SELECT status, expected_cash, variance FROM sales.shifts WHERE id = $1', [shiftId]);
      expect(rows[0]).toEqual({ status: 'closed', expected_cash: 12_200, variance: -50 });
      const kept = await request(stack.app).get(`/api/v1/shifts/${shiftId}/report`).set(bearer(shop.manager.token)).expect(200);
      expect(kept.body.cash.variance).toEqual(usd(-50));
      await request(stack.app).post(`/api/v1/shifts/${shiftId}/close`).set(bearer(cashier.token)).send({ countedCash: usd(1) }).expect(409);
      await sell(stack, cashier.token, { storeId: shop.storeId, lines: [{ productId: p.id, quantity: 1 }], tenders: [{ method: 'cash', amount: usd(1000) }] }).expect(409);
    });

    it('when a cashier opens a second shift at the same store, then 409; another cashier cannot see it', async () => {
      const shiftId = await openShift(stack, shop.cashier.token, shop.storeId);
      const again = await request(stack.app).post('/api/v1/shifts').set(bearer(shop.cashier.token)).send({ storeId: shop.storeId, openingFloat: usd(0) }).expect(409);
      expect(again.body.code).toBe('shift_already_open');
      const other = await createShop(stack.auth);
      await request(stack.app).get(`/api/v1/shifts/${shiftId}`).set(bearer(other.accessToken)).expect(404);
    });
  });

  describe('refunds and voids', () => {
    let p: { id: string };
    let saleId: string;
    let lineId: string;

    beforeAll(async () => {
      await openShift(stack, shop.manager.token, shop.storeId).catch(() => undefined);
      p = await stockedProduct(stack, shop, 1000, 1000, 100);
      const sale = await sell(stack, shop.cashier.token, {
        storeId: shop.storeId,
        lines: [{ productId: p.id, quantity: 3 }],
        tenders: [{ method: 'card', amount: usd(2000), cardToken: 'tok_visa' }, { method: 'cash', amount: usd(2000) }],
      }).expect(201); // total 3300: card 2000, cash 1300
      saleId = sale.body.id;
      lineId = sale.body.lines[0].id;
    });

    const refund = (token: string, quantity: number, key = randomUUID(), restock = true) =>
      request(stack.app).post(`/api/v1/transactions/${saleId}/refunds`).set(bearer(token)).set('Idempotency-Key', key).send({ lines: [{ lineId, quantity }], restock, reason: 'customer return' });

    it('when a cashier tries to refund, then 403', async () => {
      await refund(shop.cashier.token, 1).expect(403);
    });

    it('when one unit is refunded, then the card gets it back first and the stock is restocked', async () => {
      const before = await onHand(stack, shop.storeId, p.id);
      const res = await refund(shop.manager.token, 1).expect(201);
      expect(res.body).toMatchObject({ status: 'completed', total: usd(1100), tax: usd(100), tenders: [{ method: 'card', amount: usd(1100), status: 'completed' }] });
      expect(await onHand(stack, shop.storeId, p.id)).toBe(before + 1);
      const { rows } = await stack.admin.query('SELECT refunded_amount FROM payments.payments WHERE transaction_id = $1 AND method = $2', [saleId, 'card']);
      expect(rows[0].refunded_amount).toBe(1100);
    });

    it('when 20 refunds of one unit race for the 2 remaining units, then exactly 2 succeed and the line total is never exceeded', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, () => refund(shop.manager.token, 1)));
      expect(results.filter((r) => r.status === 201)).toHaveLength(2);
      expect(results.filter((r) => r.status === 409).every((r) => r.body.code === 'refund_exceeds_sold')).toBe(true);
      const { rows } = await stack.admin.query('SELECT refunded_quantity, refunded_total, total FROM sales.sale_lines WHERE id = $1', [lineId]);
      expect(rows[0]).toEqual({ refunded_quantity: 3, refunded_total: 3300, total: 3300 });
      // Card 2000 went back first; the remaining 1300 came out of the manager's drawer.
      const cash = await stack.admin.query("SELECT COALESCE(sum(cash_amount), 0)::int AS cash FROM sales.refunds WHERE sale_id = $1", [saleId]);
      expect(cash.rows[0].cash).toBe(1300);
      const events = await stack.admin.query("SELECT count(*)::int AS n FROM sales.outbox WHERE type = 'sale.refunded' AND envelope->'data'->'sale'->>'id' = $1", [saleId]);
      expect(events.rows[0].n).toBe(3);
    });

    it('when a refunded sale is voided, then 409', async () => {
      await request(stack.app).post(`/api/v1/transactions/${saleId}/void`).set(bearer(shop.manager.token)).set('Idempotency-Key', randomUUID()).send({ reason: 'mistake' }).expect(409);
    });

    it('when a fresh sale is voided in its shift, then the card is voided, stock comes back and sale.voided is written', async () => {
      const before = await onHand(stack, shop.storeId, p.id);
      const sale = await sell(stack, shop.cashier.token, { storeId: shop.storeId, lines: [{ productId: p.id, quantity: 2 }], tenders: [{ method: 'card', amount: usd(2200), cardToken: 'tok_visa' }] }).expect(201);
      expect(await onHand(stack, shop.storeId, p.id)).toBe(before - 2);
      const res = await request(stack.app).post(`/api/v1/transactions/${sale.body.id}/void`).set(bearer(shop.manager.token)).set('Idempotency-Key', randomUUID()).send({ reason: 'rang twice' }).expect(200);
      expect(res.body.status).toBe('voided');
      expect(await onHand(stack, shop.storeId, p.id)).toBe(before);
      const { rows } = await stack.admin.query('SELECT status FROM payments.payments WHERE transaction_id = $1', [sale.body.id]);
      expect(rows.map((r) => r.status)).toEqual(['voided']);
      const ev = await stack.admin.query("SELECT count(*)::int AS n FROM sales.outbox WHERE type = 'sale.voided' AND envelope->'data'->>'id' = $1", [sale.body.id]);
      expect(ev.rows[0].n).toBe(1);
      await request(stack.app).post(`/api/v1/transactions/${sale.body.id}/void`).set(bearer(shop.cashier.token)).set('Idempotency-Key', randomUUID()).send({ reason: 'x' }).expect(403);
    });
  });

  it('when the sales report is asked for, then its totals equal the sales made, in the store time zone', async () => {
    const other = await createShop(stack.auth);
    await openShift(stack, other.cashier.token, other.storeId);
    const p = await stockedProduct(stack, other, 1000, 500);
    await sell(stack, other.cashier.token, { storeId: other.storeId, lines: [{ productId: p.id, quantity: 2 }], tenders: [{ method: 'cash', amount: usd(2100) }] }).expect(201);
    await sell(stack, other.cashier.token, { storeId: other.storeId, lines: [{ productId: p.id, quantity: 1 }], tenders: [{ method: 'card', amount: usd(1050), cardToken: 'tok_visa' }] }).expect(201);
    const today = new Date().toISOString().slice(0, 10);
    const from = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const to = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const byDay = await request(stack.app).get('/api/v1/reports/sales').query({ storeId: other.storeId, from, to, groupBy: 'day' }).set(bearer(other.accessToken)).expect(200);
    expect(byDay.body.totals).toMatchObject({ salesCount: 2, gross: usd(3000), tax: usd(150), net: usd(3150) });
    expect(byDay.body.rows).toEqual([expect.objectContaining({ key: today, salesCount: 2 })]);
    const byTender = await request(stack.app).get('/api/v1/reports/sales').query({ storeId: other.storeId, from, to, groupBy: 'tender' }).set(bearer(other.accessToken)).expect(200);
    expect(byTender.body.rows.map((r: { key: string; net: { amount: number } }) => [r.key, r.net.amount])).toEqual([
      ['card', 1050],
      ['cash', 2100],
    ]);
    const byProduct = await request(stack.app).get('/api/v1/reports/sales').query({ storeId: other.storeId, from, to, groupBy: 'product' }).set(bearer(other.accessToken)).expect(200);
    expect(byProduct.body.rows).toEqual([expect.objectContaining({ key: p.id, quantity: 3, net: usd(3150) })]);
    await request(stack.app).get('/api/v1/reports/sales').query({ storeId: other.storeId, from, to }).set(bearer(other.cashier.token)).expect(403);
    await request(stack.app).get('/api/v1/reports/sales').query({ storeId: other.storeId, from: to, to: from }).set(bearer(other.accessToken)).expect(400);
  });
});
