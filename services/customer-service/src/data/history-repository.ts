import type { Queryable } from '@pos/database';

export type HistoryStatus = 'completed' | 'partially_refunded' | 'refunded' | 'voided';

export interface CustomerSaleRow {
  tenant_id: string;
  sale_id: string;
  customer_id: string;
  store_id: string;
  receipt_number: number | null;
  currency: string;
  total: number;
  refunded_total: number;
  status: HistoryStatus;
  occurred_at: Date;
  business_date: string;
  points_earned: number;
  points_reversed: number;
  updated_at: Date;
}

export interface SaleRefundRow {
  refund_id: string;
  sale_id: string;
  total: number;
  occurred_at: Date;
}

export const historyView = (s: CustomerSaleRow, refunds: SaleRefundRow[] = []) => {
  const m = (amount: number) => ({ amount, currency: s.currency });
  return {
    saleId: s.sale_id,
    storeId: s.store_id,
    receiptNumber: s.receipt_number,
    status: s.status,
    total: m(s.total),
    refundedTotal: m(s.refunded_total),
    netTotal: m(s.total - s.refunded_total),
    occurredAt: s.occurred_at.toISOString(),
    businessDate: s.business_date,
    loyalty: { pointsEarned: s.points_earned, pointsReversed: s.points_reversed },
    refunds: refunds.map((r) => ({ refundId: r.refund_id, total: m(r.total), occurredAt: r.occurred_at.toISOString() })),
  };
};
export type HistoryView = ReturnType<typeof historyView>;

const SELECT = 'SELECT *, business_date::text AS business_date FROM customers.customer_sales';

export async function findCustomerSale(db: Queryable, tenantId: string, saleId: string, forUpdate = false): Promise<CustomerSaleRow | undefined> {
  const { rows } = await db.query<CustomerSaleRow>(`${SELECT} WHERE tenant_id = $1 AND sale_id = $2${forUpdate ? ' FOR UPDATE' : ''}`, [tenantId, saleId]);
  return rows[0];
}

export async function insertCustomerSale(
  db: Queryable,
  s: Omit<CustomerSaleRow, 'updated_at' | 'points_reversed' | 'refunded_total'> & { refunded_total?: number; points_reversed?: number },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO customers.customer_sales (tenant_id, sale_id, customer_id, store_id, receipt_number, currency, total, refunded_total, status, occurred_at, business_date, points_earned, points_reversed)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (tenant_id, sale_id) DO NOTHING`,
    [
      s.tenant_id, s.sale_id, s.customer_id, s.store_id, s.receipt_number, s.currency, s.total, s.refunded_total ?? 0, s.status, s.occurred_at, s.business_date,
      s.points_earned, s.points_reversed ?? 0,
    ],
  );
  return rowCount === 1;
}

export async function updateCustomerSale(
  db: Queryable,
  tenantId: string,
  saleId: string,
  ch: { refunded_total: number; status: HistoryStatus; points_reversed: number },
): Promise<void> {
  await db.query(
    'UPDATE customers.customer_sales SET refunded_total = $3, status = $4, points_reversed = $5, updated_at = now() WHERE tenant_id = $1 AND sale_id = $2',
    [tenantId, saleId, ch.refunded_total, ch.status, ch.points_reversed],
  );
}

/** Records a refund once; false when it was already applied. */
export async function insertSaleRefund(db: Queryable, tenantId: string, r: SaleRefundRow): Promise<boolean> {
  const { rowCount } = await db.query(
    'INSERT INTO customers.customer_sale_refunds (tenant_id, refund_id, sale_id, total, occurred_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
    [tenantId, r.refund_id, r.sale_id, r.total, r.occurred_at],
  );
  return rowCount === 1;
}

export async function refundsOf(db: Queryable, tenantId: string, saleIds: string[]): Promise<Map<string, SaleRefundRow[]>> {
  const out = new Map<string, SaleRefundRow[]>();
  if (!saleIds.length) return out;
  const { rows } = await db.query<SaleRefundRow>(
    'SELECT refund_id, sale_id, total, occurred_at FROM customers.customer_sale_refunds WHERE tenant_id = $1 AND sale_id = ANY($2::uuid[]) ORDER BY occurred_at, refund_id',
    [tenantId, saleIds],
  );
  for (const r of rows) out.set(r.sale_id, [...(out.get(r.sale_id) ?? []), r]);
  return out;
}

/** Newest first, keyset on (occurred_at, sale_id) descending; all when limit is undefined. */
export async function listCustomerSales(
  db: Queryable,
  tenantId: string,
  customerId: string,
  limit?: number,
  before?: { occurredAt: string; saleId: string },
): Promise<CustomerSaleRow[]> {
  const { rows } = await db.query<CustomerSaleRow>(
    `${SELECT} WHERE tenant_id = $1 AND customer_id = $2
        AND ($3::timestamptz IS NULL OR (occurred_at, sale_id) < ($3::timestamptz, $4::uuid))
      ORDER BY occurred_at DESC, sale_id DESC LIMIT $5`,
    [tenantId, customerId, before?.occurredAt ?? null, before?.saleId ?? null, limit ?? null],
  );
  return rows;
}

/** Lifetime totals of a customer's purchases, per currency. */
export async function purchaseTotals(db: Queryable, tenantId: string, customerId: string): Promise<Array<{ currency: string; sales: number; total: number; refunded: number }>> {
  const { rows } = await db.query<{ currency: string; sales: number; total: number; refunded: number }>(
    `SELECT currency, count(*)::int AS sales, sum(total)::bigint AS total, sum(refunded_total)::bigint AS refunded
       FROM customers.customer_sales WHERE tenant_id = $1 AND customer_id = $2 GROUP BY currency ORDER BY currency`,
    [tenantId, customerId],
  );
  return rows.map((r) => ({ ...r, total: Number(r.total), refunded: Number(r.refunded) }));
}
