/**
 * Refund money (POS-DESIGN §11 "Refund money"). Pure integer arithmetic, no I/O.
 *
 * - A partial line refund returns round-half-up(lineTotal × qtyRefunded / qtySold), and its tax
 *   likewise from the line's tax. Each refund is computed from the original line, not from the
 *   previous refunds, so the price of a unit does not drift.
 * - Rounding up can over-pay small lines (3 units for 1 in total: each unit rounds to 1), so a
 *   refund is also capped at what the line has left, and the refund that takes the last remaining
 *   units takes exactly what is left (total − refundedTotal, tax − refundedTax). The refunds of a
 *   line therefore never sum past its total, and sum to it exactly once it is fully refunded.
 * - Money goes back to the non-cash tenders first, in tender order, each up to what it captured
 *   less what was already refunded to it; whatever is left is paid from the cash drawer.
 *
 * Amounts are integer minor units. A quantity below 1 or any value that is not a non-negative safe
 * integer is a caller bug (the HTTP schema rejects it first) and throws a RangeError.
 */

export interface RefundableLine {
  quantity: number;
  total: number;
  tax: number;
  refundedQuantity: number;
  refundedTotal: number;
  refundedTax: number;
}

export function lineRefundAmount(line: RefundableLine, quantity: number): { total: number; tax: number } | { error: 'exceeds_remaining'; remaining: number } {
  for (const key of ['quantity', 'total', 'tax', 'refundedQuantity', 'refundedTotal', 'refundedTax'] as const) checkAmount(`line.${key}`, line[key]);
  checkAmount('quantity', quantity);
  if (quantity < 1) throw new RangeError(`refund quantity must be at least 1, got ${quantity}`);

  const remaining = Math.max(0, line.quantity - line.refundedQuantity);
  if (quantity > remaining) return { error: 'exceeds_remaining', remaining };

  const totalLeft = Math.max(0, line.total - line.refundedTotal);
  const taxLeft = Math.max(0, line.tax - line.refundedTax);
  if (quantity === remaining) return { total: totalLeft, tax: taxLeft };

  return {
    total: Math.min(totalLeft, mulDivHalfUp(line.total, quantity, line.quantity)),
    tax: Math.min(taxLeft, mulDivHalfUp(line.tax, quantity, line.quantity)),
  };
}

export interface CapturedTender {
  index: number;
  method: string;
  captured: number;
  refunded: number;
}

export function allocateRefund(amount: number, tenders: CapturedTender[]): { allocations: Array<{ index: number; method: string; amount: number }>; cash: number } {
  checkAmount('amount', amount);
  let left = amount;
  const allocations: Array<{ index: number; method: string; amount: number }> = [];
  // Cash tenders are skipped here: the cash part is the drawer's, returned as `cash`.
  const nonCash = tenders.filter((t) => t.method !== 'cash').sort((a, b) => a.index - b.index);
  for (const t of nonCash) {
    if (left === 0) break;
    const room = Math.max(0, checkAmount(`tenders[${t.index}].captured`, t.captured) - checkAmount(`tenders[${t.index}].refunded`, t.refunded));
    const take = Math.min(room, left);
    // A tender with nothing left to give back gets no allocation (no zero-amount refund call).
    if (take > 0) allocations.push({ index: t.index, method: t.method, amount: take });
    left -= take;
  }
  return { allocations, cash: left };
}

/** round-half-up(x × num / den) for x, num ≥ 0 and den > 0, in BigInt so the product stays exact. */
function mulDivHalfUp(x: number, num: number, den: number): number {
  const a = BigInt(x) * BigInt(num);
  const d = BigInt(den);
  return Number((2n * a + d) / (2n * d));
}

function checkAmount(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative safe integer, got ${value}`);
  return value;
}
