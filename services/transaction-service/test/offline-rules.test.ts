import { SALE_KEY_TTL_SECONDS, chooseOfflineShift, leftNegativeStock, normaliseFlags, occurredAtProblem, priceMismatches } from '../src/domain/offline';
import { priceSale } from '../src/domain/pricing';
import { CreateSaleBody } from '../src/http/schemas';
import { salesFact } from '../src/analytics/sales-facts';

describe('offline sale rules (pure)', () => {
  const now = new Date('2026-11-26T12:00:00Z');
  const limits = { maxFutureSeconds: 300, maxAgeSeconds: SALE_KEY_TTL_SECONDS };
  const at = (ms: number) => new Date(now.getTime() + ms);

  it('when occurredAt is within the clock skew ahead or up to 30 days back, then it is accepted', () => {
    for (const ms of [0, 300_000, -1, -SALE_KEY_TTL_SECONDS * 1000]) expect(occurredAtProblem(at(ms), now, limits)).toBeNull();
  });

  it('when occurredAt is past the skew or older than the key retention, then the problem says which', () => {
    expect(occurredAtProblem(at(300_001), now, limits)).toMatch(/future/);
    expect(occurredAtProblem(at(-SALE_KEY_TTL_SECONDS * 1000 - 1), now, limits)).toMatch(/older than 30 days/);
  });

  it('when terminal and catalog prices differ, then exactly those lines are named', () => {
    expect(priceMismatches([{ terminalPrice: 100, catalogPrice: 100 }, { terminalPrice: 90, catalogPrice: 100 }, { terminalPrice: 110, catalogPrice: 100 }])).toEqual([1, 2]);
    expect(priceMismatches([{ terminalPrice: 0, catalogPrice: 0 }])).toEqual([]);
  });

  it('when a line is priced at the terminal price, then totals follow it, not the catalog (same rules as online)', () => {
    const terminal = priceSale([{ quantity: 3, unitPrice: 999, taxRateBps: 825, discount: { percentBps: 1000 } }], [], false);
    // 3 x 9.99 = 29.97, -10% = 3.00 (2.997 half-up) -> 26.97, tax 8.25% = 2.225 -> 2.23
    expect(terminal).toMatchObject({ subtotal: 2997, discountTotal: 300, taxTotal: 223, total: 2920 });
    expect(terminal.subtotal - terminal.discountTotal + terminal.taxTotal).toBe(terminal.total);
  });

  it('when the reservation left any product below zero, then it is negative stock; zero or unknown is not', () => {
    expect(leftNegativeStock([{ onHandAfter: 3 }, { onHandAfter: -1 }])).toBe(true);
    expect(leftNegativeStock([{ onHandAfter: 0 }, {}])).toBe(false);
    expect(leftNegativeStock(undefined)).toBe(false);
  });

  it('when choosing the shift, then covering-open beats covering-closed beats open-now beats none, with the documented flag', () => {
    expect(chooseOfflineShift({ id: 'a', status: 'open' }, { id: 'b', status: 'open' })).toEqual({ shiftId: 'a', flag: null });
    expect(chooseOfflineShift({ id: 'a', status: 'closed' }, { id: 'b', status: 'open' })).toEqual({ shiftId: 'a', flag: 'shift_closed' });
    expect(chooseOfflineShift(undefined, { id: 'b', status: 'open' })).toEqual({ shiftId: 'b', flag: 'outside_shift' });
    expect(chooseOfflineShift(undefined, undefined)).toEqual({ shiftId: null, flag: 'no_shift' });
  });

  it('when flags repeat or come in any order, then they are stored once in the canonical order', () => {
    expect(normaliseFlags(['outside_shift', 'price_mismatch', 'outside_shift', 'negative_stock'])).toEqual(['price_mismatch', 'negative_stock', 'outside_shift']);
    expect(normaliseFlags(['not_a_flag'])).toEqual([]);
  });

  describe('request schema', () => {
    const productId = '7d1f3c2e-0a4b-4c5d-8e9f-0a1b2c3d4e5f';
    const base = { storeId: productId, lines: [{ productId, quantity: 1, unitPrice: { amount: 100, currency: 'USD' } }], tenders: [{ method: 'cash', amount: { amount: 100, currency: 'USD' } }] };
    const paths = (body: unknown) => {
      const r = CreateSaleBody.safeParse(body);
      return r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
    };

    it('when an offline sale is well formed, then it parses; terminalId and occurredAt are required and checked', () => {
      expect(paths({ ...base, offline: { occurredAt: '2026-11-26T09:15:00+01:00', terminalId: 'till-1' } })).toEqual([]);
      expect(paths({ ...base, offline: { occurredAt: '2026-11-26 09:15', terminalId: '' } }).sort()).toEqual(['offline.occurredAt', 'offline.terminalId']);
      expect(paths({ ...base, offline: { occurredAt: '2026-11-26T09:15:00Z', terminalId: 't', extra: 1 } })).toEqual(['offline']);
    });

    it('when an offline sale has non-cash tenders or unpriced lines, then each is named', () => {
      const body = {
        ...base,
        lines: [base.lines[0], { productId, quantity: 2 }],
        tenders: [{ method: 'gift_card', amount: { amount: 50, currency: 'USD' }, giftCardCode: 'GIFT-1234' }, { method: 'cash', amount: { amount: 500, currency: 'USD' } }],
        offline: { occurredAt: '2026-11-26T09:15:00Z', terminalId: 'till-1' },
      };
      expect(paths(body).sort()).toEqual(['lines.1.unitPrice', 'tenders.0.method']);
      const { offline: _drop, ...online } = body;
      expect(paths(online)).toEqual([]);
    });
  });
});

describe('offline sales in the Mongo analytics facts', () => {
  it('when an offline sale synced days later becomes a fact, then it counts on its own store-local day and hour, not the sync time', () => {
    const occurredAt = '2026-11-23T05:30:00.000Z'; // 21:30 on the 22nd in Los Angeles
    const m = (amount: number) => ({ amount, currency: 'USD' });
    const fact = salesFact(
      {
        id: '0f0e0d0c-0b0a-4908-8706-050403020100',
        type: 'sale.completed',
        version: 1,
        tenantId: '1f0e0d0c-0b0a-4908-8706-050403020100',
        occurredAt: '2026-11-26T12:00:00.000Z',
        data: {
          id: '2f0e0d0c-0b0a-4908-8706-050403020100',
          storeId: '3f0e0d0c-0b0a-4908-8706-050403020100',
          cashierId: 'u1',
          businessDate: '2026-11-22',
          createdAt: occurredAt,
          completedAt: occurredAt,
          offline: { occurredAt, terminalId: 'till-1', syncedAt: '2026-11-26T12:00:00.000Z' },
          flags: ['price_mismatch'],
          subtotal: m(900),
          discountTotal: m(0),
          taxTotal: m(0),
          total: m(900),
          lines: [{ id: 'l1', productId: 'p1', sku: 'S', name: 'N', quantity: 1, unitPrice: m(900), catalogPrice: m(1000), discount: m(0), tax: m(0), total: m(900) }],
          tenders: [{ method: 'cash', amount: m(900) }],
        },
      },
      'America/Los_Angeles',
    );
    expect(fact).toMatchObject({ businessDate: '2026-11-22', hour: '21', net: 900, salesCount: 1 });
  });
});
