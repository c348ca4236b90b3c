import { containsCardNumber, loadConfig, luhnValid } from '@pos/utils';
import { configSchema } from '../src/config';
import { findCardData } from '../src/domain/card-data';
import { GIFT_CARD_ALPHABET, generateGiftCardCode, giftCardLast4, hashGiftCardCode, normalizeGiftCardCode } from '../src/domain/gift-card-code';
import { checkRefund, loyaltyPoints, onExistingPayment, redeem, refundable, voidAmount } from '../src/domain/payment-rules';
import { Deadline, ProcessorRejectedError, ProcessorUnavailableError, callProcessor, simulatedCard } from '../src/processor';

describe('card data detection', () => {
  it('when a value anywhere holds a card number, then its path is reported (never the value)', () => {
    expect(findCardData({ a: 'hello', b: [1, 2, { c: 'pay 4111 1111 1111 1111' }] })).toBe('b.2.c');
    expect(findCardData({ amount: 4111111111111111 })).toBe('amount');
    expect(findCardData('5555-5555-5555-4444')).toBe('body');
    expect(findCardData({ '4111111111111111': true })).toBe('[key]');
  });

  it('when a field is named like card data, then it is refused whatever its value; `number` only inside a card object', () => {
    expect(findCardData({ terminal: { cvv: '' } })).toBe('terminal.cvv');
    expect(findCardData({ CVC: 1 })).toBe('CVC');
    expect(findCardData({ card_number: 'x' })).toBe('card_number');
    expect(findCardData({ paymentCard: { number: '1' } })).toBe('paymentCard.number');
    expect(findCardData({ receipt: { number: 'R-0001' } })).toBeUndefined();
    expect(findCardData({ pan: null })).toBe('pan');
  });

  it('when there is no card data, then nothing is found: ids, timestamps, amounts and tokens pass', () => {
    expect(
      findCardData({
        transactionId: '5f0c2b1e-1111-4111-8111-111111111111',
        amount: { amount: 123456, currency: 'USD' },
        cardToken: 'tok_visa',
        at: 1795686674428,
        terminal: { authCode: 'A1B2', brand: 'visa', last4: '4242' },
      }),
    ).toBeUndefined();
    expect(findCardData(undefined)).toBeUndefined();
  });
});

describe('payment rules', () => {
  it('when a key already has a payment, then tombstone/voided refuse, another body is a mismatch, captured replays, declined repeats, pending/failed resume', () => {
    expect(onExistingPayment({ status: 'voided', tombstone: true, requestHash: null }, 'h')).toBe('voided');
    expect(onExistingPayment({ status: 'voided', tombstone: false, requestHash: 'h' }, 'h')).toBe('voided');
    expect(onExistingPayment({ status: 'captured', tombstone: false, requestHash: 'h' }, 'other')).toBe('mismatch');
    expect(onExistingPayment({ status: 'captured', tombstone: false, requestHash: 'h' }, 'h')).toBe('replay');
    expect(onExistingPayment({ status: 'declined', tombstone: false, requestHash: 'h' }, 'h')).toBe('declined');
    expect(onExistingPayment({ status: 'pending', tombstone: false, requestHash: 'h' }, 'h')).toBe('resume');
    expect(onExistingPayment({ status: 'failed', tombstone: false, requestHash: 'h' }, 'h')).toBe('resume');
  });

  it('when a refund is checked, then it must be captured, in the currency, and within captured minus refunded', () => {
    const p = { status: 'captured' as const, amount: 1000, refundedAmount: 600, currency: 'USD' };
    expect(refundable(p)).toBe(400);
    expect(checkRefund(p, 400, 'USD')).toEqual({ ok: true, refundedAfter: 1000 });
    expect(checkRefund(p, 401, 'USD')).toEqual({ ok: false, reason: 'exceeds_captured', refundable: 400 });
    expect(checkRefund(p, 1, 'EUR')).toEqual({ ok: false, reason: 'currency_mismatch', refundable: 400 });
    expect(checkRefund({ ...p, status: 'voided' }, 1, 'USD')).toEqual({ ok: false, reason: 'not_captured', refundable: 0 });
    expect(voidAmount(p)).toBe(400);
  });

  it('when a gift card is redeemed, then it pays in full or reports what is available, never going below zero', () => {
    expect(redeem(1000, 1000)).toEqual({ ok: true, balanceAfter: 0 });
    expect(redeem(1000, 1001)).toEqual({ ok: false, available: 1000 });
    expect(() => redeem(1000, 0)).toThrow(RangeError);
  });
});

describe('gift card codes', () => {
  it('when a code is generated, then it has 16 unambiguous characters and never looks like a card number', () => {
    expect(generateGiftCardCode()).toMatch(new RegExp(`^[${GIFT_CARD_ALPHABET}]{16}$`));
    // A random source whose first draw spells a Luhn-valid card number: that draw is thrown away.
    const cardLike = '4222222222222253';
    expect(luhnValid(cardLike) && containsCardNumber(cardLike)).toBe(true);
    const draws = [...cardLike, ...'ABCDEFGHJKMNPQRS'].map((ch) => GIFT_CARD_ALPHABET.indexOf(ch));
    let i = 0;
    expect(generateGiftCardCode(() => draws[i++]!)).toBe('ABCDEFGHJKMNPQRS');
  });

  it('when codes are typed differently, then they normalize and hash the same; the hash depends on the secret', () => {
    expect(normalizeGiftCardCode('abcd-efgh jk')).toBe('ABCDEFGHJK');
    expect(hashGiftCardCode('s1', 'abcd-efgh')).toBe(hashGiftCardCode('s1', 'ABCDEFGH'));
    expect(hashGiftCardCode('s1', 'ABCDEFGH')).not.toBe(hashGiftCardCode('s2', 'ABCDEFGH'));
    expect(giftCardLast4('abcd-efgh')).toBe('EFGH');
  });
});

describe('processor calls', () => {
  const policy = { timeoutMs: 100, maxAttempts: 3, backoffMs: 10 };

  it('when a call times out, then it is retried with the same arguments and the first answer that arrives wins', async () => {
    const keys: string[] = [];
    let calls = 0;
    const result = await callProcessor(
      'charge',
      async (signal) => {
        calls += 1;
        keys.push('key-1');
        if (calls === 1) await new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
        return 'approved';
      },
      policy,
      Deadline.in(2_000),
    );
    expect(result).toBe('approved');
    expect(keys).toEqual(['key-1', 'key-1']);
  });

  it('when the processor refuses, then it is not retried; when it is down every time, then ProcessorUnavailableError after maxAttempts', async () => {
    let calls = 0;
    await expect(callProcessor('refund', async () => (calls++, Promise.reject(new ProcessorRejectedError('exceeds_captured', 'no'))), policy, Deadline.in(1_000))).rejects.toBeInstanceOf(ProcessorRejectedError);
    expect(calls).toBe(1);
    calls = 0;
    const err = await callProcessor('charge', async () => (calls++, Promise.reject(new Error('ECONNRESET'))), policy, Deadline.in(1_000)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProcessorUnavailableError);
    expect((err as ProcessorUnavailableError).timedOut).toBe(false);
    expect(calls).toBe(3);
  });

  it('when the processor never answers, then the calls stop at the deadline even with attempts left', async () => {
    const started = Date.now();
    const err = await callProcessor('charge', (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))), { ...policy, maxAttempts: 10 }, Deadline.in(250)).catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(err).toBeInstanceOf(ProcessorUnavailableError);
    expect((err as ProcessorUnavailableError).timedOut).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(225);
    // Ten attempts of 100 ms would take over 1.1 s; the margin is for a busy machine.
    expect(elapsed).toBeLessThan(800);
  });
});

describe('simulator token table and configuration', () => {
  it('when a test token is looked up, then it behaves like the documented test mode', () => {
    expect(simulatedCard('tok_visa')).toMatchObject({ brand: 'visa', last4: '4242', behaviour: 'approve' });
    expect(simulatedCard('tok_mastercard')).toMatchObject({ brand: 'mastercard', last4: '4444', behaviour: 'approve' });
    expect(simulatedCard('tok_chargeDeclined')).toMatchObject({ behaviour: 'decline', declineCode: 'card_declined' });
    expect(simulatedCard('tok_insufficientFunds')).toMatchObject({ behaviour: 'decline', declineCode: 'insufficient_funds' });
    expect(simulatedCard('tok_processingError').behaviour).toBe('outage');
    expect(simulatedCard('tok_timeout').behaviour).toBe('slow');
    expect(simulatedCard('toString')).toMatchObject({ behaviour: 'decline', declineCode: 'invalid_token' });
  });

  it('when timeouts do not nest, then the configuration is refused; the defaults are processor 3 s < handler 8 s', () => {
    const defaults = loadConfig(configSchema, { NODE_ENV: 'test' });
    expect(defaults).toMatchObject({ PROCESSOR_TIMEOUT_MS: 3000, PROCESSOR_MAX_ATTEMPTS: 3, PAYMENT_HANDLER_TIMEOUT_MS: 8000, PAYMENT_PROCESSOR: 'simulator', PORT: 3004 });
    expect(() => loadConfig(configSchema, { NODE_ENV: 'test', PROCESSOR_TIMEOUT_MS: '9000' })).toThrow(/PAYMENT_HANDLER_TIMEOUT_MS/);
    expect(() => loadConfig(configSchema, { NODE_ENV: 'test', PAYMENT_PROCESSOR: 'stripe' })).toThrow(/PAYMENT_PROCESSOR/);
  });

  it('when loyalty settings are loaded, then a point is worth 1 minor unit by default and the customer-service call nests inside the handler', () => {
    const defaults = loadConfig(configSchema, { NODE_ENV: 'test' });
    expect(defaults).toMatchObject({ LOYALTY_POINT_VALUE: 1, CUSTOMER_SERVICE_TIMEOUT_MS: 3000, CUSTOMER_SERVICE_URL: 'http://127.0.0.1:3005', SERVICE_CLIENT_ID: 'payment-service' });
    expect(() => loadConfig(configSchema, { NODE_ENV: 'test', CUSTOMER_SERVICE_TIMEOUT_MS: '8000' })).toThrow(/CUSTOMER_SERVICE_TIMEOUT_MS/);
    expect(() => loadConfig(configSchema, { NODE_ENV: 'test', LOYALTY_POINT_VALUE: '0' })).toThrow(/LOYALTY_POINT_VALUE/);
  });
});

describe('loyalty points', () => {
  it('when an amount is a whole number of points, then it converts to amount / value points; otherwise it is refused (undefined)', () => {
    expect(loyaltyPoints(400, 1)).toBe(400);
    expect(loyaltyPoints(1000, 5)).toBe(200);
    expect(loyaltyPoints(1003, 5)).toBeUndefined();
    expect(() => loyaltyPoints(0, 1)).toThrow(RangeError);
    expect(() => loyaltyPoints(100, 0)).toThrow(RangeError);
  });
});
