import type { Queryable } from '@pos/database';
import type { PaymentMethod, PaymentStatus } from '../domain/payment-rules';

export interface PaymentRow {
  id: string;
  tenant_id: string;
  idempotency_key: string;
  tombstone: boolean;
  transaction_id: string | null;
  store_id: string | null;
  method: PaymentMethod | null;
  amount: number | null;
  currency: string | null;
  status: PaymentStatus;
  refunded_amount: number;
  request_hash: string | null;
  card_token: string | null;
  card_brand: string | null;
  card_last4: string | null;
  gift_card_id: string | null;
  gift_card_last4: string | null;
  gift_card_balance_after: number | null;
  customer_id: string | null;
  loyalty_points: number | null;
  /** The customer's points after this payment: after the redemption (captured), or what was available (declined). */
  loyalty_balance_after: number | null;
  processor: string | null;
  processor_ref: string | null;
  failure_code: string | null;
  failure_reason: string | null;
  created_by: string;
  voided_at: Date | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

const money = (amount: number | null, currency: string | null) => (amount === null || currency === null ? null : { amount, currency });

/** The API shape of a payment (the card token is never returned). */
export const paymentView = (p: PaymentRow) => ({
  id: p.id,
  transactionId: p.transaction_id,
  storeId: p.store_id,
  idempotencyKey: p.idempotency_key,
  method: p.method,
  amount: money(p.amount, p.currency),
  status: p.status,
  refundedAmount: money(p.tombstone ? null : p.refunded_amount, p.currency),
  card: p.card_brand && p.card_last4 ? { brand: p.card_brand, last4: p.card_last4 } : null,
  giftCard: p.gift_card_last4 ? { last4: p.gift_card_last4, balanceAfter: money(p.gift_card_balance_after, p.currency) } : null,
  loyalty: p.customer_id && p.loyalty_points !== null ? { customerId: p.customer_id, points: p.loyalty_points, balanceAfter: p.loyalty_balance_after } : null,
  processorRef: p.processor_ref,
  failure: p.failure_code ? { code: p.failure_code, reason: p.failure_reason ?? p.failure_code } : null,
  tombstone: p.tombstone,
  voidedAt: p.voided_at?.toISOString() ?? null,
  createdAt: p.created_at.toISOString(),
  updatedAt: p.updated_at.toISOString(),
  version: p.version,
});
export type PaymentView = ReturnType<typeof paymentView>;

export interface NewPayment {
  id: string;
  tenantId: string;
  idempotencyKey: string;
  transactionId: string;
  storeId: string;
  method: PaymentMethod;
  amount: number;
  currency: string;
  status: PaymentStatus;
  requestHash: string;
  cardToken?: string | null;
  cardBrand?: string | null;
  cardLast4?: string | null;
  giftCardLast4?: string | null;
  customerId?: string | null;
  loyaltyPoints?: number | null;
  processor?: string | null;
  processorRef?: string | null;
  createdBy: string;
}

/**
 * Inserts the payment unless its (tenant, Idempotency-Key) already has one. Concurrent requests with
 * one key queue on the unique index here; only one of them gets the row back.
 */
export async function claimPayment(db: Queryable, p: NewPayment): Promise<PaymentRow | undefined> {
  const { rows } = await db.query<PaymentRow>(
    `INSERT INTO payments.payments (id, tenant_id, idempotency_key, transaction_id, store_id, method, amount, currency, status, request_hash,
                                    card_token, card_brand, card_last4, gift_card_last4, processor, processor_ref, created_by, customer_id, loyalty_points)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
     ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
     RETURNING *`,
    [
      p.id,
      p.tenantId,
      p.idempotencyKey,
      p.transactionId,
      p.storeId,
      p.method,
      p.amount,
      p.currency,
      p.status,
      p.requestHash,
      p.cardToken ?? null,
      p.cardBrand ?? null,
      p.cardLast4 ?? null,
      p.giftCardLast4 ?? null,
      p.processor ?? null,
      p.processorRef ?? null,
      p.createdBy,
      p.customerId ?? null,
      p.loyaltyPoints ?? null,
    ],
  );
  return rows[0];
}

/** A tombstone for a key that has no payment: a late `process` with that key is refused. */
export async function claimTombstone(db: Queryable, tenantId: string, id: string, key: string, createdBy: string): Promise<PaymentRow | undefined> {
  const { rows } = await db.query<PaymentRow>(
    `INSERT INTO payments.payments (id, tenant_id, idempotency_key, tombstone, status, created_by, voided_at)
     VALUES ($1, $2, $3, true, 'voided', $4, now())
     ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
     RETURNING *`,
    [id, tenantId, key, createdBy],
  );
  return rows[0];
}

export async function findPayment(db: Queryable, tenantId: string, id: string, forUpdate = false): Promise<PaymentRow | undefined> {
  const { rows } = await db.query<PaymentRow>(`SELECT * FROM payments.payments WHERE tenant_id = $1 AND id = $2${forUpdate ? ' FOR UPDATE' : ''}`, [tenantId, id]);
  return rows[0];
}

export async function findPaymentByKey(db: Queryable, tenantId: string, key: string, forUpdate = false): Promise<PaymentRow | undefined> {
  const { rows } = await db.query<PaymentRow>(`SELECT * FROM payments.payments WHERE tenant_id = $1 AND idempotency_key = $2${forUpdate ? ' FOR UPDATE' : ''}`, [
    tenantId,
    key,
  ]);
  return rows[0];
}

export interface Outcome {
  status: PaymentStatus;
  processor?: string | null;
  processorRef?: string | null;
  cardBrand?: string | null;
  cardLast4?: string | null;
  giftCardId?: string | null;
  giftCardBalanceAfter?: number | null;
  loyaltyBalanceAfter?: number | null;
  failureCode?: string | null;
  failureReason?: string | null;
}

/**
 * Moves a payment from one of `from` to the outcome (fields left undefined keep their value).
 * Returns undefined when the payment was no longer in one of those states: someone else decided.
 */
export async function settlePayment(db: Queryable, tenantId: string, id: string, from: readonly PaymentStatus[], o: Outcome): Promise<PaymentRow | undefined> {
  const keep = (v: unknown) => v === undefined;
  const { rows } = await db.query<PaymentRow>(
    `UPDATE payments.payments SET
        status = $4,
        processor = CASE WHEN $5 THEN processor ELSE $6 END,
        processor_ref = CASE WHEN $7 THEN processor_ref ELSE $8 END,
        card_brand = CASE WHEN $9 THEN card_brand ELSE $10 END,
        card_last4 = CASE WHEN $11 THEN card_last4 ELSE $12 END,
        gift_card_id = CASE WHEN $13 THEN gift_card_id ELSE $14::uuid END,
        gift_card_balance_after = CASE WHEN $15 THEN gift_card_balance_after ELSE $16::bigint END,
        failure_code = CASE WHEN $17 THEN failure_code ELSE $18 END,
        failure_reason = CASE WHEN $19 THEN failure_reason ELSE $20 END,
        loyalty_balance_after = CASE WHEN $21 THEN loyalty_balance_after ELSE $22::bigint END,
        voided_at = CASE WHEN $4 = 'voided' THEN now() ELSE voided_at END,
        version = version + 1,
        updated_at = now()
      WHERE tenant_id = $1 AND id = $2 AND status = ANY($3::text[])
      RETURNING *`,
    [
      tenantId,
      id,
      from,
      o.status,
      keep(o.processor),
      o.processor ?? null,
      keep(o.processorRef),
      o.processorRef ?? null,
      keep(o.cardBrand),
      o.cardBrand ?? null,
      keep(o.cardLast4),
      o.cardLast4 ?? null,
      keep(o.giftCardId),
      o.giftCardId ?? null,
      keep(o.giftCardBalanceAfter),
      o.giftCardBalanceAfter ?? null,
      keep(o.failureCode),
      o.failureCode ?? null,
      keep(o.failureReason),
      o.failureReason ?? null,
      keep(o.loyaltyBalanceAfter),
      o.loyaltyBalanceAfter ?? null,
    ],
  );
  return rows[0];
}

export async function addRefunded(db: Queryable, tenantId: string, id: string, amount: number): Promise<PaymentRow> {
  const { rows } = await db.query<PaymentRow>(
    `UPDATE payments.payments SET refunded_amount = refunded_amount + $3, version = version + 1, updated_at = now()
      WHERE tenant_id = $1 AND id = $2 RETURNING *`,
    [tenantId, id, amount],
  );
  return rows[0]!;
}

export interface PaymentFilter {
  transactionId?: string;
  storeIds?: string[];
  idempotencyKey?: string;
  status?: PaymentStatus;
  /** Include tombstones (they have no store, so only callers that see every store get them). */
  tombstones: boolean;
  limit: number;
  after?: { createdAt: string; id: string };
}

export async function listPayments(db: Queryable, tenantId: string, f: PaymentFilter): Promise<PaymentRow[]> {
  const { rows } = await db.query<PaymentRow>(
    `SELECT * FROM payments.payments
      WHERE tenant_id = $1
        AND ($2::uuid IS NULL OR transaction_id = $2)
        AND ($3::uuid[] IS NULL OR store_id = ANY($3))
        AND ($4::text IS NULL OR idempotency_key = $4)
        AND ($5::text IS NULL OR status = $5)
        AND ($6 OR NOT tombstone)
        AND ($7::timestamptz IS NULL OR (created_at, id) > ($7::timestamptz, $8::uuid))
      ORDER BY created_at, id LIMIT $9`,
    [tenantId, f.transactionId ?? null, f.storeIds ?? null, f.idempotencyKey ?? null, f.status ?? null, f.tombstones, f.after?.createdAt ?? null, f.after?.id ?? null, f.limit],
  );
  return rows;
}

export interface RefundRow {
  id: string;
  payment_id: string;
  idempotency_key: string;
  amount: number;
  currency: string;
  reason: string | null;
  processor_ref: string | null;
  created_by: string;
  created_at: Date;
}

export const refundView = (r: RefundRow) => ({
  id: r.id,
  paymentId: r.payment_id,
  amount: { amount: r.amount, currency: r.currency },
  createdAt: r.created_at.toISOString(),
});

export async function findRefundByKey(db: Queryable, tenantId: string, paymentId: string, key: string): Promise<RefundRow | undefined> {
  const { rows } = await db.query<RefundRow>('SELECT * FROM payments.refunds WHERE tenant_id = $1 AND payment_id = $2 AND idempotency_key = $3', [tenantId, paymentId, key]);
  return rows[0];
}

export async function insertRefund(
  db: Queryable,
  r: { id: string; tenantId: string; paymentId: string; key: string; amount: number; currency: string; reason: string | null; processorRef: string | null; createdBy: string },
): Promise<RefundRow> {
  const { rows } = await db.query<RefundRow>(
    `INSERT INTO payments.refunds (id, tenant_id, payment_id, idempotency_key, amount, currency, reason, processor_ref, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
    [r.id, r.tenantId, r.paymentId, r.key, r.amount, r.currency, r.reason, r.processorRef, r.createdBy],
  );
  return rows[0]!;
}
