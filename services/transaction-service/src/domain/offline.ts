/**
 * Rules for offline sales (POS-DESIGN §11): a cash sale a terminal completed without a connection
 * and sends later with `offline: {occurredAt, terminalId}`. Pure, no I/O.
 *
 * The server books what happened at the till: the terminal's prices (each difference from the
 * catalog is recorded and flagged), stock even below zero (flagged), dated `occurredAt`. Flags are
 * for a manager's review; none of them refuses the sale, because the customer already left with
 * the goods and the cash is already in a drawer.
 */

/** Idempotency keys of POST /transactions are kept this long, so a terminal may sync that late. */
export const SALE_KEY_TTL_SECONDS = 30 * 24 * 3600;

export const SALE_FLAGS = ['price_mismatch', 'negative_stock', 'product_inactive', 'shift_closed', 'outside_shift', 'no_shift'] as const;
export type SaleFlag = (typeof SALE_FLAGS)[number];

/**
 * Why `occurredAt` cannot be accepted, or null when it can. A terminal's clock may run a little
 * ahead (`maxFutureSeconds`); older than the key retention (`maxAgeSeconds`) a replayed sync could
 * no longer be recognised as a duplicate, so it is refused rather than risk booking it twice.
 */
export function occurredAtProblem(occurredAt: Date, now: Date, limits: { maxFutureSeconds: number; maxAgeSeconds: number }): string | null {
  const ms = occurredAt.getTime() - now.getTime();
  if (ms > limits.maxFutureSeconds * 1000) return `must not be in the future (more than ${limits.maxFutureSeconds} s ahead of the server clock)`;
  if (-ms > limits.maxAgeSeconds * 1000) return `must not be older than ${Math.round(limits.maxAgeSeconds / 86_400)} days (how long sale keys are kept)`;
  return null;
}

/** Indexes of the lines whose terminal price differs from the catalog price at sync time. */
export function priceMismatches(lines: ReadonlyArray<{ terminalPrice: number; catalogPrice: number }>): number[] {
  return lines.flatMap((l, i) => (l.terminalPrice === l.catalogPrice ? [] : [i]));
}

/** True when the stock reservation left any product below zero (inventory reports on-hand after it). */
export function leftNegativeStock(lines: ReadonlyArray<{ onHandAfter?: number }> | undefined): boolean {
  return (lines ?? []).some((l) => typeof l.onHandAfter === 'number' && l.onHandAfter < 0);
}

export interface ShiftCandidate {
  id: string;
  status: 'open' | 'closed';
}

/**
 * Which shift (drawer) an offline sale belongs to, given the selling cashier's shift at the store
 * that was open at `occurredAt` (`covering`) and their shift open there now (`open`):
 *
 * 1. the covering shift, if it is still open: an ordinary sale of that shift;
 * 2. the covering shift although it is closed (`shift_closed`): its cash went into that drawer and
 *    was counted at close. The kept Z-report does not change; the shift's report shows the late
 *    sales and the expected cash and variance including them;
 * 3. no covering shift but one open now (`outside_shift`): the cash is handed in to the current
 *    drawer, whose expected cash includes the sale;
 * 4. neither (`no_shift`): the sale is booked without a shift. It counts in the store's sales
 *    reports on its day but in no drawer; a manager settles the cash.
 */
export function chooseOfflineShift(covering: ShiftCandidate | undefined, open: ShiftCandidate | undefined): { shiftId: string | null; flag: SaleFlag | null } {
  if (covering) return { shiftId: covering.id, flag: covering.status === 'open' ? null : 'shift_closed' };
  if (open) return { shiftId: open.id, flag: 'outside_shift' };
  return { shiftId: null, flag: 'no_shift' };
}

/** Flags in one canonical order without repeats, so equal sets compare and store equally. */
export function normaliseFlags(flags: Iterable<string>): SaleFlag[] {
  const set = new Set(flags);
  return SALE_FLAGS.filter((f) => set.has(f));
}
