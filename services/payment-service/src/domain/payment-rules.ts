/** Pure payment rules: what a stored payment means for a new request, refunds, gift card balances. */

export type PaymentMethod = 'cash' | 'card' | 'external_card' | 'gift_card' | 'loyalty';
export type PaymentStatus = 'pending' | 'captured' | 'declined' | 'failed' | 'voided';

export const PAYMENT_METHODS = ['cash', 'card', 'external_card', 'gift_card', 'loyalty'] as const satisfies readonly PaymentMethod[];

/** Card payments go through the processor; loyalty through customer-service; the others are settled inside payment-service. */
export const usesProcessor = (method: PaymentMethod) => method === 'card';

export interface ExistingPayment {
  status: PaymentStatus;
  tombstone: boolean;
  requestHash: string | null;
}

/**
 * What a `process` request does when a payment with its Idempotency-Key already exists (a retry that
 * got past the idempotency middleware, e.g. after its lease lapsed or its record expired):
 * - a tombstone or voided payment refuses it (saga compensation already ran): `voided`;
 * - a different request under the same key: `mismatch` (422);
 * - captured: `replay` the payment; declined: `declined` again (the same 402);
 * - pending (a request in flight or crashed) or failed (processor outage): `resume` — call the
 *   processor again with the SAME processor key, which returns the recorded charge if there is one.
 */
export function onExistingPayment(existing: ExistingPayment, requestHash: string): 'voided' | 'mismatch' | 'replay' | 'declined' | 'resume' {
  if (existing.tombstone || existing.status === 'voided') return 'voided';
  if (existing.requestHash !== requestHash) return 'mismatch';
  switch (existing.status) {
    case 'captured':
      return 'replay';
    case 'declined':
      return 'declined';
    case 'pending':
    case 'failed':
      return 'resume';
  }
}

export interface RefundablePayment {
  status: PaymentStatus;
  amount: number;
  refundedAmount: number;
  currency: string;
}

export type RefundCheck =
  | { ok: true; refundedAfter: number }
  | { ok: false; reason: 'not_captured' | 'currency_mismatch' | 'exceeds_captured'; refundable: number };

/** What may still be refunded: captured minus already refunded (nothing unless captured). */
export const refundable = (p: RefundablePayment) => (p.status === 'captured' ? p.amount - p.refundedAmount : 0);

/** A refund is allowed only on a captured payment, in its currency, and never past what was captured. */
export function checkRefund(p: RefundablePayment, amount: number, currency: string): RefundCheck {
  const left = refundable(p);
  if (p.status !== 'captured') return { ok: false, reason: 'not_captured', refundable: 0 };
  if (currency !== p.currency) return { ok: false, reason: 'currency_mismatch', refundable: left };
  if (amount > left) return { ok: false, reason: 'exceeds_captured', refundable: left };
  return { ok: true, refundedAfter: p.refundedAmount + amount };
}

export type Redemption = { ok: true; balanceAfter: number } | { ok: false; available: number };

/** A gift card pays in full or not at all (the terminal resubmits a split with what is available). */
export function redeem(balance: number, amount: number): Redemption {
  if (amount <= 0) throw new RangeError('a redemption must be positive');
  return amount <= balance ? { ok: true, balanceAfter: balance - amount } : { ok: false, available: Math.max(0, balance) };
}

/** What a void gives back: everything captured that was not refunded yet. */
export const voidAmount = (p: RefundablePayment) => refundable(p);

/**
 * Loyalty points for an amount (POS-DESIGN §11 "Tenders"): `pointValue` minor units per point. A
 * loyalty tender, and each refund of one, must be a whole number of points (undefined otherwise).
 */
export function loyaltyPoints(amount: number, pointValue: number): number | undefined {
  if (!Number.isSafeInteger(amount) || amount <= 0) throw new RangeError('a loyalty amount must be a positive integer');
  if (!Number.isSafeInteger(pointValue) || pointValue <= 0) throw new RangeError('the point value must be a positive integer');
  return amount % pointValue === 0 ? amount / pointValue : undefined;
}
