import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { bearer, createShop, onHand, openShift, sell, startStack, stockedProduct, usd, type Shop, type Stack } from './helpers';

/**
 * Loyalty tenders end to end: transaction-service -> payment-service (method `loyalty`) -> the real
 * customer-service, which redeems the points with the tender's key `<saleId>:tender:<i>`.
 */
describe('transaction-service: loyalty tenders (real auth, inventory, payment and customer services)', () => {
  let stack: Stack;
  let shop: Shop;

  beforeAll(async () => {
    stack = await startStack({}, { customers: true });
    shop = await createShop(stack.auth);
    await openShift(stack, shop.cashier.token, shop.storeId);
    await openShift(stack, shop.manager.token, shop.storeId);
  });
  afterAll(() => stack.close());

  const customers = () => stack.customers!;

  /** A customer given `points` by an owner's adjustment at customer-service. */
  async function customerWithPoints(points: number): Promise<string> {
    const tag = randomUUID().slice(0, 8);
    const created = await request(customers().app).post('/api/v1/customers').set(bearer(shop.accessToken)).send({ name: `Loyal ${tag}`, email: `loyal-${tag}@example.test` }).expect(201);
    await request(customers().app)
      .post(`/api/v1/customers/${created.body.id}/loyalty/adjustments`)
      .set(bearer(shop.accessToken))
      .set('Idempotency-Key', randomUUID())
      .send({ points, reason: 'welcome bonus' })
      .expect(201);
    return created.body.id;
  }

  const balance = async (customerId: string) =>
    (await request(customers().app).get(`/api/v1/customers/${customerId}/loyalty`).set(bearer(shop.accessToken)).expect(200)).body.balance as number;
  const redemption = (customerId: string, key: string) =>
    request(customers().app).get(`/api/v1/customers/${customerId}/loyalty/redemptions/${encodeURIComponent(key)}`).set(bearer(shop.accessToken));
  const paymentRows = async (saleId: string) =>
    (
      await stack.admin.query(
        'SELECT method, amount, status, refunded_amount, customer_id, loyalty_points, idempotency_key FROM payments.payments WHERE transaction_id = $1 ORDER BY created_at, method',
        [saleId],
      )
    ).rows;

  it('when a sale for a customer with points is paid partly by loyalty and partly in cash, then the points are redeemed before the cash is taken and the balance drops; a refund of the sale gives the points back', async () => {
    const customerId = await customerWithPoints(1500);
    const product = await stockedProduct(stack, shop, 1000, 0);
    const sale = await sell(stack, shop.cashier.token, {
      storeId: shop.storeId,
      customerId,
      lines: [{ productId: product.id, quantity: 2 }],
      tenders: [
        { method: 'cash', amount: usd(1000) },
        { method: 'loyalty', amount: usd(1200) },
      ],
    }).expect(201);
    // total 2000: loyalty 1200 (points worth 1 cent), cash 800 applied of 1000 tendered, change 200
    expect(sale.body).toMatchObject({
      status: 'completed',
      customerId,
      total: usd(2000),
      changeDue: usd(200),
      tenders: [
        { method: 'cash', amount: usd(800), tendered: usd(1000), status: 'captured', paymentId: expect.any(String) },
        { method: 'loyalty', amount: usd(1200), tendered: usd(1200), status: 'captured', paymentId: expect.any(String) },
      ],
    });
    expect(await balance(customerId)).toBe(300);
    const loyaltyKey = `${sale.body.id}:tender:1`;
    expect((await redemption(customerId, loyaltyKey).expect(200)).body).toMatchObject({ status: 'redeemed', points: 1200 });

    // Non-cash first: the loyalty payment was taken before the cash one.
    expect(await paymentRows(sale.body.id)).toEqual([
      { method: 'loyalty', amount: 1200, status: 'captured', refunded_amount: 0, customer_id: customerId, loyalty_points: 1200, idempotency_key: loyaltyKey },
      { method: 'cash', amount: 800, status: 'captured', refunded_amount: 0, customer_id: null, loyalty_points: null, idempotency_key: `${sale.body.id}:tender:0` },
    ]);
    const { rows: tenders } = await stack.admin.query('SELECT tender_no, method, tendered, applied, status, payment_id FROM sales.sale_tenders WHERE sale_id = $1 ORDER BY tender_no', [sale.body.id]);
    expect(tenders).toEqual([
      { tender_no: 1, method: 'cash', tendered: 1000, applied: 800, status: 'captured', payment_id: sale.body.tenders[0].paymentId },
      { tender_no: 2, method: 'loyalty', tendered: 1200, applied: 1200, status: 'captured', payment_id: sale.body.tenders[1].paymentId },
    ]);

    // Refund the whole sale: the loyalty tender gets its 1200 back first (as points), cash the rest.
    const refund = await request(stack.app)
      .post(`/api/v1/transactions/${sale.body.id}/refunds`)
      .set(bearer(shop.manager.token))
      .set('Idempotency-Key', randomUUID())
      .send({ lines: [{ lineId: sale.body.lines[0].id, quantity: 2 }], restock: true, reason: 'customer return' })
      .expect(201);
    expect(refund.body).toMatchObject({
      status: 'completed',
      total: usd(2000),
      tenders: [
        { method: 'loyalty', amount: usd(1200), status: 'completed' },
        { method: 'cash', amount: usd(800), status: 'completed' },
      ],
    });
    expect(await balance(customerId)).toBe(1500);
    expect((await redemption(customerId, loyaltyKey).expect(200)).body).toMatchObject({ status: 'refunded', points: 1200, refundedPoints: 1200 });
    const [loyaltyPayment] = await paymentRows(sale.body.id);
    expect(loyaltyPayment).toMatchObject({ method: 'loyalty', status: 'captured', refunded_amount: 1200 });
    const { rows: refundTenders } = await stack.admin.query('SELECT method, amount, status FROM sales.refund_tenders WHERE refund_id = $1 ORDER BY seq', [refund.body.id]);
    expect(refundTenders).toEqual([
      { method: 'loyalty', amount: 1200, status: 'completed' },
      { method: 'cash', amount: 800, status: 'completed' },
    ]);
  });

  it('when the loyalty tender asks for more points than the customer has, then 402 insufficient_loyalty_points with the available balance, the sale fails and no point or stock is taken', async () => {
    const customerId = await customerWithPoints(300);
    const product = await stockedProduct(stack, shop, 1000, 0, 10);
    const card = { method: 'card', amount: usd(200), cardToken: 'tok_visa' };
    const res = await sell(stack, shop.cashier.token, {
      storeId: shop.storeId,
      customerId,
      lines: [{ productId: product.id, quantity: 1 }],
      tenders: [card, { method: 'loyalty', amount: usd(800) }],
    }).expect(402);
    expect(res.body).toMatchObject({ code: 'insufficient_loyalty_points', availableBalance: usd(300), tender: 1, saleId: expect.any(String) });
    expect(await balance(customerId)).toBe(300);
    expect(await onHand(stack, shop.storeId, product.id)).toBe(10);
    const { rows } = await stack.admin.query('SELECT status, failure_code FROM sales.sales WHERE id = $1', [res.body.saleId]);
    expect(rows[0]).toEqual({ status: 'failed', failure_code: 'insufficient_loyalty_points' });
    // The card captured before it was voided by the compensation; the loyalty payment is declined.
    expect((await paymentRows(res.body.saleId)).map((p) => [p.method, p.status])).toEqual([
      ['card', 'voided'],
      ['loyalty', 'declined'],
    ]);
  });

  it('when a sale has a loyalty tender but no customer, then 400 names the tender and nothing is created', async () => {
    const product = await stockedProduct(stack, shop, 500, 0);
    const key = randomUUID();
    const res = await sell(
      stack,
      shop.cashier.token,
      { storeId: shop.storeId, lines: [{ productId: product.id, quantity: 1 }], tenders: [{ method: 'cash', amount: usd(100) }, { method: 'loyalty', amount: usd(400) }] },
      key,
    ).expect(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ path: 'tenders.1' })]);
    expect((await stack.admin.query('SELECT 1 FROM sales.sales WHERE idempotency_key = $1', [key])).rowCount).toBe(0);
  });

  it('when a sale paid with points is voided, then the points come back by the tender key', async () => {
    const customerId = await customerWithPoints(1000);
    const product = await stockedProduct(stack, shop, 700, 0);
    const sale = await sell(stack, shop.cashier.token, { storeId: shop.storeId, customerId, lines: [{ productId: product.id, quantity: 1 }], tenders: [{ method: 'loyalty', amount: usd(700) }] }).expect(201);
    expect(await balance(customerId)).toBe(300);
    const voided = await request(stack.app).post(`/api/v1/transactions/${sale.body.id}/void`).set(bearer(shop.manager.token)).set('Idempotency-Key', randomUUID()).send({ reason: 'rang twice' }).expect(200);
    expect(voided.body.status).toBe('voided');
    expect(await balance(customerId)).toBe(1000);
    expect((await paymentRows(sale.body.id)).map((p) => p.status)).toEqual(['voided']);
    expect((await redemption(customerId, `${sale.body.id}:tender:0`).expect(200)).body).toMatchObject({ status: 'refunded', refundedPoints: 700 });
  });
});
