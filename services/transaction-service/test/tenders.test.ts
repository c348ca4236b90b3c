import { planTenders, type TenderInput, type TenderMethod } from '../src/domain/tenders';
import { mulberry32, randomInt } from '../../../scripts/test/seeded-random';

const METHODS: TenderMethod[] = ['cash', 'card', 'external_card', 'gift_card', 'loyalty'];

describe('planTenders: known numbers', () => {
  it('when the §5 example pays 18.40 with 20.00 cash and a 5.00 card, then the card is taken whole, cash 13.40 and 6.60 change', () => {
    const plan = planTenders(1840, [
      { method: 'cash', amount: 2000 },
      { method: 'card', amount: 500 },
    ]);
    expect(plan).toEqual({
      ok: true,
      tenders: [
        { index: 0, method: 'cash', tendered: 2000, applied: 1340 },
        { index: 1, method: 'card', tendered: 500, applied: 500 },
      ],
      changeDue: 660,
      cashApplied: 1340,
      captureOrder: [1, 0],
    });
  });

  it('when the tenders are exact, then there is no change', () => {
    const plan = planTenders(1000, [
      { method: 'gift_card', amount: 300 },
      { method: 'card', amount: 700 },
    ]);
    expect(plan).toMatchObject({ ok: true, changeDue: 0, cashApplied: 0, captureOrder: [0, 1] });
  });

  it('when several cash tenders are given, then they are one pot used in order and the later ones only for what is owed', () => {
    const plan = planTenders(1500, [
      { method: 'cash', amount: 1000 },
      { method: 'loyalty', amount: 200 },
      { method: 'cash', amount: 500 },
      { method: 'cash', amount: 2000 },
    ]);
    expect(plan).toEqual({
      ok: true,
      tenders: [
        { index: 0, method: 'cash', tendered: 1000, applied: 1000 },
        { index: 1, method: 'loyalty', tendered: 200, applied: 200 },
        { index: 2, method: 'cash', tendered: 500, applied: 300 },
        { index: 3, method: 'cash', tendered: 2000, applied: 0 },
      ],
      changeDue: 2200,
      cashApplied: 1300,
      captureOrder: [1, 0, 2, 3],
    });
  });

  it('when non-cash tenders exceed the total, then it is refused on the tenders path, even with cash present', () => {
    const plan = planTenders(1000, [
      { method: 'card', amount: 800 },
      { method: 'external_card', amount: 300 },
    ]);
    expect(plan).toMatchObject({ ok: false, code: 'non_cash_exceeds_total', path: 'tenders' });
    expect(planTenders(1000, [{ method: 'cash', amount: 5000 }, { method: 'card', amount: 1001 }])).toMatchObject({ ok: false, code: 'non_cash_exceeds_total' });
  });

  it('when the tenders fall short of the total, then it is refused: a sale is never underpaid', () => {
    expect(planTenders(1000, [{ method: 'cash', amount: 999 }])).toMatchObject({ ok: false, code: 'tenders_do_not_cover_total', path: 'tenders' });
    expect(planTenders(1000, [{ method: 'card', amount: 400 }, { method: 'cash', amount: 500 }])).toMatchObject({ ok: false, code: 'tenders_do_not_cover_total' });
  });

  it('when there are no tenders, then only a zero-total sale is accepted', () => {
    expect(planTenders(0, [])).toEqual({ ok: true, tenders: [], changeDue: 0, cashApplied: 0, captureOrder: [] });
    expect(planTenders(1, [])).toMatchObject({ ok: false, code: 'no_tenders', path: 'tenders' });
  });

  it('when a zero-total sale is given cash, then it is all handed back as change; a card on it is refused', () => {
    expect(planTenders(0, [{ method: 'cash', amount: 500 }])).toEqual({
      ok: true,
      tenders: [{ index: 0, method: 'cash', tendered: 500, applied: 0 }],
      changeDue: 500,
      cashApplied: 0,
      captureOrder: [0],
    });
    expect(planTenders(0, [{ method: 'card', amount: 1 }])).toMatchObject({ ok: false, code: 'non_cash_exceeds_total' });
  });

  it('when an amount is not a non-negative safe integer, then it is a RangeError', () => {
    expect(() => planTenders(-1, [])).toThrow(RangeError);
    expect(() => planTenders(100, [{ method: 'cash', amount: 10.5 }])).toThrow(RangeError);
    expect(() => planTenders(100, [{ method: 'card', amount: -100 }])).toThrow(RangeError);
  });
});

describe('planTenders: properties over random tenders', () => {
  it('when tenders are random, then a plan applies exactly the total and an error says truly why not', () => {
    const seed = 0x7e4d;
    const rnd = mulberry32(seed);
    // Plain comparisons collected as text, one `expect` at the end: `expect` in a 5000-case loop is slow.
    const failures: string[] = [];
    let accepted = 0;
    for (let run = 0; run < 5000; run++) {
      const total = rnd() < 0.05 ? 0 : randomInt(rnd, 0, 100_000);
      const tenders: TenderInput[] = [];
      // Mostly splits of the total (so most plans are accepted), plus some random over/under-payment.
      let owed = total;
      for (let n = randomInt(rnd, 0, 5); n > 0; n--) {
        const method = METHODS[randomInt(rnd, 0, METHODS.length - 1)]!;
        const amount = rnd() < 0.7 ? randomInt(rnd, 0, owed) : randomInt(rnd, 0, 2 * total + 10);
        owed = Math.max(0, owed - amount);
        tenders.push({ method, amount });
      }
      if (owed > 0 && rnd() < 0.7) tenders.push({ method: 'cash', amount: owed + randomInt(rnd, 0, 5_000) });

      const plan = planTenders(total, tenders);
      const fail = (what: string): void => {
        failures.push(`seed ${seed} run ${run}: total ${total} ${JSON.stringify(tenders)} -> ${JSON.stringify(plan)}: ${what}`);
      };
      const nonCash = tenders.filter((t) => t.method !== 'cash').reduce((a, t) => a + t.amount, 0);
      const cash = tenders.filter((t) => t.method === 'cash').reduce((a, t) => a + t.amount, 0);

      if (!plan.ok) {
        const expected = tenders.length === 0 ? 'no_tenders' : nonCash > total ? 'non_cash_exceeds_total' : nonCash + cash < total ? 'tenders_do_not_cover_total' : 'ok';
        if (plan.code !== expected || plan.path !== 'tenders') fail(`expected ${expected}`);
        continue;
      }
      accepted++;
      if (nonCash > total || nonCash + cash < total) fail('accepted tenders that break the rules');
      if (plan.tenders.reduce((a, t) => a + t.applied, 0) !== total) fail('applied does not sum to the total');
      if (plan.changeDue < 0 || plan.changeDue !== cash - plan.cashApplied) fail('changeDue is not cash tendered − cash applied');
      if (plan.cashApplied !== total - nonCash) fail('cash applied is not the rest of the total');
      plan.tenders.forEach((t, i) => {
        if (t.index !== i || t.method !== tenders[i]!.method || t.tendered !== tenders[i]!.amount) fail(`tender ${i} does not echo the request`);
        if (t.method === 'cash' ? t.applied < 0 || t.applied > t.tendered : t.applied !== t.tendered) fail(`tender ${i} applied ${t.applied}`);
      });
      // Capture order: every tender once, all non-cash (in request order) before all cash (in request order).
      const isCash = (i: number): boolean => tenders[i]!.method === 'cash';
      const expectedOrder = [...tenders.keys()].filter((i) => !isCash(i)).concat([...tenders.keys()].filter(isCash));
      if (JSON.stringify(plan.captureOrder) !== JSON.stringify(expectedOrder)) fail(`capture order, expected ${JSON.stringify(expectedOrder)}`);
    }
    expect(failures.slice(0, 3)).toEqual([]);
    // The generator must actually exercise the accepted path, not only the errors.
    expect(accepted).toBeGreaterThan(2000);
  });
});
