/**
 * Expected drawer cash (POS-DESIGN §5): float + cash sales − cash refunds + paid in − paid out.
 * Cash sales count the cash applied to the sale, not the cash handed over: change given back never
 * was drawer money.
 */
export function expectedCash(t: { openingFloat: number; cashSales: number; cashRefunds: number; paidIn: number; paidOut: number }): number {
  return t.openingFloat + t.cashSales - t.cashRefunds + t.paidIn - t.paidOut;
}

/** Positive: more cash in the drawer than expected (over); negative: short. */
export function cashVariance(counted: number, expected: number): number {
  return counted - expected;
}
