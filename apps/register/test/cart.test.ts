import { addProduct, amountRemaining, lineDiscountFrom, offlineSaleRequest, percentToBps, planTenders, priceCart, saleRequest, type CartLine, type LineDiscount } from '../src/cart';
import { CreateSaleBody } from '../../../services/transaction-service/src/http/schemas';
import { cashSuggestions, formatMoney, minorDigits, parseMoney, toDecimalString } from '../src/money';
// The server's rules: the register's display maths must agree with them exactly.
import { priceSale } from '../../../services/transaction-service/src/domain/pricing';
import { planTenders as serverPlanTenders } from '../../../services/transaction-service/src/domain/tenders';

/** Small seeded PRNG (mulberry32) so a failure can be replayed. */
function rng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const line = (unitPrice: number, quantity: number, taxRateBps: number, discount?: LineDiscount) => ({ unitPrice, quantity, taxRateBps, discount });

/** The server's input for the same line (percent as basis points, the way checkout converts it). */
const toServer = (l: ReturnType<typeof line>) => ({
  unitPrice: l.unitPrice,
  quantity: l.quantity,
  taxRateBps: l.taxRateBps,
  discount: l.discount === undefined ? undefined : 'percent' in l.discount ? { percentBps: Math.round(l.discount.percent * 100) } : { amount: l.discount.amount },
});
const orderToServer = (d: LineDiscount) => ('percent' in d ? { percentBps: Math.round(d.percent * 100) } : { amount: d.amount });

describe('cart maths (display) agree with transaction-service', () => {
  it('when a basket has two taxed lines, then subtotal, tax and total are the sums of the lines (tax-exclusive store)', () => {
    // 2 × 3.00 at 10% and 1 × 5.00 untaxed: 6.00 + 0.60 tax + 5.00 = 11.60.
    const priced = priceCart([line(300, 2, 1000), line(500, 1, 0)], [], false);
    expect(priced).toMatchObject({ subtotal: 1100, discountTotal: 0, taxTotal: 60, total: 1160 });
    expect(priced.lines.map((l) => l.total)).toEqual([660, 500]);
  });

  it('when a store is tax-inclusive, then the total is the price and the tax is the part contained in it', () => {
    // 10.00 incl. 20%: net 10.00, tax = 10.00 − round(10.00 / 1.2) = 10.00 − 8.33 = 1.67.
    const priced = priceCart([line(1000, 1, 2000)], [], true);
    expect(priced).toMatchObject({ subtotal: 1000, taxTotal: 167, total: 1000 });
  });

  it('when a line has a percent discount, then it rounds half up on the line (8.25% tax on 4.99 × 3 less 10%)', () => {
    // gross 1497, discount round(149.7) = 150, net 1347, tax round(1347 × 0.0825 = 111.1275) = 111.
    const priced = priceCart([line(499, 3, 825, { percent: 10 })], [], false);
    expect(priced.lines[0]).toMatchObject({ gross: 1497, lineDiscount: 150, net: 1347, tax: 111, total: 1458 });
  });

  it('when a fixed line discount exceeds the line, then it is capped at the line (never negative)', () => {
    const priced = priceCart([line(250, 1, 1000, { amount: 900 })], [], false);
    expect(priced.lines[0]).toMatchObject({ discount: 250, net: 0, tax: 0, total: 0 });
    expect(priced.total).toBe(0);
  });

  it('when an order discount is spread, then the shares add up exactly (largest remainder, earlier line wins ties)', () => {
    const priced = priceCart([line(100, 1, 0), line(100, 1, 0), line(100, 1, 0)], [{ amount: 100 }], false);
    expect(priced.lines.map((l) => l.orderDiscount)).toEqual([34, 33, 33]);
    expect(priced.discountTotal).toBe(100);
    expect(priced.total).toBe(200);
  });

  it('when thousands of random baskets are priced, then every figure equals the server’s and the invariants hold', () => {
    const next = rng(20240917);
    const int = (max: number) => Math.floor(next() * (max + 1));
    for (let run = 0; run < 3000; run++) {
      const taxInclusive = next() < 0.4;
      const lines = Array.from({ length: 1 + int(5) }, () => {
        const r = next();
        const discount: LineDiscount | undefined = r < 0.3 ? { percent: int(10000) / 100 } : r < 0.45 ? { amount: int(3000) } : undefined;
        return line(int(20000), 1 + int(12), [0, 500, 825, 1000, 2000, 2500][int(5)]!, discount);
      });
      const orders: LineDiscount[] = next() < 0.3 ? [next() < 0.5 ? { percent: (1 + int(4999)) / 100 } : { amount: int(5000) }] : [];
      const mine = priceCart(lines, orders, taxInclusive);
      const server = priceSale(lines.map(toServer), orders.map(orderToServer), taxInclusive);
      expect({ run, subtotal: mine.subtotal, discountTotal: mine.discountTotal, taxTotal: mine.taxTotal, total: mine.total }).toEqual({
        run,
        subtotal: server.subtotal,
        discountTotal: server.discountTotal,
        taxTotal: server.taxTotal,
        total: server.total,
      });
      expect(mine.lines.map((l) => [l.discount, l.tax, l.total])).toEqual(server.lines.map((l) => [l.discount, l.tax, l.total]));
      if (taxInclusive) expect(mine.subtotal - mine.discountTotal).toBe(mine.total);
      else expect(mine.subtotal - mine.discountTotal + mine.taxTotal).toBe(mine.total);
    }
  });
});

describe('tenders and change (display) agree with transaction-service', () => {
  it('when cash exceeds the total, then the change is the difference', () => {
    expect(planTenders(830, [{ method: 'cash', amount: 2000 }])).toMatchObject({ ok: true, changeDue: 1170, cashApplied: 830 });
  });

  it('when a card pays part and cash the rest with change, then only cash gives change', () => {
    expect(planTenders(1160, [{ method: 'card', amount: 500 }, { method: 'cash', amount: 1000 }])).toMatchObject({ ok: true, changeDue: 340, cashApplied: 660 });
  });

  it('when cards exceed the total, or all tenders fall short, then it is refused as the server would', () => {
    expect(planTenders(1000, [{ method: 'card', amount: 1001 }])).toMatchObject({ ok: false, code: 'non_cash_exceeds_total' });
    expect(planTenders(1000, [{ method: 'cash', amount: 400 }, { method: 'card', amount: 100 }])).toMatchObject({ ok: false, code: 'tenders_do_not_cover_total', remaining: 500 });
    expect(planTenders(1000, [])).toMatchObject({ ok: false, code: 'no_tenders' });
    expect(planTenders(0, [])).toMatchObject({ ok: true, changeDue: 0 });
  });

  it('when random tender mixes are planned, then ok/code and change due equal the server’s plan', () => {
    const next = rng(7);
    const int = (max: number) => Math.floor(next() * (max + 1));
    for (let run = 0; run < 2000; run++) {
      const total = int(50000);
      const tenders = Array.from({ length: int(3) }, () => ({ method: next() < 0.5 ? ('cash' as const) : ('card' as const), amount: 1 + int(30000) }));
      const mine = planTenders(total, tenders);
      const server = serverPlanTenders(total, tenders);
      expect({ run, ok: mine.ok }).toEqual({ run, ok: server.ok });
      if (mine.ok && server.ok) expect([mine.changeDue, mine.cashApplied]).toEqual([server.changeDue, server.cashApplied]);
      if (!mine.ok && !server.ok) expect(mine.code).toBe(server.code);
    }
  });

  it('when payments are entered, then what is still due never goes below zero', () => {
    expect(amountRemaining(1000, [{ amount: 300 }])).toBe(700);
    expect(amountRemaining(1000, [{ amount: 300 }, { amount: 900 }])).toBe(0);
  });
});

describe('cart editing', () => {
  const product = { id: 'p1', sku: 'COF-1', name: 'Coffee', price: { amount: 499 }, taxRateBps: 825 };
  let n = 0;
  const key = () => `k${++n}`;

  it('when the same barcode is scanned twice, then the quantity goes up instead of a second line', () => {
    const once = addProduct([], product, key);
    const twice = addProduct(once, product, key);
    expect(twice).toHaveLength(1);
    expect(twice[0]).toMatchObject({ productId: 'p1', quantity: 2, unitPrice: 499 });
  });

  it('when a discounted line exists, then a new scan starts a new undiscounted line', () => {
    const lines: CartLine[] = [{ ...addProduct([], product, key)[0]!, discount: { percent: 10 } }];
    expect(addProduct(lines, product, key)).toHaveLength(2);
  });

  it('when discounts are typed, then percents keep two decimals as the API accepts, and zero means none', () => {
    expect(lineDiscountFrom('percent', 12.345)).toEqual({ percent: 12.35 });
    expect(lineDiscountFrom('percent', 150)).toEqual({ percent: 100 });
    expect(lineDiscountFrom('amount', 250)).toEqual({ amount: 250 });
    expect(lineDiscountFrom('amount', 0)).toBeUndefined();
    expect(lineDiscountFrom('percent', null)).toBeUndefined();
    expect(percentToBps(12.35)).toBe(1235);
    expect(percentToBps(0.29)).toBe(29);
  });

  it('when the sale request is built, then it carries ids, quantities, discounts and tenders but never a price (online)', () => {
    const lines: CartLine[] = [
      { key: 'a', productId: 'p1', sku: 'A', name: 'A', unitPrice: 499, taxRateBps: 825, quantity: 2, discount: { percent: 10 } },
      { key: 'b', productId: 'p2', sku: 'B', name: 'B', unitPrice: 100, taxRateBps: 0, quantity: 1, discount: { amount: 25 } },
    ];
    const body = saleRequest({ storeId: 's1', currency: 'USD', customerId: 'c1', lines, tenders: [{ method: 'card', amount: 500, cardToken: 'tok_visa' }, { method: 'cash', amount: 2000 }] });
    expect(body).toEqual({
      storeId: 's1',
      customerId: 'c1',
      lines: [
        { productId: 'p1', quantity: 2, discount: { percent: 10 } },
        { productId: 'p2', quantity: 1, discount: { amount: { amount: 25, currency: 'USD' } } },
      ],
      tenders: [
        { method: 'card', amount: { amount: 500, currency: 'USD' }, cardToken: 'tok_visa' },
        { method: 'cash', amount: { amount: 2000, currency: 'USD' } },
      ],
    });
    expect(JSON.stringify(body)).not.toMatch(/unitPrice|499/);
    expect(saleRequest({ storeId: 's1', currency: 'USD', customerId: null, lines: [lines[1]!], tenders: [] })).not.toHaveProperty('customerId');
  });

  it('when an offline sale request is built, then each line carries the price charged and it says when and where, in a shape the server accepts', () => {
    const storeId = '7d1f3c2e-0a4b-4c5d-8e9f-0a1b2c3d4e5f';
    const lines: CartLine[] = [
      { key: 'a', productId: '8d1f3c2e-0a4b-4c5d-8e9f-0a1b2c3d4e5f', sku: 'A', name: 'A', unitPrice: 499, taxRateBps: 825, quantity: 2, discount: { percent: 10 } },
      { key: 'b', productId: '9d1f3c2e-0a4b-4c5d-8e9f-0a1b2c3d4e5f', sku: 'B', name: 'B', unitPrice: 100, taxRateBps: 0, quantity: 1 },
    ];
    const online = saleRequest({ storeId, currency: 'USD', lines, tenders: [{ method: 'cash', amount: 2000 }] });
    const body = offlineSaleRequest(online, lines, 'USD', '2026-11-26T09:15:00.000Z', 'till-1', 'ad1f3c2e-0a4b-4c5d-8e9f-0a1b2c3d4e5f');
    expect(body.lines.map((l) => l.unitPrice)).toEqual([
      { amount: 499, currency: 'USD' },
      { amount: 100, currency: 'USD' },
    ]);
    expect(body).toMatchObject({ offline: { occurredAt: '2026-11-26T09:15:00.000Z', terminalId: 'till-1', cashierId: 'ad1f3c2e-0a4b-4c5d-8e9f-0a1b2c3d4e5f' }, tenders: online.tenders });
    expect(online).not.toHaveProperty('offline');
    expect(CreateSaleBody.safeParse(body).success).toBe(true);
  });
});

describe('money at the register', () => {
  it('when amounts are shown, then they come from integer minor units exactly, per currency', () => {
    expect(minorDigits('USD')).toBe(2);
    expect(minorDigits('JPY')).toBe(0);
    expect(minorDigits('BHD')).toBe(3);
    expect(toDecimalString(1230, 'USD')).toBe('12.30');
    expect(toDecimalString(5, 'USD')).toBe('0.05');
    expect(toDecimalString(-5, 'USD')).toBe('-0.05');
    expect(toDecimalString(1500, 'JPY')).toBe('1500');
    expect(formatMoney(123456789, 'USD', 'en-US')).toBe('$1,234,567.89');
    expect(formatMoney(1500, 'JPY', 'en-US')).toBe('¥1,500');
    // Would be 0.30000000000000004 with floats.
    expect(formatMoney(30, 'USD', 'en-US')).toBe('$0.30');
  });

  it('when a cashier types an amount, then it is parsed without floats, or refused', () => {
    expect(parseMoney('12.30', 'USD')).toBe(1230);
    expect(parseMoney('12.3', 'USD')).toBe(1230);
    expect(parseMoney('12', 'USD')).toBe(1200);
    expect(parseMoney('$1,234.56', 'USD')).toBe(123456);
    expect(parseMoney('0,5', 'USD')).toBe(50);
    expect(parseMoney('.99', 'USD')).toBe(99);
    expect(parseMoney('1.005', 'USD')).toBeNull();
    expect(parseMoney('-1', 'USD')).toBeNull();
    expect(parseMoney('abc', 'USD')).toBeNull();
    expect(parseMoney('', 'USD')).toBeNull();
    expect(parseMoney('1500', 'JPY')).toBe(1500);
    expect(parseMoney('15.5', 'JPY')).toBeNull();
  });

  it('when cash is suggested, then it is the exact amount and the next round notes', () => {
    expect(cashSuggestions(830, 'USD')).toEqual([830, 900, 1000, 2000]);
    expect(cashSuggestions(2000, 'USD')).toEqual([2000, 5000, 10000]);
  });
});
