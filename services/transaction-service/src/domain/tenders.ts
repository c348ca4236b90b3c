/**
 * How the tenders of a sale pay its total (POS-DESIGN §11 "Tenders"). Pure, no I/O.
 *
 * - Non-cash tenders (card, external_card, gift_card, loyalty) are taken at exactly their amount,
 *   and together they may not exceed the total: nobody can be given change on a card.
 * - Cash covers what is left and may exceed it. Several cash tenders are one pot, applied in the
 *   order given; cash applied = min(cash tendered, total − non-cash) and the rest is changeDue.
 *   Cash is recorded at the amount applied, so the drawer only counts what the sale kept.
 * - Non-cash + cash below the total is refused: a completed sale is never underpaid.
 * - A zero-total sale needs no tender; a list is still accepted (any cash is handed back as change).
 * - captureOrder: non-cash tenders first (in the order given), then cash, so a declined card
 *   fails the sale before any cash is booked.
 *
 * Amounts are integer minor units; a total or amount that is not a non-negative safe integer is a
 * caller bug (the HTTP schema rejects it first) and throws a RangeError.
 */

export type TenderMethod = 'cash' | 'card' | 'external_card' | 'gift_card' | 'loyalty';

export interface TenderInput {
  method: TenderMethod;
  amount: number;
}

export interface AppliedTender {
  /** Position of the tender in the request. */
  index: number;
  method: TenderMethod;
  /** What the customer handed over. */
  tendered: number;
  /** What the sale keeps: equal to `tendered` for non-cash, cash may be less (change). */
  applied: number;
}

export type TenderPlan =
  | { ok: true; tenders: AppliedTender[]; changeDue: number; cashApplied: number; captureOrder: number[] }
  | { ok: false; code: 'non_cash_exceeds_total' | 'tenders_do_not_cover_total' | 'no_tenders'; message: string; path: string };

export function planTenders(total: number, tenders: TenderInput[]): TenderPlan {
  checkAmount('total', total);
  tenders.forEach((t, i) => checkAmount(`tenders[${i}].amount`, t.amount));

  if (tenders.length === 0) {
    if (total === 0) return { ok: true, tenders: [], changeDue: 0, cashApplied: 0, captureOrder: [] };
    return { ok: false, code: 'no_tenders', message: `a sale of ${total} needs at least one tender`, path: 'tenders' };
  }

  const isCash = (t: TenderInput): boolean => t.method === 'cash';
  const nonCash = sum(tenders.filter((t) => !isCash(t)).map((t) => t.amount));
  const cashTendered = sum(tenders.filter(isCash).map((t) => t.amount));

  if (nonCash > total) {
    return { ok: false, code: 'non_cash_exceeds_total', message: `non-cash tenders (${nonCash}) exceed the total (${total})`, path: 'tenders' };
  }
  if (nonCash + cashTendered < total) {
    return {
      ok: false,
      code: 'tenders_do_not_cover_total',
      message: `tenders (${nonCash + cashTendered}) do not cover the total (${total})`,
      path: 'tenders',
    };
  }

  // Cash is one pot: earlier cash tenders are used up first, later ones only for what is still owed.
  const cashApplied = Math.min(cashTendered, total - nonCash);
  let cashStillOwed = cashApplied;
  const applied: AppliedTender[] = tenders.map((t, index) => {
    if (!isCash(t)) return { index, method: t.method, tendered: t.amount, applied: t.amount };
    const take = Math.min(t.amount, cashStillOwed);
    cashStillOwed -= take;
    return { index, method: t.method, tendered: t.amount, applied: take };
  });

  const captureOrder = [...applied.filter((t) => t.method !== 'cash'), ...applied.filter((t) => t.method === 'cash')].map((t) => t.index);

  return { ok: true, tenders: applied, changeDue: cashTendered - cashApplied, cashApplied, captureOrder };
}

function sum(values: number[]): number {
  return checkAmount('sum of tenders', values.reduce((acc, v) => acc + v, 0));
}

function checkAmount(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative safe integer, got ${value}`);
  return value;
}
