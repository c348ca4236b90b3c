import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { bearer, onHand, openShift, sell, startStack, stockedProduct, usd, createShop, type Shop, type Stack } from './helpers';

describe('transaction-service checkout (real auth, inventory and payment services)', () => {
  let stack: Stack;
  let shop: Shop;
  let otherShop: Shop;

  beforeAll(async () => {
    stack = await startStack();
    shop = await createShop(stack.auth);
    otherShop = await createShop(stack.auth);
    await openShift(stack, shop.cashier.token, shop.storeId);
  });
  afterAll(() => stack.close());

  const payments = async (saleId: string) =>
    (await stack.admin.query('SELECT method, amount, status FROM payments.payments WHERE transaction_id = $1 ORDER BY created_at', [saleId])).rows;

  it('when a cashier sells two products for cash, then the sale completes with server prices, tax, change, a receipt number and a sale.completed event', async () => {
    const [coffee, mug] = [await stockedProduct(stack, shop, 1000, 825), await stockedProduct(stack, shop, 450, 0)];
    const res = await sell(stack, shop.cashier.token, {
      storeId: shop.storeId,
      lines: [{ productId: coffee.id, quantity: 2, discount: { percent: 10 } }, { productId: mug.id, quantity: 1 }],
      tenders: [{ method: 'cash', amount: usd(3000) }],
    }).expect(201);
    // 2 x 10.00 less 10% = 18.00 + 8.25% tax (1.485 -> 1.49) = 19.49; mug 4.50 untaxed; total 23.99
    expect(res.body).toMatchObject({
      status: 'completed',
      subtotal: usd(2450),
      discountTotal: usd(200),
      taxTotal: usd(149),
      total: usd(2399),
      changeDue: usd(601),
      cashierId: shop.cashier.id,
      receiptNumber: expect.any(Number),
      tenders: [{ method: 'cash', amount: usd(2399), tendered: usd(3000), status: 'captured' }],
    });
    expect(res.body.lines[0]).toMatchObject({ productId: coffee.id, quantity: 2, unitPrice: usd(1000), discount: usd(200), tax: usd(149), total: usd(1949) });
    expect(await onHand(stack, shop.storeId, coffee.id)).toBe(48);
    expect(await onHand(stack, shop.storeId, mug.id)).toBe(49);
    expect(await payments(res.body.id)).toEqual([{ method: 'cash', amount: 2399, status: 'captured' }]);
    const { rows } = await stack.admin.query("SELECT envelope->'data' AS data FROM sales.outbox WHERE type = 'sale.completed' AND envelope->'data'->>'id' = $1", [res.body.id]);
    expect(rows[0].data).toMatchObject({ id: res.body.id, total: usd(2399), businessDate: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) });
    const metrics = await request(stack.app).get('/metrics').expect(200);
    expect(Number(/sales_value_minor_total\{currency="USD"[^}]*\} (\d+)/.exec(metrics.text)?.[1])).toBeGreaterThanOrEqual(2399);
  });

  it('when the client sends its own price without being a manager, then 403 and nothing is created', async () => {
    const p = await stockedProduct(stack, shop, 1000, 0);
    const key = randomUUID();
    const res = await sell(stack, shop.cashier.token, { storeId: shop.storeId, lines: [{ productId: p.id, quantity: 1, unitPrice: usd(1) }], tenders: [{ method: 'cash', amount: usd(1) }] }, key).expect(403);
    expect(res.body.code).toBe('price_override_forbidden');
    const { rowCount } = await stack.admin.query('SELECT 1 FROM sales.sales WHERE idempotency_key = $1', [key]);
    expect(rowCount).toBe(0);
  });

  it('when a manager overrides a price, then it is used and recorded with who did it', async () => {
    await openShift(stack, shop.manager.token, shop.storeId);
    const p = await stockedProduct(stack, shop, 1000, 0);
    const res = await sell(stack, shop.manager.token, { storeId: shop.storeId, lines: [{ productId: p.id, quantity: 1, unitPrice: usd(700) }], tenders: [{ method: 'cash', amount: usd(700) }] }).expect(201);
    expect(res.body.lines[0]).toMatchObject({ unitPrice: usd(700), priceOverriddenBy: shop.manager.id });
    const { rows } = await stack.admin.query('SELECT catalog_price, unit_price FROM sales.sale_lines WHERE sale_id = $1', [res.body.id]);
    expect(rows[0]).toEqual({ catalog_price: 1000, unit_price: 700 });
  });

  it('when cash and card split a sale, then the card is captured first and both are recorded', async () => {
    const p = await stockedProduct(stack, shop, 2500, 0);
    const res = await sell(stack, shop.cashier.token, {
      storeId: shop.storeId,
      lines: [{ productId: p.id, quantity: 1 }],
      tenders: [{ method: 'cash', amount: usd(2000) }, { method: 'card', amount: usd(500), cardToken: 'tok_visa' }],
    }).expect(201);
    expect(res.body.tenders.map((t: { method: string; amount: { amount: number } }) => [t.method, t.amount.amount])).toEqual([
      ['cash', 2000],
      ['card', 500],
    ]);
    expect(await payments(res.body.id)).toEqual([
      { method: 'card', amount: 500, status: 'captured' },
      { method: 'cash', amount: 2000, status: 'captured' },
    ]);
  });

  it('when the card is declined, then 402 with the reason, the stock is back and nothing stays captured', async () => {
    const p = await stockedProduct(stack, shop, 1500, 0, 5);
    const res = await sell(stack, shop.cashier.token, {
      storeId: shop.storeId,
      lines: [{ productId: p.id, quantity: 2 }],
      tenders: [{ method: 'card', amount: usd(1000), cardToken: 'tok_chargeDeclined' }, { method: 'cash', amount: usd(2000) }],
    }).expect(402);
    expect(res.body).toMatchObject({ code: 'payment_declined', declineCode: expect.any(String), saleId: expect.any(String) });
    expect(await onHand(stack, shop.storeId, p.id)).toBe(5);
    expect((await payments(res.body.saleId)).filter((x) => x.status === 'captured')).toEqual([]);
    const { rows } = await stack.admin.query('SELECT status, failure_code FROM sales.sales WHERE id = $1', [res.body.saleId]);
    expect(rows[0]).toEqual({ status: 'failed', failure_code: 'payment_declined' });
  });

  it('when the processor fails like an outage, then 503 and nothing is captured or reserved', async () => {
    const p = await stockedProduct(stack, shop, 1500, 0, 5);
    const res = await sell(stack, shop.cashier.token, { storeId: shop.storeId, lines: [{ productId: p.id, quantity: 1 }], tenders: [{ method: 'card', amount: usd(1500), cardToken: 'tok_processingError' }] });
    expect(res.status).toBe(503);
    expect(await onHand(stack, shop.storeId, p.id)).toBe(5);
    expect((await payments(res.body.saleId)).filter((x) => x.status === 'captured')).toEqual([]);
  });

  it('when the processor times out, then the retry with the same processor key captures exactly once', async () => {
    const p = await stockedProduct(stack, shop, 1200, 0, 5);
    const res = await sell(stack, shop.cashier.token, { storeId: shop.storeId, lines: [{ productId: p.id, quantity: 1 }], tenders: [{ method: 'card', amount: usd(1200), cardToken: 'tok_timeout' }] });
    expect(res.status).toBe(201);
    expect(await payments(res.body.id)).toEqual([{ method: 'card', amount: 1200, status: 'captured' }]);
    expect(await onHand(stack, shop.storeId, p.id)).toBe(4);
  }, 30_000);

  it('when stock is short in a store that denies negative stock, then 409 names the product and the card is not charged', async () => {
    const p = await stockedProduct(stack, shop, 1000, 0, 1);
    const res = await sell(stack, shop.cashier.token, { storeId: shop.storeId, lines: [{ productId: p.id, quantity: 3 }], tenders: [{ method: 'card', amount: usd(3000), cardToken: 'tok_visa' }] }).expect(409);
    expect(res.body).toMatchObject({ code: 'insufficient_stock', shortages: [{ productId: p.id, requested: 3, available: 1 }] });
    expect((await payments(res.body.saleId)).filter((x) => x.status === 'captured')).toEqual([]);
  });

  it('when 50 requests with one Idempotency-Key arrive together, then there is one sale, one reservation and one capture', async () => {
    const p = await stockedProduct(stack, shop, 800, 0, 100);
    const key = randomUUID();
    const body = { storeId: shop.storeId, lines: [{ productId: p.id, quantity: 1 }], tenders: [{ method: 'card', amount: usd(800), cardToken: 'tok_mastercard' }] };
    const results = await Promise.all(Array.from({ length: 50 }, () => sell(stack, shop.cashier.token, body, key)));
    const ok = results.filter((r) => r.status === 201);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    expect(results.filter((r) => r.status !== 201 && r.status !== 409).map((r) => [r.status, r.body.code])).toEqual([]);
    expect(new Set(ok.map((r) => r.body.id)).size).toBe(1);
    const { rows } = await stack.admin.query('SELECT count(*)::int AS n FROM sales.sales WHERE idempotency_key = $1', [key]);
    expect(rows[0].n).toBe(1);
    expect(await onHand(stack, shop.storeId, p.id)).toBe(99);
    expect(await payments(ok[0]!.body.id)).toEqual([{ method: 'card', amount: 800, status: 'captured' }]);
    const replay = await sell(stack, shop.cashier.token, body, key).expect(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
  });

  it('when the same key comes with a different body, then 422', async () => {
    const p = await stockedProduct(stack, shop, 800, 0);
    const key = randomUUID();
    await sell(stack, shop.cashier.token, { storeId: shop.storeId, lines: [{ productId: p.id, quantity: 1 }], tenders: [{ method: 'cash', amount: usd(800) }] }, key).expect(201);
    const res = await sell(stack, shop.cashier.token, { storeId: shop.storeId, lines: [{ productId: p.id, quantity: 2 }], tenders: [{ method: 'cash', amount: usd(1600) }] }, key).expect(422);
    expect(res.body.code).toBe('idempotency_key_reused');
  });

  it('when a card number is typed into the body, then 400 and it is stored nowhere', async () => {
    const p = await stockedProduct(stack, shop, 800, 0);
    const res = await sell(stack, shop.cashier.token, { storeId: shop.storeId, lines: [{ productId: p.id, quantity: 1 }], tenders: [{ method: 'card', amount: usd(800), cardToken: '4242 4242 4242 4242' }] }).expect(400);
    expect(res.body).toMatchObject({ code: 'card_data_refused', errors: [{ path: 'tenders.0.cardToken' }] });
    // Refused before the idempotency record and the sale are written: nothing of it is stored.
    const { rows } = await stack.admin.query(
      "SELECT (SELECT count(*)::int FROM sales.idempotency_keys WHERE tenant_id = $1 AND response_body::text ~ '4242.?4242.?4242') + (SELECT count(*)::int FROM sales.sale_tenders WHERE tenant_id = $1 AND details::text ~ '4242.?4242.?4242') AS n",
      [shop.tenantId],
    );
    expect(rows[0].n).toBe(0);
  });

  it('when non-cash tenders exceed the total or tenders do not cover it, then 400 naming the tenders', async () => {
    const p = await stockedProduct(stack, shop, 800, 0);
    const over = await sell(stack, shop.cashier.token, { storeId: shop.storeId, lines: [{ productId: p.id, quantity: 1 }], tenders: [{ method: 'card', amount: usd(900), cardToken: 'tok_visa' }] }).expect(400);
    expect(over.body.code).toBe('non_cash_exceeds_total');
    const under = await sell(stack, shop.cashier.token, { storeId: shop.storeId, lines: [{ productId: p.id, quantity: 1 }], tenders: [{ method: 'cash', amount: usd(100) }] }).expect(400);
    expect(under.body.code).toBe('tenders_do_not_cover_total');
  });

  it('when a failed sale is sent again with its key, then the same answer comes back (a replay, details included) and there is still one sale', async () => {
    const p = await stockedProduct(stack, shop, 1000, 0, 1);
    const key = randomUUID();
    const body = { storeId: shop.storeId, lines: [{ productId: p.id, quantity: 3 }], tenders: [{ method: 'cash', amount: usd(3000) }] };
    const first = await sell(stack, shop.cashier.token, body, key).expect(409);
    const again = await sell(stack, shop.cashier.token, body, key).expect(409);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toMatchObject({ code: 'insufficient_stock', saleId: first.body.saleId, shortages: first.body.shortages });
    const { rows } = await stack.admin.query('SELECT count(*)::int AS n FROM sales.sales WHERE idempotency_key = $1', [key]);
    expect(rows[0].n).toBe(1);
    // The sale is its key's record: nothing in the general idempotency table.
    expect((await stack.admin.query('SELECT 1 FROM sales.idempotency_keys WHERE key = $1', [key])).rowCount).toBe(0);
    expect(await onHand(stack, shop.storeId, p.id)).toBe(1);
  });

  it('when a sale was refused for want of a shift, then the same key sells once the shift is open (a refusal before the sale exists is not kept)', async () => {
    const p = await stockedProduct(stack, shop, 800, 0);
    const key = randomUUID();
    const body = { storeId: shop.storeId, lines: [{ productId: p.id, quantity: 1 }], tenders: [{ method: 'cash', amount: usd(800) }] };
    // The owner has no shift in this file (the test after this one relies on that): open and close one.
    await sell(stack, shop.accessToken, body, key).expect(409);
    const shiftId = await openShift(stack, shop.accessToken, shop.storeId);
    const sold = await sell(stack, shop.accessToken, body, key).expect(201);
    expect(sold.body.status).toBe('completed');
    await request(stack.app).post(`/api/v1/shifts/${shiftId}/close`).set(bearer(shop.accessToken)).send({ countedCash: usd(10_800) }).expect(200);
    // Without a key there is no sale at all.
    const noKey = await request(stack.app).post('/api/v1/transactions').set(bearer(shop.accessToken)).send(body).expect(400);
    expect(noKey.body.code).toBe('idempotency_key_required');
  });

  it('when the cashier has no open shift at the store, then 409', async () => {
    const p = await stockedProduct(stack, shop, 800, 0);
    const res = await sell(stack, shop.accessToken, { storeId: shop.storeId, lines: [{ productId: p.id, quantity: 1 }], tenders: [{ method: 'cash', amount: usd(800) }] }).expect(409);
    expect(res.body.code).toBe('no_open_shift');
  });

  it('when the body is malformed, then 400 names each bad field', async () => {
    const res = await sell(stack, shop.cashier.token, { storeId: 'x', lines: [{ productId: randomUUID(), quantity: 0 }], tenders: [{ method: 'bitcoin', amount: usd(1) }] }).expect(400);
    const paths = res.body.errors.map((e: { path: string }) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['storeId', 'lines.0.quantity', 'tenders.0.method']));
  });

  it("when tenant A asks for tenant B's sale, then 404; a cashier sees only their own sales", async () => {
    await openShift(stack, otherShop.cashier.token, otherShop.storeId);
    const p = await stockedProduct(stack, otherShop, 500, 0);
    const sale = await sell(stack, otherShop.cashier.token, { storeId: otherShop.storeId, lines: [{ productId: p.id, quantity: 1 }], tenders: [{ method: 'cash', amount: usd(500) }] }).expect(201);
    await request(stack.app).get(`/api/v1/transactions/${sale.body.id}`).set(bearer(shop.accessToken)).expect(404);
    await request(stack.app).get(`/api/v1/transactions/${sale.body.id}/receipt`).set(bearer(shop.accessToken)).expect(404);
    await request(stack.app).post(`/api/v1/transactions/${sale.body.id}/void`).set(bearer(shop.accessToken)).set('Idempotency-Key', randomUUID()).send({ reason: 'x' }).expect(404);
    const list = await request(stack.app).get('/api/v1/transactions').set(bearer(shop.accessToken)).expect(200);
    expect(list.body.data.map((s: { id: string }) => s.id)).not.toContain(sale.body.id);
  });

  it('when a receipt is asked for, then it comes as text or escaped HTML with the sale lines', async () => {
    const p = await stockedProduct(stack, shop, 1234, 0);
    const sale = await sell(stack, shop.cashier.token, { storeId: shop.storeId, lines: [{ productId: p.id, quantity: 2 }], tenders: [{ method: 'cash', amount: usd(5000) }] }).expect(201);
    const text = await request(stack.app).get(`/api/v1/transactions/${sale.body.id}/receipt`).set(bearer(shop.cashier.token)).expect(200);
    expect(text.headers['content-type']).toMatch(/text\/plain/);
    expect(text.text).toContain(`Receipt #${sale.body.receiptNumber}`);
    expect(text.text).toMatch(/TOTAL USD\s+24\.68/);
    expect(text.text).toMatch(/Change\s+25\.32/);
    const html = await request(stack.app).get(`/api/v1/transactions/${sale.body.id}/receipt`).query({ format: 'html' }).set(bearer(shop.cashier.token)).expect(200);
    expect(html.text).toContain('@media print');
  });

  it('when receipts are numbered, then numbers are sequential per store without gaps', async () => {
    const p = await stockedProduct(stack, shop, 100, 0);
    const numbers = [];
    for (let i = 0; i < 3; i++) {
      numbers.push((await sell(stack, shop.cashier.token, { storeId: shop.storeId, lines: [{ productId: p.id, quantity: 1 }], tenders: [{ method: 'cash', amount: usd(100) }] }).expect(201)).body.receiptNumber);
    }
    expect(numbers[1]).toBe(numbers[0] + 1);
    expect(numbers[2]).toBe(numbers[0] + 2);
  });
});
