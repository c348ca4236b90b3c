import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { Pool } from '@pos/database';
import { simulatorChargeKey } from '../src/processor';
import {
  adminPool,
  bearer,
  createShop,
  events,
  giftCardDrift,
  issueGiftCard,
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

describe('payment-service: refunds, voids and saga compensation', () => {
  let auth: AuthServer;
  let pay: PaymentsUnderTest;
  let oneShot: PaymentsUnderTest;
  let shop: Shop;
  let admin: Pool;
  let svc: string;

  beforeAll(async () => {
    auth = await startAuthServer();
    pay = await startPayments(auth.url);
    oneShot = await startPayments(auth.url, { PROCESSOR_MAX_ATTEMPTS: '1' });
    shop = await createShop(auth);
    admin = adminPool();
    svc = await serviceToken(auth, shop.tenantId);
  });
  afterAll(async () => {
    expect(await giftCardDrift(admin, shop.tenantId)).toEqual([]);
    await pay.close();
    await oneShot.close();
    await auth.close();
    await admin.end();
  });

  const simulatorState = (paymentId: string) => pay.deps.redis.hgetall(simulatorChargeKey(shop.tenantId, paymentId));
  const refund = (token: string, paymentId: string, body: Record<string, unknown>, key = randomUUID()) =>
    request(pay.app).post(`/api/v1/payments/${paymentId}/refunds`).set(bearer(token)).set('Idempotency-Key', key).send(body);
  const voidPayment = (token: string, paymentId: string, key = randomUUID()) => request(pay.app).post(`/api/v1/payments/${paymentId}/void`).set(bearer(token)).set('Idempotency-Key', key);
  const voidByKey = (token: string, idempotencyKey: string) => request(pay.app).post('/api/v1/payments/void-by-key').set(bearer(token)).send({ idempotencyKey });
  const balance = async (code: string) => (await request(pay.app).get(`/api/v1/gift-cards/${code}`).set(bearer(svc)).expect(200)).body.balance.amount as number;

  it('when a card payment is partly refunded, then the processor refunds it, the payment records it and payment.refunded is written', async () => {
    const paid = await processPayment(pay, svc, tender(shop, 'card', 1000, { cardToken: 'tok_visa' })).expect(201);
    const res = await refund(shop.manager.token, paid.body.id, { amount: usd(400), reason: 'damaged box' }).expect(201);
    expect(res.body).toEqual({ id: expect.any(String), paymentId: paid.body.id, amount: usd(400), createdAt: expect.any(String) });
    const read = await request(pay.app).get(`/api/v1/payments/${paid.body.id}`).set(bearer(svc)).expect(200);
    expect(read.body).toMatchObject({ status: 'captured', refundedAmount: usd(400), version: 3 });
    expect(await simulatorState(paid.body.id)).toMatchObject({ refunded: '400' });
    const { rows } = await admin.query('SELECT * FROM payments.refunds WHERE payment_id = $1', [paid.body.id]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ amount: 400, reason: 'damaged box', processor_ref: expect.stringMatching(/^re_sim_/) });
    const refunded = await events(admin, 'payment.refunded', paid.body.id);
    expect(refunded).toHaveLength(1);
    expect(refunded[0]!.data).toMatchObject({ refundId: res.body.id, amount: usd(400), refundedTotal: usd(400), void: false, reason: 'damaged box' });
  });

  it('when more than captured minus refunded is asked, then 409 refund_exceeds_captured with what is left; a replayed refund is not counted twice', async () => {
    const paid = await processPayment(pay, svc, tender(shop, 'cash', 1000)).expect(201);
    const key = randomUUID();
    const first = await refund(svc, paid.body.id, { amount: usd(700) }, key).expect(201);
    const replay = await refund(svc, paid.body.id, { amount: usd(700) }, key).expect(201);
    expect(replay.body).toEqual(first.body);
    const over = await refund(svc, paid.body.id, { amount: usd(301) }).expect(409);
    expect(over.body).toMatchObject({ code: 'refund_exceeds_captured', refundableAmount: usd(300) });
    const last = await refund(svc, paid.body.id, { amount: usd(300), reason: '' }).expect(201);
    expect((await admin.query('SELECT reason FROM payments.refunds WHERE id = $1', [last.body.id])).rows[0].reason).toBeNull();
    await refund(svc, paid.body.id, { amount: usd(1) }).expect(409);
    const wrongCurrency = await refund(svc, paid.body.id, { amount: { amount: 1, currency: 'EUR' } }).expect(400);
    expect(wrongCurrency.body.code).toBe('currency_mismatch');
    const [row] = await paymentRows(admin, shop.tenantId, paid.body.idempotencyKey);
    expect(row.refunded_amount).toBe(1000);
  });

  it('when 20 refunds of one payment race, then together they never exceed what was captured', async () => {
    const paid = await processPayment(pay, svc, tender(shop, 'card', 1000, { cardToken: 'tok_visa' })).expect(201);
    const results = await Promise.all(Array.from({ length: 20 }, () => refund(svc, paid.body.id, { amount: usd(300) })));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(3);
    expect(statuses.filter((s) => s === 409)).toHaveLength(17);
    for (const r of results.filter((x) => x.status === 409)) expect(r.body.code).toBe('refund_exceeds_captured');
    const { rows } = await admin.query('SELECT COALESCE(SUM(amount), 0)::int AS total, count(*)::int AS n FROM payments.refunds WHERE payment_id = $1', [paid.body.id]);
    expect(rows[0]).toEqual({ total: 900, n: 3 });
    const [row] = await paymentRows(admin, shop.tenantId, paid.body.idempotencyKey);
    expect(row.refunded_amount).toBe(900);
    expect(await simulatorState(paid.body.id)).toMatchObject({ refunded: '900' });
    expect(await events(admin, 'payment.refunded', paid.body.id)).toHaveLength(3);
  });

  it('when a cashier tries to refund or void, then 403 and nothing changes', async () => {
    const paid = await processPayment(pay, shop.cashier.token, tender(shop, 'cash', 500)).expect(201);
    const res = await refund(shop.cashier.token, paid.body.id, { amount: usd(100) }).expect(403);
    expect(res.body.code).toBe('forbidden');
    await voidPayment(shop.cashier.token, paid.body.id).expect(403);
    await voidByKey(shop.cashier.token, paid.body.idempotencyKey).expect(403);
    const [row] = await paymentRows(admin, shop.tenantId, paid.body.idempotencyKey);
    expect(row).toMatchObject({ status: 'captured', refunded_amount: 0 });
  });

  it('when a card payment is voided, then the processor voids it, the status is voided, and voiding again changes nothing', async () => {
    const paid = await processPayment(pay, svc, tender(shop, 'card', 1200, { cardToken: 'tok_amex' })).expect(201);
    await refund(svc, paid.body.id, { amount: usd(200) }).expect(201);
    const voided = await voidPayment(shop.manager.token, paid.body.id).expect(200);
    expect(voided.body).toMatchObject({ id: paid.body.id, status: 'voided', refundedAmount: usd(200) });
    expect(voided.body.voidedAt).toEqual(expect.any(String));
    expect(await simulatorState(paid.body.id)).toMatchObject({ status: 'voided', voidedAmount: '1000' });
    const again = await voidPayment(svc, paid.body.id).expect(200);
    expect(again.body).toMatchObject({ status: 'voided', version: voided.body.version });
    const reversal = (await events(admin, 'payment.refunded', paid.body.id)).filter((e) => e.data.void);
    expect(reversal).toHaveLength(1);
    expect(reversal[0]!.data).toMatchObject({ amount: usd(1000), refundId: null });
    const late = await refund(svc, paid.body.id, { amount: usd(1) }).expect(409);
    expect(late.body.code).toBe('payment_voided');
  });

  it('when a gift card payment is voided, then the balance comes back through a void ledger entry', async () => {
    const card = await issueGiftCard(pay, shop.accessToken, 5000);
    const paid = await processPayment(pay, svc, tender(shop, 'gift_card', 1800, { giftCardCode: card.code })).expect(201);
    expect(await balance(card.code)).toBe(3200);
    await refund(svc, paid.body.id, { amount: usd(300) }).expect(201);
    expect(await balance(card.code)).toBe(3500);
    await voidPayment(svc, paid.body.id).expect(200);
    expect(await balance(card.code)).toBe(5000);
    const { rows } = await admin.query('SELECT kind, amount FROM payments.gift_card_ledger WHERE gift_card_id = $1 ORDER BY created_at, id', [card.id]);
    expect(rows).toEqual([
      { kind: 'issue', amount: 5000 },
      { kind: 'redeem', amount: -1800 },
      { kind: 'refund', amount: 300 },
      { kind: 'void', amount: 1500 },
    ]);
  });

  it('when a declined payment is voided by id, then 409 payment_not_captured', async () => {
    const key = randomUUID();
    await processPayment(pay, svc, tender(shop, 'card', 100, { cardToken: 'tok_chargeDeclined' }), key).expect(402);
    const [row] = await paymentRows(admin, shop.tenantId, key);
    const res = await voidPayment(svc, row.id).expect(409);
    expect(res.body.code).toBe('payment_not_captured');
    const byKey = await voidByKey(svc, key).expect(200);
    expect(byKey.body).toMatchObject({ id: row.id, status: 'declined' });
  });

  it('when void-by-key comes before the capture, then a tombstone is stored and the late capture is refused with 409 payment_voided', async () => {
    const saleId = randomUUID();
    const key = `${saleId}:tender:0`;
    const tomb = await voidByKey(svc, key).expect(200);
    expect(tomb.body).toMatchObject({ idempotencyKey: key, status: 'voided', tombstone: true, transactionId: null, amount: null, method: null });
    const again = await voidByKey(svc, key).expect(200);
    expect(again.body).toEqual(tomb.body);
    const late = await processPayment(pay, svc, { ...tender(shop, 'card', 900, { cardToken: 'tok_visa' }), transactionId: saleId }, key).expect(409);
    expect(late.body).toMatchObject({ code: 'payment_voided', paymentId: tomb.body.id });
    const rows = await paymentRows(admin, shop.tenantId, key);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ tombstone: true, status: 'voided', amount: null });
    expect(await simulatorState(tomb.body.id)).toEqual({});
    const listed = await request(pay.app).get('/api/v1/payments').query({ idempotencyKey: key }).set(bearer(svc)).expect(200);
    expect(listed.body.data).toHaveLength(1);
    // A late cash capture is refused the same way.
    const cashKey = `${saleId}:tender:1`;
    await voidByKey(shop.manager.token, cashKey).expect(200);
    await processPayment(pay, svc, { ...tender(shop, 'cash', 100), transactionId: saleId }, cashKey).expect(409);
  });

  it('when void-by-key finds a captured payment, then it is voided at the processor; when the capture outcome was unknown, the charge that landed is voided and a retry is refused', async () => {
    const captured = await processPayment(pay, svc, tender(shop, 'card', 700, { cardToken: 'tok_visa' })).expect(201);
    const res = await voidByKey(svc, captured.body.idempotencyKey).expect(200);
    expect(res.body).toMatchObject({ id: captured.body.id, status: 'voided', tombstone: false });
    expect(await simulatorState(captured.body.id)).toMatchObject({ status: 'voided', voidedAmount: '700' });
    expect((await events(admin, 'payment.refunded', captured.body.id)).map((e) => e.data.void)).toEqual([true]);

    // The saga's capture timed out (outcome unknown): it compensates by key.
    const key = randomUUID();
    const body = tender(shop, 'card', 1500, { cardToken: 'tok_timeout' });
    await processPayment(oneShot, svc, body, key).expect(503);
    const [unknown] = await paymentRows(admin, shop.tenantId, key);
    expect(await simulatorState(unknown.id)).toMatchObject({ status: 'approved' });
    const voided = await voidByKey(svc, key).expect(200);
    expect(voided.body).toMatchObject({ id: unknown.id, status: 'voided' });
    expect(await simulatorState(unknown.id)).toMatchObject({ status: 'voided', voidedAmount: '1500' });
    const retry = await processPayment(pay, svc, body, key).expect(409);
    expect(retry.body.code).toBe('payment_voided');
    expect(await events(admin, 'payment.captured', unknown.id)).toHaveLength(0);
  });

  it('when void-by-key arrives while the capture is still waiting for the processor, then the capture is refused and the charge is voided', async () => {
    const key = randomUUID();
    const capture = processPayment(pay, svc, tender(shop, 'card', 1500, { cardToken: 'tok_timeout' }), key).then((r) => r);
    let rows: Array<{ id: string; status: string }> = [];
    for (let i = 0; i < 50 && rows.length === 0; i++) {
      rows = await paymentRows(admin, shop.tenantId, key);
      if (!rows.length) await new Promise((r) => setTimeout(r, 10));
    }
    expect(rows[0]).toMatchObject({ status: 'pending' });
    const voided = await voidByKey(svc, key).expect(200);
    expect(voided.body).toMatchObject({ id: rows[0]!.id, status: 'voided' });
    const res = await capture;
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('payment_voided');
    expect(await simulatorState(rows[0]!.id)).toMatchObject({ status: 'voided' });
    expect((await paymentRows(admin, shop.tenantId, key))[0]).toMatchObject({ status: 'voided' });
    expect(await events(admin, 'payment.captured', rows[0]!.id)).toHaveLength(0);
  });

  it('when the processor is down during a refund, then 503 and nothing is refunded; the retry with the same key refunds once', async () => {
    const paid = await processPayment(pay, svc, tender(shop, 'card', 1000, { cardToken: 'tok_visa' })).expect(201);
    const key = randomUUID();
    const redis = pay.deps.redis;
    // Make the simulator's state unreachable for this one call.
    const spy = jest.spyOn(redis, 'eval').mockImplementation((() => Promise.reject(new Error('connection lost'))) as never);
    const down = await refund(svc, paid.body.id, { amount: usd(250) }, key).expect(503);
    spy.mockRestore();
    expect(down.body.code).toBe('processor_unavailable');
    expect((await paymentRows(admin, shop.tenantId, paid.body.idempotencyKey))[0].refunded_amount).toBe(0);
    await refund(svc, paid.body.id, { amount: usd(250) }, key).expect(201);
    expect((await paymentRows(admin, shop.tenantId, paid.body.idempotencyKey))[0].refunded_amount).toBe(250);
    expect(await simulatorState(paid.body.id)).toMatchObject({ refunded: '250' });
  });
});
