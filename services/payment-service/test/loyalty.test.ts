import { randomUUID } from 'node:crypto';
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import type { Pool } from '@pos/database';
import {
  adminPool,
  bearer,
  createShop,
  customerWithPoints,
  paymentRows,
  pointsBalance,
  processPayment,
  serviceToken,
  startAuthServer,
  startCustomerServer,
  startPayments,
  tender,
  usd,
  type AuthServer,
  type CustomerServer,
  type PaymentsUnderTest,
  type Shop,
} from './helpers';

/** A port nothing listens on: customer-service "down". */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/**
 * A proxy in front of customer-service that forwards every request at once but holds the ANSWER to a
 * redemption for `delayMs`: the points are taken, payment-service never hears back in time.
 */
async function slowRedemptionProxy(targetUrl: string, delayMs: number): Promise<{ url: string; close(): Promise<void> }> {
  const target = new URL(targetUrl);
  const server: Server = http.createServer((req, res) => {
    const upstream = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (c: Buffer) => chunks.push(c));
      answer.on('end', () => {
        const send = () => {
          if (res.destroyed) return;
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          res.end(Buffer.concat(chunks));
        };
        if (req.method === 'POST' && /\/loyalty\/redemptions$/.test(req.url ?? '')) setTimeout(send, delayMs).unref();
        else send();
      });
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

describe('payment-service: loyalty payments (points redeemed at the real customer-service)', () => {
  let auth: AuthServer;
  let customers: CustomerServer;
  let pay: PaymentsUnderTest;
  /** Points worth 5 cents each. */
  let pay5: PaymentsUnderTest;
  let shop: Shop;
  let admin: Pool;
  let svc: string;

  beforeAll(async () => {
    auth = await startAuthServer();
    customers = await startCustomerServer(auth.url);
    pay = await startPayments(auth.url, { CUSTOMER_SERVICE_URL: customers.url });
    pay5 = await startPayments(auth.url, { CUSTOMER_SERVICE_URL: customers.url, LOYALTY_POINT_VALUE: '5' });
    shop = await createShop(auth);
    admin = adminPool();
    svc = await serviceToken(auth, shop.tenantId);
  });
  afterAll(async () => {
    await pay.close();
    await pay5.close();
    await customers.close();
    await auth.close();
    await admin.end();
  });

  const owner = () => shop.accessToken;
  const balance = (customerId: string) => pointsBalance(customers, owner(), customerId);
  const redemption = (customerId: string, key: string) =>
    request(customers.app).get(`/api/v1/customers/${customerId}/loyalty/redemptions/${encodeURIComponent(key)}`).set(bearer(svc));
  const loyaltyTender = (customerId: string, amount: number) => tender(shop, 'loyalty', amount, { customerId });
  const refund = (p: PaymentsUnderTest, paymentId: string, amount: number, key = randomUUID()) =>
    request(p.app).post(`/api/v1/payments/${paymentId}/refunds`).set(bearer(svc)).set('Idempotency-Key', key).send({ amount: usd(amount), reason: 'returned' });
  const voidByKey = (p: PaymentsUnderTest, idempotencyKey: string) => request(p.app).post('/api/v1/payments/void-by-key').set(bearer(svc)).send({ idempotencyKey });

  it('when a customer with enough points pays by loyalty, then the points are redeemed under the payment key and the payment is captured with the customer and the points', async () => {
    const customerId = await customerWithPoints(customers, owner(), 1000);
    const key = `${randomUUID()}:tender:0`;
    const body = loyaltyTender(customerId, 400);
    const res = await processPayment(pay, svc, body, key).expect(201);
    expect(res.body).toMatchObject({
      method: 'loyalty',
      status: 'captured',
      amount: usd(400),
      refundedAmount: usd(0),
      idempotencyKey: key,
      loyalty: { customerId, points: 400, balanceAfter: 600 },
      card: null,
      giftCard: null,
      failure: null,
    });
    expect(await balance(customerId)).toBe(600);
    const state = await redemption(customerId, key).expect(200);
    expect(state.body).toMatchObject({ key, customerId, status: 'redeemed', points: 400, refundedPoints: 0 });
    expect(res.body.processorRef).toBe(state.body.redemptionId);
    const [row] = await paymentRows(admin, shop.tenantId, key);
    expect(row).toMatchObject({ method: 'loyalty', status: 'captured', customer_id: customerId, loyalty_points: 400, loyalty_balance_after: 600, amount: 400, processor: 'loyalty' });

    // The same key again: the stored payment, no second redemption.
    const replay = await processPayment(pay, svc, body, key).expect(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body.id).toBe(res.body.id);
    expect(await balance(customerId)).toBe(600);
    // The same key for another payment: refused, still no second redemption.
    expect((await processPayment(pay, svc, loyaltyTender(customerId, 400), key).expect(422)).body.code).toBe('idempotency_key_reused');
    expect(await balance(customerId)).toBe(600);
  });

  it('when points are worth 5 cents, then an amount of whole points redeems amount / 5 points and any other amount is a 400 naming amount with nothing stored', async () => {
    const customerId = await customerWithPoints(customers, owner(), 1000);
    const odd = `${randomUUID()}:tender:0`;
    const bad = await processPayment(pay5, svc, loyaltyTender(customerId, 1003), odd).expect(400);
    expect(bad.body.errors).toEqual([expect.objectContaining({ path: 'amount' })]);
    expect(await paymentRows(admin, shop.tenantId, odd)).toHaveLength(0);

    const res = await processPayment(pay5, svc, loyaltyTender(customerId, 1000)).expect(201);
    expect(res.body.loyalty).toEqual({ customerId, points: 200, balanceAfter: 800 });
    expect(await balance(customerId)).toBe(800);
  });

  it('when a loyalty payment has no customerId, then 400 names customerId', async () => {
    const res = await processPayment(pay, svc, tender(shop, 'loyalty', 100)).expect(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ path: 'customerId', message: 'is required for loyalty payments' })]);
  });

  it('when the customer has fewer points than asked, then 402 insufficient_loyalty_points with the available balance, the payment is stored declined and no point is taken', async () => {
    const customerId = await customerWithPoints(customers, owner(), 300);
    const key = `${randomUUID()}:tender:0`;
    const res = await processPayment(pay5, svc, loyaltyTender(customerId, 2000), key).expect(402);
    expect(res.body).toMatchObject({ status: 402, code: 'insufficient_loyalty_points', availableBalance: usd(1500), availablePoints: 300, paymentId: expect.any(String) });
    expect(await balance(customerId)).toBe(300);
    await redemption(customerId, key).expect(404);
    const [row] = await paymentRows(admin, shop.tenantId, key);
    expect(row).toMatchObject({ status: 'declined', failure_code: 'insufficient_loyalty_points', loyalty_points: 400, loyalty_balance_after: 300, customer_id: customerId });

    // A void-by-key of the declined tender (the sale's compensation) changes nothing.
    const voided = await voidByKey(pay5, key).expect(200);
    expect(voided.body).toMatchObject({ status: 'declined', tombstone: false });
    expect(await balance(customerId)).toBe(300);
  });

  it('when the customer is unknown, then 402 payment_declined loyalty_customer_not_found and the payment is stored declined', async () => {
    const key = randomUUID();
    const res = await processPayment(pay, svc, loyaltyTender(randomUUID(), 100), key).expect(402);
    expect(res.body).toMatchObject({ code: 'payment_declined', declineCode: 'loyalty_customer_not_found' });
    expect((await paymentRows(admin, shop.tenantId, key))[0]).toMatchObject({ status: 'declined', failure_code: 'loyalty_customer_not_found' });
  });

  it('when a loyalty payment is refunded in parts, then each refund gives its points back once and never more than was redeemed', async () => {
    const customerId = await customerWithPoints(customers, owner(), 1000);
    const key = `${randomUUID()}:tender:0`;
    const paid = await processPayment(pay, svc, loyaltyTender(customerId, 800), key).expect(201);
    expect(await balance(customerId)).toBe(200);

    const refundKey = randomUUID();
    const first = await refund(pay, paid.body.id, 300, refundKey).expect(201);
    expect(first.body).toMatchObject({ paymentId: paid.body.id, amount: usd(300) });
    expect(await balance(customerId)).toBe(500);
    const again = await refund(pay, paid.body.id, 300, refundKey).expect(201);
    expect(again.body.id).toBe(first.body.id);
    expect(await balance(customerId)).toBe(500);
    expect((await redemption(customerId, key).expect(200)).body).toMatchObject({ status: 'partially_refunded', points: 800, refundedPoints: 300 });

    const over = await refund(pay, paid.body.id, 600).expect(409);
    expect(over.body).toMatchObject({ code: 'refund_exceeds_captured', refundableAmount: usd(500) });
    await refund(pay, paid.body.id, 500).expect(201);
    expect(await balance(customerId)).toBe(1000);
    expect((await redemption(customerId, key).expect(200)).body).toMatchObject({ status: 'refunded', refundedPoints: 800 });

    const [row] = await paymentRows(admin, shop.tenantId, key);
    expect(row).toMatchObject({ status: 'captured', refunded_amount: 800 });
    const { rows: refunds } = await admin.query('SELECT amount, processor_ref FROM payments.refunds WHERE payment_id = $1 ORDER BY created_at', [paid.body.id]);
    expect(refunds).toEqual([
      { amount: 300, processor_ref: expect.any(String) },
      { amount: 500, processor_ref: expect.any(String) },
    ]);
  });

  it('when a loyalty refund is not a whole number of points, then 400 names amount and nothing is given back', async () => {
    const customerId = await customerWithPoints(customers, owner(), 100);
    const paid = await processPayment(pay5, svc, loyaltyTender(customerId, 500)).expect(201);
    const res = await refund(pay5, paid.body.id, 7).expect(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ path: 'amount' })]);
    expect(await balance(customerId)).toBe(0);
    expect((await admin.query('SELECT count(*)::int AS n FROM payments.refunds WHERE payment_id = $1', [paid.body.id])).rows[0].n).toBe(0);
  });

  it('when a captured loyalty payment is voided by key after a partial refund, then the rest of the points come back once, however often it is voided', async () => {
    const customerId = await customerWithPoints(customers, owner(), 500);
    const key = `${randomUUID()}:tender:1`;
    const paid = await processPayment(pay, svc, loyaltyTender(customerId, 500), key).expect(201);
    await refund(pay, paid.body.id, 100).expect(201);
    expect(await balance(customerId)).toBe(100);

    const voided = await voidByKey(pay, key).expect(200);
    expect(voided.body).toMatchObject({ id: paid.body.id, status: 'voided', voidedAt: expect.any(String) });
    expect(await balance(customerId)).toBe(500);
    await voidByKey(pay, key).expect(200);
    await request(pay.app).post(`/api/v1/payments/${paid.body.id}/void`).set(bearer(svc)).set('Idempotency-Key', randomUUID()).expect(200);
    expect(await balance(customerId)).toBe(500);
    expect((await redemption(customerId, key).expect(200)).body).toMatchObject({ status: 'refunded', refundedPoints: 500 });
    expect((await paymentRows(admin, shop.tenantId, key))[0]).toMatchObject({ status: 'voided' });
    // A later refund is refused: nothing is left on a voided payment.
    expect((await refund(pay, paid.body.id, 100).expect(409)).body.code).toBe('payment_voided');
  });

  it('when a loyalty key is voided by key before any payment, then a tombstone refuses the late payment and no point is taken', async () => {
    const customerId = await customerWithPoints(customers, owner(), 500);
    const key = `${randomUUID()}:tender:0`;
    const tomb = await voidByKey(pay, key).expect(200);
    expect(tomb.body).toMatchObject({ tombstone: true, status: 'voided', method: null });
    const late = await processPayment(pay, svc, loyaltyTender(customerId, 200), key).expect(409);
    expect(late.body.code).toBe('payment_voided');
    expect(await balance(customerId)).toBe(500);
    await redemption(customerId, key).expect(404);
  });

  it('when customer-service is down, then 503 processor_unavailable with the payment stored failed; void-by-key then cancels the key at customer-service so a late redemption is refused', async () => {
    const down = await startPayments(auth.url, { CUSTOMER_SERVICE_URL: `http://127.0.0.1:${await closedPort()}` });
    try {
      const customerId = await customerWithPoints(customers, owner(), 500);
      const key = `${randomUUID()}:tender:0`;
      const res = await processPayment(down, svc, loyaltyTender(customerId, 200), key).expect(503);
      expect(res.body.code).toBe('processor_unavailable');
      expect((await paymentRows(admin, shop.tenantId, key))[0]).toMatchObject({ status: 'failed', failure_code: 'loyalty_unavailable', customer_id: customerId });

      // Outcome unknown to the sale: it compensates by key (through a replica that reaches customer-service).
      const voided = await voidByKey(pay, key).expect(200);
      expect(voided.body).toMatchObject({ status: 'voided', tombstone: false });
      expect((await redemption(customerId, key).expect(200)).body).toMatchObject({ status: 'voided', points: 0 });
      const late = await request(customers.app)
        .post(`/api/v1/customers/${customerId}/loyalty/redemptions`)
        .set(bearer(svc))
        .set('Idempotency-Key', key)
        .send({ points: 200, reference: 'late' })
        .expect(409);
      expect(late.body.code).toBe('redemption_voided');
      expect((await processPayment(pay, svc, loyaltyTender(customerId, 200), key).expect(409)).body.code).toBe('payment_voided');
      expect(await balance(customerId)).toBe(500);
    } finally {
      await down.close();
    }
  });

  it('when the redemption lands but its answer is too late, then 503 (outcome unknown), and void-by-key gives the taken points back', async () => {
    const proxy = await slowRedemptionProxy(customers.url, 5_000);
    const slow = await startPayments(auth.url, { CUSTOMER_SERVICE_URL: proxy.url });
    try {
      const customerId = await customerWithPoints(customers, owner(), 500);
      const key = `${randomUUID()}:tender:0`;
      const res = await processPayment(slow, svc, loyaltyTender(customerId, 300), key).expect(503);
      expect(res.body.code).toBe('processor_unavailable');
      expect((await paymentRows(admin, shop.tenantId, key))[0]).toMatchObject({ status: 'failed', failure_code: 'loyalty_timeout' });
      expect(await balance(customerId)).toBe(200); // the points were taken; we never heard back

      const voided = await voidByKey(slow, key).expect(200);
      expect(voided.body).toMatchObject({ status: 'voided' });
      expect(await balance(customerId)).toBe(500);
      expect((await redemption(customerId, key).expect(200)).body).toMatchObject({ status: 'refunded', points: 300, refundedPoints: 300 });
    } finally {
      await slow.close();
      await proxy.close();
    }
  });

  it('when a failed loyalty payment is retried with its key after customer-service is back, then it resumes and captures once', async () => {
    const down = await startPayments(auth.url, { CUSTOMER_SERVICE_URL: `http://127.0.0.1:${await closedPort()}` });
    try {
      const customerId = await customerWithPoints(customers, owner(), 500);
      const key = `${randomUUID()}:tender:0`;
      const body = loyaltyTender(customerId, 250);
      await processPayment(down, svc, body, key).expect(503);
      const resumed = await processPayment(pay, svc, body, key).expect(201);
      expect(resumed.body).toMatchObject({ status: 'captured', loyalty: { customerId, points: 250, balanceAfter: 250 } });
      expect(await balance(customerId)).toBe(250);
      expect(await paymentRows(admin, shop.tenantId, key)).toHaveLength(1);
    } finally {
      await down.close();
    }
  });
});
