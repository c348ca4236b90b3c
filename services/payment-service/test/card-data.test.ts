import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { Pool } from '@pos/database';
import { adminPool, bearer, createShop, processPayment, serviceToken, startAuthServer, startPayments, tender, usd, type AuthServer, type PaymentsUnderTest, type Shop } from './helpers';

// Test card numbers (Luhn-valid, major brands); none of them may ever reach the database or a log line.
const VISA = '4111111111111111';
const MASTERCARD_SPACED = '5555 5555 5555 4444';
const AMEX = '378282246310005';
const DISCOVER_DASHED = '6011-1111-1111-1117';
const FORBIDDEN = [VISA, MASTERCARD_SPACED, '5555555555554444', AMEX, DISCOVER_DASHED, '6011111111111117', '4242424242424242'];

describe('payment-service: card data is refused', () => {
  let auth: AuthServer;
  let pay: PaymentsUnderTest;
  let shop: Shop;
  let admin: Pool;
  let svc: string;
  let paymentId: string;

  beforeAll(async () => {
    auth = await startAuthServer();
    pay = await startPayments(auth.url);
    shop = await createShop(auth);
    admin = adminPool();
    svc = await serviceToken(auth, shop.tenantId);
    paymentId = (await processPayment(pay, svc, tender(shop, 'cash', 1000)).expect(201)).body.id;
  });
  afterAll(async () => {
    await pay.close();
    await auth.close();
    await admin.end();
  });

  const refused = (res: request.Response, path: string) => {
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'card_data_refused', errors: [{ path, message: 'must not contain card data' }] });
    expect(JSON.stringify(res.body)).not.toMatch(/\d{13,}/);
  };

  it('when a card number is in any field of a payment, at any depth, then 400 card_data_refused names the field only', async () => {
    refused(await processPayment(pay, svc, tender(shop, 'card', 100, { cardToken: VISA })), 'cardToken');
    refused(await processPayment(pay, svc, tender(shop, 'card', 100, { cardToken: 'tok_visa', note: `paid with ${MASTERCARD_SPACED}` })), 'note');
    refused(await processPayment(pay, svc, tender(shop, 'cash', 100, { meta: { lines: [{ text: 'x' }, { text: DISCOVER_DASHED }] } })), 'meta.lines.1.text');
    refused(await processPayment(pay, svc, tender(shop, 'cash', 100, { extra: Number(VISA) })), 'extra');
    refused(await processPayment(pay, svc, tender(shop, 'external_card', 100, { terminal: { authCode: 'OK1', brand: 'visa', last4: '1111', cvv: '987' } })), 'terminal.cvv');
    refused(await processPayment(pay, svc, tender(shop, 'card', 100, { card: { number: '12', exp: '12/30' } })), 'card.number');
    refused(await processPayment(pay, svc, tender(shop, 'card', 100, { cardNumber: 'x', cardToken: 'tok_visa' })), 'cardNumber');
    refused(await processPayment(pay, svc, tender(shop, 'card', 100, { pan: AMEX })), 'pan');
    refused(await processPayment(pay, svc, tender(shop, 'cash', 100), AMEX), 'headers.idempotency-key');
  });

  it('when a card number is in a refund reason, a gift card code or a void key, then 400 card_data_refused as well', async () => {
    refused(
      await request(pay.app).post(`/api/v1/payments/${paymentId}/refunds`).set(bearer(svc)).set('Idempotency-Key', randomUUID()).send({ amount: usd(100), reason: `customer card ${VISA}` }),
      'reason',
    );
    refused(await request(pay.app).post('/api/v1/gift-cards').set(bearer(shop.accessToken)).set('Idempotency-Key', randomUUID()).send({ initialBalance: usd(100), code: DISCOVER_DASHED }), 'code');
    refused(await request(pay.app).get(`/api/v1/gift-cards/${VISA}`).set(bearer(svc)), 'params.code');
    refused(await request(pay.app).post('/api/v1/payments/void-by-key').set(bearer(svc)).send({ idempotencyKey: AMEX }), 'idempotencyKey');
    // The refund with the card number did not happen.
    const read = await request(pay.app).get(`/api/v1/payments/${paymentId}`).set(bearer(svc)).expect(200);
    expect(read.body.refundedAmount).toEqual(usd(0));
  });

  it('when card data was refused, then no table of the payments schema holds it and no log line contains it', async () => {
    const { rows: tables } = await admin.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'payments' AND table_type = 'BASE TABLE'");
    expect(tables.map((t) => t.table_name)).toEqual(expect.arrayContaining(['payments', 'refunds', 'gift_cards', 'gift_card_ledger', 'outbox', 'idempotency_keys']));
    for (const { table_name } of tables) {
      const { rows } = await admin.query(`SELECT coalesce(string_agg(t::text, E'\\n'), '') AS text FROM payments.${table_name} t`);
      for (const secret of FORBIDDEN) expect({ table: table_name, found: rows[0].text.includes(secret) }).toEqual({ table: table_name, found: false });
    }
    await new Promise((r) => setImmediate(r));
    const logs = pay.logLines.join('\n');
    expect(logs).toContain('request refused: it carries card data');
    for (const secret of FORBIDDEN) expect(logs.includes(secret)).toBe(false);
  });
});
