import { priceSale, type OrderDiscountInput, type PricedSale, type PricingLineInput } from '../src/domain/pricing';
import { mulberry32, randomInt } from '../../../scripts/test/seeded-random';

/** A discount of a random shape: none, percent, amount or both; sometimes big enough to hit the cap. */
function randomDiscount(rnd: () => number, scale: number): { percentBps?: number; amount?: number } | undefined {
  switch (randomInt(rnd, 0, 4)) {
    case 0:
      return undefined;
    case 1:
      return { percentBps: rnd() < 0.1 ? 10_000 : randomInt(rnd, 0, 10_000) };
    case 2:
      return { amount: randomInt(rnd, 0, Math.floor(scale * 1.5)) };
    case 3:
      return { percentBps: randomInt(rnd, 0, 5_000), amount: randomInt(rnd, 0, scale) };
    default:
      return {};
  }
}

function randomBasket(rnd: () => number): { lines: PricingLineInput[]; orderDiscounts: OrderDiscountInput[] } {
  const lines: PricingLineInput[] = [];
  for (let i = randomInt(rnd, 1, 8); i > 0; i--) {
    const quantity = randomInt(rnd, 1, 20);
    const unitPrice = rnd() < 0.05 ? 0 : randomInt(rnd, 0, 100_000);
    const discount = randomDiscount(rnd, unitPrice * quantity);
    lines.push({ quantity, unitPrice, taxRateBps: rnd() < 0.1 ? 0 : randomInt(rnd, 0, 2_500), ...(discount ? { discount } : {}) });
  }
  const orderDiscounts: OrderDiscountInput[] = [];
  for (let i = randomInt(rnd, 0, 3); i > 0; i--) orderDiscounts.push(randomDiscount(rnd, 200_000) ?? { amount: randomInt(rnd, 0, 5_000) });
  return { lines, orderDiscounts };
}

/** The order discount as the rules define it, before the cap at Σ lineNet. */
function uncappedOrderDiscount(basket: number, discounts: OrderDiscountInput[]): number {
  let d = 0;
  for (const od of discounts) {
    const remaining = Math.max(0, basket - d);
    let taken = 0;
    if (od.percentBps !== undefined) taken = Math.min(remaining, Number((2n * BigInt(remaining) * BigInt(od.percentBps) + 10_000n) / 20_000n));
    if (od.amount !== undefined) taken += od.amount;
    d += taken;
  }
  return d;
}

const sumOf = (values: number[]): number => values.reduce((a, b) => a + b, 0);

/**
 * Every broken invariant of one priced basket, as text. Plain comparisons rather than `expect`
 * inside the loop: thousands of baskets × dozens of checks would otherwise take seconds.
 */
function brokenInvariants(sale: PricedSale, lines: PricingLineInput[], orderDiscounts: OrderDiscountInput[], taxInclusive: boolean): string[] {
  const broken: string[] = [];
  const check = (ok: boolean, what: string): void => {
    if (!ok) broken.push(what);
  };

  const amounts: Record<string, number> = { subtotal: sale.subtotal, discountTotal: sale.discountTotal, taxTotal: sale.taxTotal, total: sale.total };
  sale.lines.forEach((l, i) => {
    for (const key of ['gross', 'lineDiscount', 'orderDiscount', 'discount', 'net', 'tax', 'total'] as const) amounts[`lines[${i}].${key}`] = l[key];
  });
  for (const [name, v] of Object.entries(amounts)) check(Number.isSafeInteger(v) && v >= 0, `${name} = ${v} is not a non-negative safe integer`);

  if (taxInclusive) check(sale.subtotal - sale.discountTotal === sale.total, 'inclusive: subtotal − discountTotal ≠ total');
  else check(sale.subtotal - sale.discountTotal + sale.taxTotal === sale.total, 'exclusive: subtotal − discountTotal + taxTotal ≠ total');

  // Header figures are the sums of the line figures.
  check(sale.subtotal === sumOf(sale.lines.map((l) => l.gross)), 'subtotal ≠ Σ gross');
  check(sale.discountTotal === sumOf(sale.lines.map((l) => l.discount)), 'discountTotal ≠ Σ discount');
  check(sale.taxTotal === sumOf(sale.lines.map((l) => l.tax)), 'taxTotal ≠ Σ tax');
  check(sale.total === sumOf(sale.lines.map((l) => l.total)), 'total ≠ Σ line total');

  const lineNets = sale.lines.map((l) => l.gross - l.lineDiscount);
  const basket = sumOf(lineNets);
  const d = sumOf(sale.lines.map((l) => l.orderDiscount));
  check(d === Math.min(uncappedOrderDiscount(basket, orderDiscounts), basket), `Σ orderDiscount ${d} ≠ min(D, Σ lineNet)`);

  // …and the leftover units went to the largest remainders, ties to the earlier line.
  const remainders = lineNets.map((n) => (basket === 0 ? 0 : (d * n) % basket));
  const gotUnit = sale.lines.map((l, i) => basket !== 0 && l.orderDiscount > Math.floor((d * lineNets[i]!) / basket));
  gotUnit.forEach((got, i) => {
    if (!got) return;
    remainders.forEach((r, j) => {
      if (!gotUnit[j] && (r > remainders[i]! || (r === remainders[i] && j < i))) broken.push(`line ${i} got a leftover unit before line ${j}`);
    });
  });

  sale.lines.forEach((l, i) => {
    const input = lines[i]!;
    check(l.gross === input.quantity * input.unitPrice, `line ${i}: gross ≠ quantity × unitPrice`);
    check(l.discount <= l.gross, `line ${i}: discount exceeds gross`);
    check(l.discount === l.lineDiscount + l.orderDiscount, `line ${i}: discount ≠ line + order discount`);
    check(l.net === l.gross - l.discount, `line ${i}: net ≠ gross − discount`);

    // Largest remainder: each share is the floor of its exact share D × lineNet / Σ lineNet, or one more.
    const floor = basket === 0 ? 0 : Math.floor((d * lineNets[i]!) / basket);
    check(l.orderDiscount === floor || l.orderDiscount === floor + 1, `line ${i}: order share ${l.orderDiscount} is not floor ${floor} or one more`);

    // Tax is the exact rational rounded half-up: x − ½ < tax ≤ x + ½, checked in integers.
    const rate = l.taxRateBps;
    if (taxInclusive) {
      const twice = 2 * (l.net - l.tax) * (10_000 + rate);
      check(twice > 2 * l.net * 10_000 - (10_000 + rate) && twice <= 2 * l.net * 10_000 + (10_000 + rate), `line ${i}: inclusive tax ${l.tax} misrounded`);
      check(l.total === l.net, `line ${i}: inclusive total ≠ net`);
    } else {
      const twice = 2 * l.tax * 10_000;
      check(twice > 2 * l.net * rate - 10_000 && twice <= 2 * l.net * rate + 10_000, `line ${i}: exclusive tax ${l.tax} misrounded`);
      check(l.total === l.net + l.tax, `line ${i}: exclusive total ≠ net + tax`);
    }
  });
  return broken;
}

describe('priceSale: known numbers', () => {
  it('when an exclusive line has a 10% discount, then 148.5 of tax rounds half-up to 149', () => {
    const sale = priceSale([{ quantity: 2, unitPrice: 1000, taxRateBps: 825, discount: { percentBps: 1000 } }], [], false);
    expect(sale.lines[0]).toEqual({
      quantity: 2,
      unitPrice: 1000,
      gross: 2000,
      lineDiscount: 200,
      orderDiscount: 0,
      discount: 200,
      net: 1800,
      tax: 149,
      total: 1949,
      taxRateBps: 825,
    });
    expect(sale).toMatchObject({ subtotal: 2000, discountTotal: 200, taxTotal: 149, total: 1949 });
  });

  it('when the store is tax inclusive, then the tax is the part contained in the price', () => {
    const sale = priceSale([{ quantity: 1, unitPrice: 1099, taxRateBps: 2000 }], [], true);
    // 1099 / 1.2 = 915.83… -> 916 before tax, so 183 of tax.
    expect(sale.lines[0]).toMatchObject({ gross: 1099, net: 1099, tax: 183, total: 1099 });
    expect(sale).toMatchObject({ subtotal: 1099, discountTotal: 0, taxTotal: 183, total: 1099 });
  });

  it('when the §5 example sale is priced (2 at 10.00, 10% line discount, 1.00 order discount, 8.25%), then the total is 18.40', () => {
    const sale = priceSale([{ quantity: 2, unitPrice: 1000, taxRateBps: 825, discount: { percentBps: 1000 } }], [{ amount: 100 }], false);
    expect(sale.lines[0]).toMatchObject({ gross: 2000, lineDiscount: 200, orderDiscount: 100, discount: 300, net: 1700, tax: 140, total: 1840 });
    expect(sale).toMatchObject({ subtotal: 2000, discountTotal: 300, taxTotal: 140, total: 1840 });
  });

  it('when prices are in JPY (no minor unit), then yen round half-up per line like any other currency', () => {
    // Japan, tax inclusive at 10% and the reduced 8%: ¥330 × 3 contains ¥90; ¥298 contains ¥22.07… -> ¥22.
    const inclusive = priceSale(
      [
        { quantity: 3, unitPrice: 330, taxRateBps: 1000 },
        { quantity: 1, unitPrice: 298, taxRateBps: 800 },
      ],
      [],
      true,
    );
    expect(inclusive.lines.map((l) => l.tax)).toEqual([90, 22]);
    expect(inclusive).toMatchObject({ subtotal: 1288, discountTotal: 0, taxTotal: 112, total: 1288 });

    // Tax exclusive with ¥50 off the order: split 990:298 -> 38.43… and 11.56…; the remainders give 38 + 12.
    const exclusive = priceSale(
      [
        { quantity: 3, unitPrice: 330, taxRateBps: 1000 },
        { quantity: 1, unitPrice: 298, taxRateBps: 800 },
      ],
      [{ amount: 50 }],
      false,
    );
    expect(exclusive.lines.map((l) => [l.orderDiscount, l.net, l.tax, l.total])).toEqual([
      [38, 952, 95, 1047], // 95.2 -> 95
      [12, 286, 23, 309], // 22.88 -> 23
    ]);
    expect(exclusive).toMatchObject({ subtotal: 1288, discountTotal: 50, taxTotal: 118, total: 1356 });
  });

  it('when a line has a percent and an amount discount, then the percent comes first and the amount off the rest, capped at gross', () => {
    const both = priceSale([{ quantity: 1, unitPrice: 1000, taxRateBps: 0, discount: { percentBps: 1000, amount: 50 } }], [], false);
    expect(both.lines[0]).toMatchObject({ lineDiscount: 150, net: 850 });
    const capped = priceSale([{ quantity: 1, unitPrice: 1000, taxRateBps: 0, discount: { percentBps: 5000, amount: 900 } }], [], false);
    expect(capped.lines[0]).toMatchObject({ lineDiscount: 1000, net: 0, tax: 0, total: 0 });
    // 12.5% of 100 = 12.5 rounds half-up to 13.
    expect(priceSale([{ quantity: 1, unitPrice: 100, taxRateBps: 0, discount: { percentBps: 1250 } }], [], false).lines[0]!.lineDiscount).toBe(13);
  });

  it('when order discounts are chained, then each percent is of the basket left and the total is capped at the basket', () => {
    const lines = [{ quantity: 1, unitPrice: 1000, taxRateBps: 0 }];
    // 100 off, then 10% of the remaining 900 = 90.
    expect(priceSale(lines, [{ amount: 100 }, { percentBps: 1000 }], false).discountTotal).toBe(190);
    // 10% of 1000 = 100, then 100 off.
    expect(priceSale(lines, [{ percentBps: 1000 }, { amount: 100 }], false).discountTotal).toBe(200);
    expect(priceSale(lines, [{ amount: 600 }, { amount: 600 }], false)).toMatchObject({ discountTotal: 1000, total: 0 });
  });

  it('when an order discount is spread, then the largest remainders get the leftover units, ties by line order', () => {
    const three = (a: number, b: number, c: number): PricingLineInput[] => [a, b, c].map((unitPrice) => ({ quantity: 1, unitPrice, taxRateBps: 0 }));
    // 10 over 1000:2000:3000 -> 1.67, 3.33, 5 -> floors 1,3,5 and the one leftover unit to the first line.
    expect(priceSale(three(1000, 2000, 3000), [{ amount: 10 }], false).lines.map((l) => l.orderDiscount)).toEqual([2, 3, 5]);
    // Equal remainders: the earlier line wins.
    expect(priceSale(three(100, 100, 100), [{ amount: 100 }], false).lines.map((l) => l.orderDiscount)).toEqual([34, 33, 33]);
    expect(priceSale(three(100, 100, 100), [{ amount: 101 }], false).lines.map((l) => l.orderDiscount)).toEqual([34, 34, 33]);
    // A free line takes none of the order discount.
    expect(priceSale(three(0, 1, 1), [{ amount: 1 }], false).lines.map((l) => l.orderDiscount)).toEqual([0, 1, 0]);
  });

  it('when the basket is empty or free, then everything is zero', () => {
    expect(priceSale([], [{ amount: 100 }], false)).toEqual({ lines: [], subtotal: 0, discountTotal: 0, taxTotal: 0, total: 0 });
    expect(priceSale([{ quantity: 3, unitPrice: 0, taxRateBps: 2000 }], [{ percentBps: 5000 }], true)).toMatchObject({ total: 0, taxTotal: 0 });
  });

  it('when amounts are large, then the arithmetic stays exact (no float products)', () => {
    // 3487189330403234 × 2469 bps: a float product (≈8.6e18) loses the low digits and rounds the tax
    // one unit too high (…559); BigInt keeps it exact: 860987045676558.47… rounds to …558.
    const sale = priceSale([{ quantity: 1, unitPrice: 3_487_189_330_403_234, taxRateBps: 2469 }], [], false);
    expect(sale.taxTotal).toBe(860_987_045_676_558);
    expect(sale.total).toBe(3_487_189_330_403_234 + 860_987_045_676_558);
  });

  it('when an input is not a non-negative safe integer, then it is a RangeError', () => {
    expect(() => priceSale([{ quantity: 0, unitPrice: 1, taxRateBps: 0 }], [], false)).toThrow(RangeError);
    expect(() => priceSale([{ quantity: 1.5, unitPrice: 1, taxRateBps: 0 }], [], false)).toThrow(RangeError);
    expect(() => priceSale([{ quantity: 1, unitPrice: 9.99, taxRateBps: 0 }], [], false)).toThrow(RangeError);
    expect(() => priceSale([{ quantity: 1, unitPrice: 1, taxRateBps: -1 }], [], false)).toThrow(RangeError);
    expect(() => priceSale([{ quantity: 1, unitPrice: 1, taxRateBps: 0, discount: { amount: -5 } }], [], false)).toThrow(RangeError);
    expect(() => priceSale([{ quantity: 1, unitPrice: 1, taxRateBps: 0 }], [{ percentBps: 0.5 }], false)).toThrow(RangeError);
    expect(() => priceSale([{ quantity: 2, unitPrice: Number.MAX_SAFE_INTEGER, taxRateBps: 0 }], [], false)).toThrow(RangeError);
  });
});

describe('priceSale: properties over random baskets', () => {
  for (const taxInclusive of [false, true]) {
    it(`when ${taxInclusive ? 'inclusive' : 'exclusive'} baskets are random, then the totals reconcile exactly`, () => {
      const seed = taxInclusive ? 0x1c1 : 0xe1c;
      const rnd = mulberry32(seed);
      const failures: string[] = [];
      for (let run = 0; run < 4000; run++) {
        const { lines, orderDiscounts } = randomBasket(rnd);
        const broken = brokenInvariants(priceSale(lines, orderDiscounts, taxInclusive), lines, orderDiscounts, taxInclusive);
        if (broken.length > 0) failures.push(`seed ${seed} run ${run}: ${JSON.stringify({ lines, orderDiscounts })}: ${broken.join('; ')}`);
      }
      expect(failures.slice(0, 3)).toEqual([]);
    });
  }
});
