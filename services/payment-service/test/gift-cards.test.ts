import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { Pool } from '@pos/database';
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

describe('payment-service: gift cards', () => {
  let auth: AuthServer;
  let pay: PaymentsUnderTest;
  let shop: Shop;
  let otherShop: Shop;
  let admin: Pool;
  let svc: string;

  beforeAll(async () => {
    auth = await startAuthServer();
    pay = await startPayments(auth.url);
    shop = await createShop(auth);
    otherShop = await createShop(auth);
    admin = adminPool();
    svc = await serviceToken(auth, shop.tenantId);
  });
  afterAll(async () => {
    expect(await giftCardDrift(admin, shop.tenantId)).toEqual([]);
    await pay.close();
    await auth.close();
    await admin.end();
  });

  const lookup = (token: string, code: string) => request(pay.app).get(`/api/v1/gift-cards/${encodeURIComponent(code)}`).set(bearer(token));
  const load = (token: string, code: string, amount: number, key = randomUUID()) =>
    request(pay.app).post(`/api/v1/gift-cards/${encodeURIComponent(code)}/load`).set(bearer(token)).set('Idempotency-Key', key).send({ amount: usd(amount) });

  it('when a card is issued without a code, then a 16-character code is returned once and only its hash and last 4 are stored', async () => {
    const res = await request(pay.app).post('/api/v1/gift-cards').set(bearer(shop.manager.token)).set('Idempotency-Key', randomUUID()).send({ initialBalance: usd(2500) }).expect(201);
    expect(res.body).toEqual({ id: expect.any(String), code: expect.stringMatching(/^[A-Z2-9]{16}$/), last4: res.body.code.slice(-4), balance: usd(2500), active: true, createdAt: expect.any(String) });
    const { rows } = await admin.query('SELECT g::text AS text, code_hash, last4 FROM payments.gift_cards g WHERE id = $1', [res.body.id]);
    expect(rows[0].text).not.toContain(res.body.code);
    expect(rows[0].code_hash).toMatch(/^[0-9a-f]{64}$/);
    const read = await lookup(shop.cashier.token, res.body.code).expect(200);
    expect(read.body).toEqual({ id: res.body.id, last4: res.body.last4, balance: usd(2500), active: true, createdAt: res.body.createdAt });
    expect(read.body.code).toBeUndefined();
    // Dashes, spaces and case do not matter when the code is typed in.
    const typed = `${res.body.code.slice(0, 4).toLowerCase()}-${res.body.code.slice(4, 8)} ${res.body.code.slice(8)}`;
    await lookup(svc, typed).expect(200);
  });

  it('when a code is chosen, then it works; the same code again is 409; an unknown code is 404; a cashier cannot issue or load', async () => {
    const code = `GIFT-${randomUUID().slice(0, 8)}`;
    const card = await issueGiftCard(pay, shop.accessToken, 1000, code);
    expect(card.code).toBe(code.replace(/-/g, '').toUpperCase());
    const dup = await request(pay.app).post('/api/v1/gift-cards').set(bearer(shop.accessToken)).set('Idempotency-Key', randomUUID()).send({ initialBalance: usd(1), code }).expect(409);
    expect(dup.body.code).toBe('gift_card_code_taken');
    await lookup(shop.accessToken, 'NOSUCHCARD123').expect(404);
    await lookup(otherShop.accessToken, code).expect(404);
    await request(pay.app).post('/api/v1/gift-cards').set(bearer(shop.cashier.token)).set('Idempotency-Key', randomUUID()).send({ initialBalance: usd(1) }).expect(403);
    await load(shop.cashier.token, code, 100).expect(403);
  });

  it('when a card is loaded, then the balance grows through a load ledger entry; a replayed load counts once', async () => {
    const card = await issueGiftCard(pay, shop.accessToken, 1000);
    const key = randomUUID();
    const res = await load(shop.manager.token, card.code, 500, key).expect(200);
    expect(res.body.balance).toEqual(usd(1500));
    const again = await load(shop.manager.token, card.code, 500, key).expect(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect((await lookup(svc, card.code).expect(200)).body.balance).toEqual(usd(1500));
    const wrong = await request(pay.app)
      .post(`/api/v1/gift-cards/${card.code}/load`)
      .set(bearer(shop.accessToken))
      .set('Idempotency-Key', randomUUID())
      .send({ amount: { amount: 5, currency: 'EUR' } })
      .expect(400);
    expect(wrong.body.code).toBe('currency_mismatch');
    const { rows } = await admin.query('SELECT kind, amount, balance_after FROM payments.gift_card_ledger WHERE gift_card_id = $1 ORDER BY created_at, id', [card.id]);
    expect(rows).toEqual([
      { kind: 'issue', amount: 1000, balance_after: 1000 },
      { kind: 'load', amount: 500, balance_after: 1500 },
    ]);
  });

  it('when a gift card pays, then the balance drops, the payment carries last 4 and the balance after, and payment.captured is written', async () => {
    const card = await issueGiftCard(pay, shop.accessToken, 3000);
    const res = await processPayment(pay, shop.cashier.token, tender(shop, 'gift_card', 1200, { giftCardCode: card.code })).expect(201);
    expect(res.body).toMatchObject({ method: 'gift_card', status: 'captured', amount: usd(1200), giftCard: { last4: card.last4, balanceAfter: usd(1800) }, card: null });
    expect((await lookup(svc, card.code).expect(200)).body.balance).toEqual(usd(1800));
    const [row] = await paymentRows(admin, shop.tenantId, res.body.idempotencyKey);
    expect(row).toMatchObject({ gift_card_id: card.id, gift_card_balance_after: 1800 });
    const captured = await events(admin, 'payment.captured', res.body.id);
    expect(captured[0]!.data).toMatchObject({ giftCard: { giftCardId: card.id, last4: card.last4, balanceAfter: usd(1800) } });
  });

  it('when the balance is lower than asked, then 402 insufficient_gift_card_balance with the available balance and nothing is taken', async () => {
    const card = await issueGiftCard(pay, shop.accessToken, 700);
    const key = randomUUID();
    const res = await processPayment(pay, svc, tender(shop, 'gift_card', 1000, { giftCardCode: card.code }), key).expect(402);
    expect(res.body).toMatchObject({ status: 402, code: 'insufficient_gift_card_balance', availableBalance: usd(700) });
    expect((await lookup(svc, card.code).expect(200)).body.balance).toEqual(usd(700));
    const [row] = await paymentRows(admin, shop.tenantId, key);
    expect(row).toMatchObject({ status: 'declined', failure_code: 'insufficient_gift_card_balance' });
    expect(await events(admin, 'payment.failed', row.id)).toHaveLength(1);
    // The terminal resubmits a split: the card's 700 and the rest in cash.
    await processPayment(pay, svc, tender(shop, 'gift_card', 700, { giftCardCode: card.code })).expect(201);
    await processPayment(pay, svc, tender(shop, 'cash', 300)).expect(201);
    expect((await lookup(svc, card.code).expect(200)).body.balance).toEqual(usd(0));
    const unknown = await processPayment(pay, svc, tender(shop, 'gift_card', 100, { giftCardCode: 'NOSUCHCARD999' })).expect(402);
    expect(unknown.body).toMatchObject({ code: 'payment_declined', declineCode: 'gift_card_not_found' });
  });

  it('when 20 redemptions of one card race, then the card is never overdrawn and the ledger matches the balance', async () => {
    const card = await issueGiftCard(pay, shop.accessToken, 1000);
    const results = await Promise.all(Array.from({ length: 20 }, () => processPayment(pay, svc, tender(shop, 'gift_card', 70, { giftCardCode: card.code }))));
    const ok = results.filter((r) => r.status === 201);
    const short = results.filter((r) => r.status === 402);
    expect(ok).toHaveLength(14);
    expect(short).toHaveLength(6);
    for (const r of short) expect(r.body).toMatchObject({ code: 'insufficient_gift_card_balance', availableBalance: usd(20) });
    expect((await lookup(svc, card.code).expect(200)).body.balance).toEqual(usd(20));
    const { rows } = await admin.query("SELECT count(*)::int AS n, min(balance_after)::int AS lowest FROM payments.gift_card_ledger WHERE gift_card_id = $1 AND kind = 'redeem'", [card.id]);
    expect(rows[0]).toEqual({ n: 14, lowest: 20 });
    expect(await giftCardDrift(admin, shop.tenantId)).toEqual([]);
  });
});
