import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { Pool } from '@pos/database';
import { simulatorChargeKey } from '../src/processor';
import {
  adminPool,
  bearer,
  createShop,
  events,
  paymentRows,
  processPayment,
  serviceToken,
  startAuthServer,
  startPayments,
  tender,
  usd,
  type AuthServer,
  type PaymentsUnderTest,
  type Shop,
} from './helpers';

describe('payment-service: taking payments', () => {
  let auth: AuthServer;
  let pay: PaymentsUnderTest;
  let oneShot: PaymentsUnderTest;
  let shop: Shop;
  let otherShop: Shop;
  let admin: Pool;
  let svc: string;

  beforeAll(async () => {
    auth = await startAuthServer();
    pay = await startPayments(auth.url);
    // Same database and Redis, but a single processor attempt: a timeout is not retried here.
    oneShot = await startPayments(auth.url, { PROCESSOR_MAX_ATTEMPTS: '1' });
    shop = await createShop(auth);
    otherShop = await createShop(auth);
    admin = adminPool();
    svc = await serviceToken(auth, shop.tenantId);
  });
  afterAll(async () => {
    await pay.close();
    await oneShot.close();
    await auth.close();
    await admin.end();
  });

  const simulatorState = (paymentId: string) => pay.deps.redis.hgetall(simulatorChargeKey(shop.tenantId, paymentId));

  it('when cash is taken, then it is captured at once with no processor, stored, and payment.captured is written', async () => {
    const body = tender(shop, 'cash', 2000);
    const key = `${body.transactionId}:tender:0`;
    const res = await processPayment(pay, svc, body, key).expect(201);
    expect(res.body).toMatchObject({
      transactionId: body.transactionId,
      storeId: shop.storeId,
      idempotencyKey: key,
      method: 'cash',
      amount: usd(2000),
      status: 'captured',
      refundedAmount: usd(0),
      card: null,
      giftCard: null,
      processorRef: null,
      version: 1,
    });
    const rows = await paymentRows(admin, shop.tenantId, key);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: res.body.id, status: 'captured', amount: 2000, currency: 'USD', method: 'cash' });
    const captured = await events(admin, 'payment.captured', res.body.id);
    expect(captured).toHaveLength(1);
    expect(captured[0]).toMatchObject({ tenantId: shop.tenantId, data: { paymentId: res.body.id, transactionId: body.transactionId, method: 'cash', amount: usd(2000), idempotencyKey: key } });
    const read = await request(pay.app).get(`/api/v1/payments/${res.body.id}`).set(bearer(shop.accessToken)).expect(200);
    expect(read.body).toEqual(res.body);
  });

  it('when a card token approves, then it is captured through the processor with brand and last 4 only', async () => {
    const body = tender(shop, 'card', 1250, { cardToken: 'tok_mastercard' });
    const res = await processPayment(pay, shop.cashier.token, body).expect(201);
    expect(res.body).toMatchObject({ method: 'card', status: 'captured', card: { brand: 'mastercard', last4: '4444' }, amount: usd(1250) });
    expect(res.body.processorRef).toMatch(/^ch_sim_/);
    const sim = await simulatorState(res.body.id);
    expect(sim).toMatchObject({ status: 'approved', ref: res.body.processorRef, amount: '1250', calls: '1' });
    const [row] = await paymentRows(admin, shop.tenantId, res.body.idempotencyKey);
    expect(row).toMatchObject({ card_token: 'tok_mastercard', card_brand: 'mastercard', card_last4: '4444', processor: 'simulator' });
    expect(await events(admin, 'payment.captured', res.body.id)).toHaveLength(1);
  });

  it('when a standalone terminal approved the card, then external_card is captured with its auth code, brand and last 4', async () => {
    const body = tender(shop, 'external_card', 990, { terminal: { authCode: 'A1B2C3', brand: 'Visa', last4: '1234' } });
    const res = await processPayment(pay, svc, body).expect(201);
    expect(res.body).toMatchObject({ method: 'external_card', status: 'captured', card: { brand: 'visa', last4: '1234' }, processorRef: 'A1B2C3' });
  });

  it('when the card is declined, then 402 payment_declined with the reason, the row is declined and payment.failed is written', async () => {
    for (const [token, declineCode] of [
      ['tok_chargeDeclined', 'card_declined'],
      ['tok_insufficientFunds', 'insufficient_funds'],
    ]) {
      const key = randomUUID();
      const res = await processPayment(pay, svc, tender(shop, 'card', 500, { cardToken: token }), key).expect(402);
      expect(res.body).toMatchObject({ status: 402, code: 'payment_declined', declineCode });
      expect(typeof res.body.reason).toBe('string');
      const [row] = await paymentRows(admin, shop.tenantId, key);
      expect(row).toMatchObject({ status: 'declined', failure_code: declineCode });
      expect(await events(admin, 'payment.captured', row.id)).toHaveLength(0);
      const failed = await events(admin, 'payment.failed', row.id);
      expect(failed).toHaveLength(1);
      expect(failed[0]!.data).toMatchObject({ code: declineCode, amount: usd(500) });
    }
  });

  it('when the processor has an outage, then 503 processor_unavailable, the row is failed and nothing is captured', async () => {
    const key = randomUUID();
    const res = await processPayment(pay, svc, tender(shop, 'card', 700, { cardToken: 'tok_processingError' }), key).expect(503);
    expect(res.body.code).toBe('processor_unavailable');
    const [row] = await paymentRows(admin, shop.tenantId, key);
    expect(row).toMatchObject({ status: 'failed', failure_code: 'processor_unavailable' });
    expect(await simulatorState(row.id)).toEqual({});
    expect(await events(admin, 'payment.captured', row.id)).toHaveLength(0);
  });

  it('when the processor answers too late, then the retry with the same processor key returns the recorded charge: exactly one capture', async () => {
    const key = randomUUID();
    const started = Date.now();
    const res = await processPayment(pay, svc, tender(shop, 'card', 4321, { cardToken: 'tok_timeout' }), key).expect(201);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300); // the first attempt timed out
    expect(res.body).toMatchObject({ status: 'captured', card: { brand: 'visa', last4: '1881' } });
    const sim = await simulatorState(res.body.id);
    // Two calls reached the processor with the payment id as key; one charge exists.
    expect(sim).toMatchObject({ status: 'approved', calls: '2', amount: '4321', ref: res.body.processorRef });
    expect(await paymentRows(admin, shop.tenantId, key)).toHaveLength(1);
    expect(await events(admin, 'payment.captured', res.body.id)).toHaveLength(1);
  });

  it('when every attempt times out, then 503 and the row is failed; the client retry with the same key captures the charge that landed, once', async () => {
    const key = randomUUID();
    const body = tender(shop, 'card', 1500, { cardToken: 'tok_timeout' });
    const first = await processPayment(oneShot, svc, body, key).expect(503);
    expect(first.body.code).toBe('processor_unavailable');
    const [failed] = await paymentRows(admin, shop.tenantId, key);
    expect(failed).toMatchObject({ status: 'failed', failure_code: 'processor_timeout' });
    // The processor did take the charge; we only did not hear back.
    expect(await simulatorState(failed.id)).toMatchObject({ status: 'approved', calls: '1' });

    const retry = await processPayment(pay, svc, body, key).expect(201);
    expect(retry.body).toMatchObject({ id: failed.id, status: 'captured' });
    expect(await simulatorState(failed.id)).toMatchObject({ status: 'approved', calls: '2', ref: retry.body.processorRef });
    const rows = await paymentRows(admin, shop.tenantId, key);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'captured' });
    expect(await events(admin, 'payment.captured', failed.id)).toHaveLength(1);
  });

  it('when the same Idempotency-Key and body are sent again, then the first answer is replayed and there is one payment', async () => {
    const key = randomUUID();
    const body = tender(shop, 'card', 800, { cardToken: 'tok_visa' });
    const first = await processPayment(pay, svc, body, key).expect(201);
    const again = await processPayment(pay, svc, body, key).expect(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await paymentRows(admin, shop.tenantId, key)).toHaveLength(1);
    expect(await simulatorState(first.body.id)).toMatchObject({ calls: '1' });
    const declinedKey = randomUUID();
    const declinedBody = tender(shop, 'card', 800, { cardToken: 'tok_chargeDeclined' });
    await processPayment(pay, svc, declinedBody, declinedKey).expect(402);
    const declinedAgain = await processPayment(pay, svc, declinedBody, declinedKey).expect(402);
    expect(declinedAgain.body.code).toBe('payment_declined');
  });

  it('when 20 cash requests with one Idempotency-Key arrive at once, then one payment is captured and every answer is it', async () => {
    const key = randomUUID();
    const body = tender(shop, 'cash', 1500);
    const results = await Promise.all(Array.from({ length: 20 }, () => processPayment(pay, svc, body, key)));
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(201));
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    expect(results.filter((r) => r.headers['idempotent-replayed'] === 'true')).toHaveLength(19);
    const rows = await paymentRows(admin, shop.tenantId, key);
    expect(rows).toHaveLength(1);
    expect(await events(admin, 'payment.captured', rows[0].id)).toHaveLength(1);
    // Recorded by the payment itself, not by the general idempotency record.
    expect((await admin.query('SELECT 1 FROM payments.idempotency_keys WHERE tenant_id = $1 AND key = $2', [shop.tenantId, key])).rowCount).toBe(0);
  });

  it('when the same Idempotency-Key comes with a different body, then 422 and nothing new is stored', async () => {
    const key = randomUUID();
    const body = tender(shop, 'cash', 300);
    await processPayment(pay, svc, body, key).expect(201);
    const res = await processPayment(pay, svc, { ...body, amount: usd(301) }, key).expect(422);
    expect(res.body.code).toBe('idempotency_key_reused');
    const rows = await paymentRows(admin, shop.tenantId, key);
    expect(rows).toHaveLength(1);
    expect(rows[0].amount).toBe(300);
  });

  it('when the idempotency record is gone (lease lapsed/expired) and the request is retried, then the payments table still refuses a second capture', async () => {
    const key = randomUUID();
    const body = tender(shop, 'card', 640, { cardToken: 'tok_visa' });
    const first = await processPayment(pay, svc, body, key).expect(201);
    await admin.query('DELETE FROM payments.idempotency_keys WHERE tenant_id = $1 AND key = $2', [shop.tenantId, key]);
    const again = await processPayment(pay, svc, body, key).expect(201);
    expect(again.body.id).toBe(first.body.id);
    expect(again.headers['idempotent-replayed']).toBe('true');
    await admin.query('DELETE FROM payments.idempotency_keys WHERE tenant_id = $1 AND key = $2', [shop.tenantId, key]);
    const different = await processPayment(pay, svc, { ...body, amount: usd(641) }, key).expect(422);
    expect(different.body.code).toBe('idempotency_key_reused');
    expect(await simulatorState(first.body.id)).toMatchObject({ calls: '1' });
    expect(await events(admin, 'payment.captured', first.body.id)).toHaveLength(1);
  });

  it('when 50 requests with one Idempotency-Key arrive at once, then exactly one payment is captured once', async () => {
    const key = randomUUID();
    const body = tender(shop, 'card', 2500, { cardToken: 'tok_visa' });
    const results = await Promise.all(Array.from({ length: 50 }, () => processPayment(pay, svc, body, key)));
    const statuses = results.map((r) => r.status);
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
    expect(statuses).toContain(201);
    for (const r of results.filter((x) => x.status === 409)) expect(r.body.code).toBe('idempotency_in_progress');
    const ids = new Set(results.filter((r) => r.status === 201).map((r) => r.body.id));
    expect(ids.size).toBe(1);
    const rows = await paymentRows(admin, shop.tenantId, key);
    expect(rows).toHaveLength(1);
    expect(rows[0].status).toBe('captured');
    expect(await simulatorState(rows[0].id)).toMatchObject({ calls: '1', status: 'approved' });
    expect(await events(admin, 'payment.captured', rows[0].id)).toHaveLength(1);
  });

  it('when a method lacks its field, or fields are wrong, then 400 names each and nothing is stored', async () => {
    const key = randomUUID();
    const res = await processPayment(pay, svc, { transactionId: randomUUID(), storeId: shop.storeId, method: 'card', amount: usd(100) }, key).expect(400);
    expect(res.body.errors).toEqual([{ path: 'cardToken', message: 'is required for card payments' }]);
    const gift = await processPayment(pay, svc, tender(shop, 'gift_card', 100)).expect(400);
    expect(gift.body.errors.map((e: { path: string }) => e.path)).toEqual(['giftCardCode']);
    const ext = await processPayment(pay, svc, tender(shop, 'external_card', 100)).expect(400);
    expect(ext.body.errors.map((e: { path: string }) => e.path)).toEqual(['terminal']);
    const bad = await processPayment(pay, svc, { transactionId: 'nope', storeId: shop.storeId, method: 'cash', amount: { amount: 0, currency: 'usd' }, tip: 1 }).expect(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['amount.amount', 'amount.currency', 'tip', 'transactionId']);
    const method = await processPayment(pay, svc, tender(shop, 'cheque', 100)).expect(400);
    expect(method.body.errors.map((e: { path: string }) => e.path)).toEqual(['method']);
    const noKey = await request(pay.app).post('/api/v1/payments/process').set(bearer(svc)).send(tender(shop, 'cash', 100)).expect(400);
    expect(noKey.body.code).toBe('idempotency_key_required');
    expect(await paymentRows(admin, shop.tenantId, key)).toHaveLength(0);
  });

  it("when a cashier pays in another store, then 403; another tenant's payment is 404 everywhere", async () => {
    await processPayment(pay, shop.cashier.token, { ...tender(shop, 'cash', 100), storeId: shop.otherStoreId }).expect(403);
    const mine = await processPayment(pay, svc, tender(shop, 'cash', 100)).expect(201);
    await request(pay.app).get(`/api/v1/payments/${mine.body.id}`).set(bearer(otherShop.accessToken)).expect(404);
    await request(pay.app).post(`/api/v1/payments/${mine.body.id}/refunds`).set(bearer(otherShop.accessToken)).set('Idempotency-Key', randomUUID()).send({ amount: usd(1) }).expect(404);
    await request(pay.app).post(`/api/v1/payments/${mine.body.id}/void`).set(bearer(otherShop.accessToken)).set('Idempotency-Key', randomUUID()).expect(404);
    const list = await request(pay.app).get('/api/v1/payments').query({ transactionId: mine.body.transactionId }).set(bearer(otherShop.accessToken)).expect(200);
    expect(list.body.data).toEqual([]);
    // A payment of the other store is invisible to this store's cashier.
    const elsewhere = await processPayment(pay, svc, { ...tender(shop, 'cash', 100), storeId: shop.otherStoreId }).expect(201);
    await request(pay.app).get(`/api/v1/payments/${elsewhere.body.id}`).set(bearer(shop.cashier.token)).expect(404);
    await request(pay.app).get(`/api/v1/payments/${mine.body.id}`).set(bearer(shop.cashier.token)).expect(200);
    await request(pay.app).get(`/api/v1/payments/${mine.body.id}`).expect(401);
  });

  it('when payments are listed by transaction, then each comes with its key and status, page by page', async () => {
    const transactionId = randomUUID();
    const keys = [0, 1, 2].map((i) => `${transactionId}:tender:${i}`);
    await processPayment(pay, svc, { ...tender(shop, 'card', 100, { cardToken: 'tok_chargeDeclined' }), transactionId }, keys[0]).expect(402);
    await processPayment(pay, svc, { ...tender(shop, 'card', 100, { cardToken: 'tok_visa' }), transactionId }, keys[1]).expect(201);
    await processPayment(pay, svc, { ...tender(shop, 'cash', 50), transactionId }, keys[2]).expect(201);
    const first = await request(pay.app).get('/api/v1/payments').query({ transactionId, limit: 2 }).set(bearer(svc)).expect(200);
    expect(first.body.data.map((p: { idempotencyKey: string; status: string }) => [p.idempotencyKey, p.status])).toEqual([
      [keys[0], 'declined'],
      [keys[1], 'captured'],
    ]);
    expect(first.body.data[0].failure).toEqual({ code: 'card_declined', reason: expect.any(String) });
    const second = await request(pay.app).get('/api/v1/payments').query({ transactionId, limit: 2, cursor: first.body.nextCursor }).set(bearer(svc)).expect(200);
    expect(second.body.data.map((p: { idempotencyKey: string }) => p.idempotencyKey)).toEqual([keys[2]]);
    expect(second.body.nextCursor).toBeNull();
    const byKey = await request(pay.app).get('/api/v1/payments').query({ idempotencyKey: keys[1] }).set(bearer(shop.manager.token)).expect(200);
    expect(byKey.body.data).toHaveLength(1);
    await request(pay.app).get('/api/v1/payments').query({ cursor: 'garbage' }).set(bearer(svc)).expect(400);
  });
});
