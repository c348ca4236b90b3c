import { allocateRefund, lineRefundAmount, type CapturedTender, type RefundableLine } from '../src/domain/refund-math';
import { mulberry32, randomInt } from '../../../scripts/test/seeded-random';

const fresh = (quantity: number, total: number, tax: number): RefundableLine => ({ quantity, total, tax, refundedQuantity: 0, refundedTotal: 0, refundedTax: 0 });

describe('lineRefundAmount', () => {
  it('when part of a line is refunded, then it returns the proportional total and tax rounded half-up', () => {
    // 3 sold for 1000 (tax 77): 1 of 3 is 333.33 -> 333, tax 25.67 -> 26; 2 of 4 of 1001 is 500.5 -> 501.
    expect(lineRefundAmount(fresh(3, 1000, 77), 1)).toEqual({ total: 333, tax: 26 });
    expect(lineRefundAmount(fresh(4, 1001, 0), 2)).toEqual({ total: 501, tax: 0 });
  });

  it('when the refund takes the last remaining units, then it takes exactly what is left of the line', () => {
    const line: RefundableLine = { quantity: 3, total: 1000, tax: 77, refundedQuantity: 2, refundedTotal: 667, refundedTax: 51 };
    expect(lineRefundAmount(line, 1)).toEqual({ total: 333, tax: 26 });
    expect(lineRefundAmount(fresh(3, 1000, 77), 3)).toEqual({ total: 1000, tax: 77 });
  });

  it('when rounding up would over-pay a small line, then a refund is capped at what the line has left', () => {
    // 6 sold for 3 in total: each unit is 0.5, which rounds up to 1, so the fourth unit gets nothing.
    let line = fresh(6, 3, 3);
    const paid: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = lineRefundAmount(line, 1);
      if ('error' in r) throw new Error('unexpected error');
      paid.push(r.total);
      line = { ...line, refundedQuantity: line.refundedQuantity + 1, refundedTotal: line.refundedTotal + r.total, refundedTax: line.refundedTax + r.tax };
    }
    expect(paid).toEqual([1, 1, 1, 0, 0, 0]);
    expect(line.refundedTotal).toBe(3);
  });

  it('when more is asked than remains, then it is exceeds_remaining with what remains', () => {
    const line: RefundableLine = { quantity: 5, total: 500, tax: 0, refundedQuantity: 3, refundedTotal: 300, refundedTax: 0 };
    expect(lineRefundAmount(line, 3)).toEqual({ error: 'exceeds_remaining', remaining: 2 });
    expect(lineRefundAmount({ ...line, refundedQuantity: 5, refundedTotal: 500 }, 1)).toEqual({ error: 'exceeds_remaining', remaining: 0 });
  });

  it('when the quantity is below 1 or not an integer, then it is a RangeError', () => {
    expect(() => lineRefundAmount(fresh(2, 100, 0), 0)).toThrow(RangeError);
    expect(() => lineRefundAmount(fresh(2, 100, 0), 1.5)).toThrow(RangeError);
    expect(() => lineRefundAmount({ ...fresh(2, 100, 0), refundedTotal: -1 }, 1)).toThrow(RangeError);
  });
});

describe('allocateRefund', () => {
  const tenders: CapturedTender[] = [
    { index: 2, method: 'gift_card', captured: 300, refunded: 0 },
    { index: 0, method: 'cash', captured: 1000, refunded: 0 },
    { index: 1, method: 'card', captured: 500, refunded: 200 },
  ];

  it('when money goes back, then non-cash tenders are refunded first in index order, up to what they have left, and cash takes the rest', () => {
    expect(allocateRefund(1000, tenders)).toEqual({
      allocations: [
        { index: 1, method: 'card', amount: 300 },
        { index: 2, method: 'gift_card', amount: 300 },
      ],
      cash: 400,
    });
    expect(allocateRefund(100, tenders)).toEqual({ allocations: [{ index: 1, method: 'card', amount: 100 }], cash: 0 });
  });

  it('when a tender is already fully refunded or nothing is refunded, then it gets no allocation', () => {
    expect(allocateRefund(50, [{ index: 0, method: 'card', captured: 100, refunded: 100 }])).toEqual({ allocations: [], cash: 50 });
    expect(allocateRefund(0, tenders)).toEqual({ allocations: [], cash: 0 });
    // A cash-only sale is refunded entirely from the drawer.
    expect(allocateRefund(700, [{ index: 0, method: 'cash', captured: 700, refunded: 0 }])).toEqual({ allocations: [], cash: 700 });
  });

  it('when the amount is not a non-negative safe integer, then it is a RangeError', () => {
    expect(() => allocateRefund(-1, tenders)).toThrow(RangeError);
    expect(() => allocateRefund(0.5, tenders)).toThrow(RangeError);
  });
});

describe('refund math: properties', () => {
  // Plain comparisons collected as text inside the loops (one `expect` at the end): thousands of
  // cases × several checks through `expect` would take seconds.
  it('when random lines are refunded in random partial steps until exhausted, then the refunds sum to the line exactly and never past it', () => {
    const seed = 0x4ef0;
    const rnd = mulberry32(seed);
    const failures: string[] = [];
    for (let run = 0; run < 5000; run++) {
      const quantity = randomInt(rnd, 1, 20);
      // Include tiny totals, where rounding up per unit would over-pay without the cap.
      const total = rnd() < 0.3 ? randomInt(rnd, 0, quantity * 2) : randomInt(rnd, 0, 2_000_000);
      const tax = randomInt(rnd, 0, total);
      let line = fresh(quantity, total, tax);
      const steps: number[] = [];
      const fail = (what: string): void => {
        failures.push(`seed ${seed} run ${run}: line ${JSON.stringify(fresh(quantity, total, tax))} steps ${JSON.stringify(steps)}: ${what}`);
      };
      while (line.refundedQuantity < quantity) {
        const remaining = quantity - line.refundedQuantity;
        const q = randomInt(rnd, 1, remaining);
        steps.push(q);

        // Asking for one more than remains is always refused.
        const over = lineRefundAmount(line, remaining + 1);
        if (!('error' in over) || over.remaining !== remaining) fail(`over-refund answered ${JSON.stringify(over)}`);

        const r = lineRefundAmount(line, q);
        if ('error' in r) {
          fail(`unexpected ${JSON.stringify(r)}`);
          break;
        }
        if (!Number.isSafeInteger(r.total) || r.total < 0 || !Number.isSafeInteger(r.tax) || r.tax < 0) fail(`bad amounts ${JSON.stringify(r)}`);
        // A partial refund is the proportional amount rounded half-up, unless capped by what is left.
        if (q < remaining) {
          const halfUp = (n: number): number => Math.floor((2 * n * q + quantity) / (2 * quantity));
          if (r.total !== Math.min(halfUp(total), total - line.refundedTotal)) fail(`partial total ${r.total}`);
          if (r.tax !== Math.min(halfUp(tax), tax - line.refundedTax)) fail(`partial tax ${r.tax}`);
        }
        line = { ...line, refundedQuantity: line.refundedQuantity + q, refundedTotal: line.refundedTotal + r.total, refundedTax: line.refundedTax + r.tax };
        if (line.refundedTotal > total || line.refundedTax > tax) fail(`refunds went past the line: ${JSON.stringify(line)}`);
      }
      if (line.refundedTotal !== total || line.refundedTax !== tax) fail(`fully refunded line sums to ${line.refundedTotal}/${line.refundedTax}`);
    }
    expect(failures.slice(0, 3)).toEqual([]);
  });

  it('when random refunds are allocated to random tenders, then no tender gets more than it has left and the parts sum to the amount', () => {
    const seed = 0xa110c;
    const rnd = mulberry32(seed);
    const methods = ['cash', 'card', 'external_card', 'gift_card', 'loyalty'];
    const failures: string[] = [];
    for (let run = 0; run < 5000; run++) {
      const tenders: CapturedTender[] = [];
      for (let i = randomInt(rnd, 0, 5); i > 0; i--) {
        const captured = randomInt(rnd, 0, 50_000);
        tenders.push({ index: tenders.length, method: methods[randomInt(rnd, 0, methods.length - 1)]!, captured, refunded: randomInt(rnd, 0, captured) });
      }
      // Tenders may arrive in any order; allocation goes by index.
      tenders.sort(() => rnd() - 0.5);
      const amount = randomInt(rnd, 0, 120_000);
      const { allocations, cash } = allocateRefund(amount, tenders);
      const fail = (what: string): void => {
        failures.push(`seed ${seed} run ${run}: ${amount} over ${JSON.stringify(tenders)} -> ${JSON.stringify({ allocations, cash })}: ${what}`);
      };
      const nonCashRoom = tenders.filter((t) => t.method !== 'cash').reduce((a, t) => a + t.captured - t.refunded, 0);

      if (allocations.reduce((a, x) => a + x.amount, 0) + cash !== amount) fail('parts do not sum to the amount');
      if (cash !== Math.max(0, amount - nonCashRoom)) fail('cash is not what non-cash tenders could not take');
      if (allocations.some((a, i) => i > 0 && a.index <= allocations[i - 1]!.index)) fail('allocations not in index order');
      for (const a of allocations) {
        const t = tenders.find((x) => x.index === a.index);
        if (!t || t.method === 'cash' || a.method !== t.method) fail(`allocation ${a.index} is not a non-cash tender`);
        else if (a.amount <= 0 || a.amount > t.captured - t.refunded) fail(`allocation ${a.index} outside 1..remaining`);
      }
    }
    expect(failures.slice(0, 3)).toEqual([]);
  });
});
