import type { Queryable } from '@pos/database';
import { normaliseFlags, type SaleFlag } from '../domain/offline';

export type SaleStatus = 'pending' | 'reserved' | 'completed' | 'failed' | 'voided';

export interface SaleRow {
  id: string;
  tenant_id: string;
  store_id: string;
  shift_id: string | null;
  cashier_id: string;
  customer_id: string | null;
  idempotency_key: string;
  status: SaleStatus;
  failure_code: string | null;
  failure_reason: string | null;
  receipt_number: number | null;
  currency: string;
  tax_inclusive: boolean;
  subtotal: number;
  discount_total: number;
  tax_total: number;
  total: number;
  cash_applied: number;
  change_due: number;
  discounts: unknown[];
  business_date: string;
  refunded_total: number;
  lease_until: Date;
  created_at: Date;
  completed_at: Date | null;
  /** Offline sales only: when and where it happened, and when the server got it. */
  occurred_at: Date | null;
  terminal_id: string | null;
  synced_at: Date | null;
  flags: string[];
  /** sha-256 of the request that created it (the sale is its key's idempotency record). */
  request_hash: string | null;
  /** The extra fields of its failure answer, replayed to a retry. */
  failure_details: Record<string, unknown> | null;
  version: number;
}

export interface LineRow {
  id: string;
  sale_id: string;
  line_no: number;
  product_id: string;
  sku: string;
  name: string;
  quantity: number;
  unit_price: number;
  catalog_price: number;
  price_override_by: string | null;
  tax_rate_bps: number;
  line_discount: number;
  order_discount: number;
  tax: number;
  total: number;
  refunded_quantity: number;
  refunded_total: number;
  refunded_tax: number;
}

export interface TenderRow {
  id: string;
  sale_id: string;
  tender_no: number;
  method: string;
  tendered: number;
  applied: number;
  payment_key: string;
  payment_id: string | null;
  status: 'pending' | 'captured' | 'failed' | 'voided';
  details: Record<string, unknown>;
  refunded_amount: number;
}

export interface FullSale {
  sale: SaleRow;
  lines: LineRow[];
  tenders: TenderRow[];
}

export const saleView = ({ sale, lines, tenders }: FullSale) => {
  const m = (amount: number) => ({ amount, currency: sale.currency });
  return {
    id: sale.id,
    status: sale.status,
    failure: sale.failure_code ? { code: sale.failure_code, reason: sale.failure_reason ?? '' } : null,
    storeId: sale.store_id,
    shiftId: sale.shift_id,
    cashierId: sale.cashier_id,
    customerId: sale.customer_id,
    receiptNumber: sale.receipt_number,
    lines: lines.map((l) => ({
      id: l.id,
      productId: l.product_id,
      sku: l.sku,
      name: l.name,
      quantity: l.quantity,
      unitPrice: m(l.unit_price),
      catalogPrice: m(l.catalog_price),
      discount: m(l.line_discount + l.order_discount),
      tax: m(l.tax),
      total: m(l.total),
      taxRateBps: l.tax_rate_bps,
      priceOverriddenBy: l.price_override_by,
      refundedQuantity: l.refunded_quantity,
    })),
    subtotal: m(sale.subtotal),
    discountTotal: m(sale.discount_total),
    taxTotal: m(sale.tax_total),
    total: m(sale.total),
    taxInclusive: sale.tax_inclusive,
    tenders: tenders.map((t) => ({ method: t.method, amount: m(t.applied), tendered: m(t.tendered), paymentId: t.payment_id, status: t.status })),
    changeDue: m(sale.change_due),
    refundedTotal: m(sale.refunded_total),
    offline: sale.occurred_at ? { occurredAt: sale.occurred_at.toISOString(), terminalId: sale.terminal_id ?? '', syncedAt: sale.synced_at?.toISOString() ?? '' } : null,
    flags: sale.flags as SaleFlag[],
    businessDate: sale.business_date,
    createdAt: sale.created_at.toISOString(),
    completedAt: sale.completed_at?.toISOString() ?? null,
  };
};
export type SaleView = ReturnType<typeof saleView>;

/**
 * An offline sale (`offline` given) is dated when it happened: created_at is its occurredAt, and
 * synced_at records when the server got it.
 */
export async function insertSale(
  db: Queryable,
  s: Omit<
    SaleRow,
    'receipt_number' | 'refunded_total' | 'created_at' | 'completed_at' | 'version' | 'failure_code' | 'failure_reason' | 'failure_details' | 'lease_until' | 'occurred_at' | 'terminal_id' | 'synced_at'
  > & {
    leaseSeconds: number;
    offline: { occurredAt: Date; terminalId: string } | null;
  },
): Promise<SaleRow | undefined> {
  const { rows } = await db.query<SaleRow>(
    `INSERT INTO sales.sales (id, tenant_id, store_id, shift_id, cashier_id, customer_id, idempotency_key, status, currency, tax_inclusive,
        subtotal, discount_total, tax_total, total, cash_applied, change_due, discounts, business_date, lease_until,
        occurred_at, terminal_id, synced_at, flags, created_at, request_hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, now() + make_interval(secs => $19),
        date_trunc('milliseconds', $20::timestamptz), $21, CASE WHEN $20::timestamptz IS NULL THEN NULL ELSE date_trunc('milliseconds', now()) END, $22::text[],
        date_trunc('milliseconds', COALESCE($20::timestamptz, now())), $23)
     ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
     RETURNING *, business_date::text AS business_date`,
    [
      s.id, s.tenant_id, s.store_id, s.shift_id, s.cashier_id, s.customer_id, s.idempotency_key, s.status, s.currency, s.tax_inclusive,
      s.subtotal, s.discount_total, s.tax_total, s.total, s.cash_applied, s.change_due, JSON.stringify(s.discounts), s.business_date, s.leaseSeconds,
      s.offline?.occurredAt ?? null, s.offline?.terminalId ?? null, normaliseFlags(s.flags), s.request_hash,
    ],
  );
  return rows[0];
}

/** Adds flags to a sale (a set: adding one twice changes nothing). */
export async function addSaleFlags(db: Queryable, tenantId: string, id: string, flags: SaleFlag[]): Promise<void> {
  if (!flags.length) return;
  const { rows } = await db.query<{ flags: string[] }>('SELECT flags FROM sales.sales WHERE tenant_id = $1 AND id = $2 FOR UPDATE', [tenantId, id]);
  if (!rows[0]) return;
  const next = normaliseFlags([...rows[0].flags, ...flags]);
  if (next.length !== rows[0].flags.length) await db.query('UPDATE sales.sales SET flags = $3::text[] WHERE tenant_id = $1 AND id = $2', [tenantId, id, next]);
}

export async function insertLines(db: Queryable, tenantId: string, lines: Array<Omit<LineRow, 'refunded_quantity' | 'refunded_total' | 'refunded_tax'> & { discount_spec: unknown }>): Promise<LineRow[]> {
  const { rows } = await db.query<LineRow>(
    `INSERT INTO sales.sale_lines (id, tenant_id, sale_id, line_no, product_id, sku, name, quantity, unit_price, catalog_price, price_override_by,
        tax_rate_bps, line_discount, order_discount, tax, total, discount_spec)
     SELECT x.id, $1, x.sale_id, x.line_no, x.product_id, x.sku, x.name, x.quantity, x.unit_price, x.catalog_price, x.price_override_by,
            x.tax_rate_bps, x.line_discount, x.order_discount, x.tax, x.total, x.discount_spec
       FROM jsonb_to_recordset($2::jsonb) AS x(id uuid, sale_id uuid, line_no int, product_id uuid, sku text, name text, quantity int, unit_price bigint,
            catalog_price bigint, price_override_by text, tax_rate_bps int, line_discount bigint, order_discount bigint, tax bigint, total bigint, discount_spec jsonb)
     RETURNING *`,
    [tenantId, JSON.stringify(lines)],
  );
  return rows.sort((a, b) => a.line_no - b.line_no);
}

export async function insertTenders(db: Queryable, tenantId: string, tenders: Array<Pick<TenderRow, 'id' | 'sale_id' | 'tender_no' | 'method' | 'tendered' | 'applied' | 'payment_key' | 'details'>>): Promise<TenderRow[]> {
  const { rows } = await db.query<TenderRow>(
    `INSERT INTO sales.sale_tenders (id, tenant_id, sale_id, tender_no, method, tendered, applied, payment_key, status, details)
     SELECT x.id, $1, x.sale_id, x.tender_no, x.method, x.tendered, x.applied, x.payment_key, 'pending', x.details
       FROM jsonb_to_recordset($2::jsonb) AS x(id uuid, sale_id uuid, tender_no int, method text, tendered bigint, applied bigint, payment_key text, details jsonb)
     RETURNING *`,
    [tenantId, JSON.stringify(tenders)],
  );
  return rows.sort((a, b) => a.tender_no - b.tender_no);
}

export async function findSale(db: Queryable, tenantId: string, id: string, forUpdate = false): Promise<FullSale | undefined> {
  const { rows } = await db.query<SaleRow>(`SELECT *, business_date::text AS business_date FROM sales.sales WHERE tenant_id = $1 AND id = $2${forUpdate ? ' FOR UPDATE' : ''}`, [tenantId, id]);
  const sale = rows[0];
  if (!sale) return undefined;
  return loadParts(db, sale);
}

export async function findSaleByKey(db: Queryable, tenantId: string, key: string, forUpdate = false): Promise<FullSale | undefined> {
  const { rows } = await db.query<SaleRow>(
    `SELECT *, business_date::text AS business_date FROM sales.sales WHERE tenant_id = $1 AND idempotency_key = $2${forUpdate ? ' FOR UPDATE' : ''}`,
    [tenantId, key],
  );
  return rows[0] && loadParts(db, rows[0]);
}

async function loadParts(db: Queryable, sale: SaleRow): Promise<FullSale> {
  const lines = await db.query<LineRow>('SELECT * FROM sales.sale_lines WHERE sale_id = $1 ORDER BY line_no', [sale.id]);
  const tenders = await db.query<TenderRow>('SELECT * FROM sales.sale_tenders WHERE sale_id = $1 ORDER BY tender_no', [sale.id]);
  return { sale, lines: lines.rows, tenders: tenders.rows };
}

export async function setSaleStatus(
  db: Queryable,
  tenantId: string,
  id: string,
  status: SaleStatus,
  failure?: { code: string; reason: string; details?: Record<string, unknown> },
): Promise<void> {
  await db.query(
    `UPDATE sales.sales SET status = $3, failure_code = $4, failure_reason = $5, failure_details = $6::jsonb, version = version + 1,
        completed_at = CASE WHEN $3 = 'completed' THEN COALESCE(occurred_at, now()) ELSE completed_at END
      WHERE tenant_id = $1 AND id = $2`,
    [tenantId, id, status, failure?.code ?? null, failure?.reason ?? null, failure?.details && Object.keys(failure.details).length ? JSON.stringify(failure.details) : null],
  );
}

export async function setTenderOutcome(
  db: Queryable,
  tenantId: string,
  tenderId: string,
  status: TenderRow['status'],
  paymentId: string | null,
  details?: Record<string, unknown>,
): Promise<TenderRow | undefined> {
  const { rows } = await db.query<TenderRow>(
    'UPDATE sales.sale_tenders SET status = $3, payment_id = COALESCE($4, payment_id), details = details || $5::jsonb WHERE tenant_id = $1 AND id = $2 RETURNING *',
    [tenantId, tenderId, status, paymentId, JSON.stringify(details ?? {})],
  );
  return rows[0];
}

/** Stock taken: the sale is `reserved` and leased for the payments about to be taken. */
export async function markReserved(db: Queryable, tenantId: string, id: string, leaseSeconds: number): Promise<void> {
  await db.query(
    "UPDATE sales.sales SET status = 'reserved', version = version + 1, lease_until = now() + make_interval(secs => $3) WHERE tenant_id = $1 AND id = $2",
    [tenantId, id, leaseSeconds],
  );
}

/** Receipt numbers are sequential per store; the counter row is locked so numbers never repeat or skip. */
export async function nextReceiptNumber(db: Queryable, tenantId: string, storeId: string): Promise<number> {
  const { rows } = await db.query<{ last_number: number }>(
    `INSERT INTO sales.receipt_counters (tenant_id, store_id, last_number) VALUES ($1, $2, 1)
     ON CONFLICT (tenant_id, store_id) DO UPDATE SET last_number = sales.receipt_counters.last_number + 1
     RETURNING last_number`,
    [tenantId, storeId],
  );
  return rows[0]!.last_number;
}

export async function completeSale(db: Queryable, tenantId: string, id: string, receiptNumber: number): Promise<SaleRow> {
  const { rows } = await db.query<SaleRow>(
    // An offline sale completed when it happened at the till; its receipt number is still the next at sync.
    `UPDATE sales.sales SET status = 'completed', receipt_number = $3, completed_at = COALESCE(occurred_at, now()), version = version + 1
      WHERE tenant_id = $1 AND id = $2 RETURNING *, business_date::text AS business_date`,
    [tenantId, id, receiptNumber],
  );
  return rows[0]!;
}

export async function extendLease(db: Queryable, tenantId: string, id: string, seconds: number): Promise<boolean> {
  const { rowCount } = await db.query(
    "UPDATE sales.sales SET lease_until = now() + make_interval(secs => $3) WHERE tenant_id = $1 AND id = $2 AND status IN ('pending', 'reserved') AND lease_until < now()",
    [tenantId, id, seconds],
  );
  return rowCount === 1;
}

export interface SaleListQuery {
  storeIds?: string[];
  cashierId?: string;
  customerId?: string;
  status?: string;
  from?: string;
  to?: string;
  flagged?: boolean;
  flag?: string;
  offline?: boolean;
  limit: number;
  after?: { createdAt: string; id: string };
}

export async function listSales(db: Queryable, tenantId: string, q: SaleListQuery): Promise<FullSale[]> {
  const { rows } = await db.query<SaleRow>(
    `SELECT *, business_date::text AS business_date FROM sales.sales
      WHERE tenant_id = $1
        AND ($2::uuid[] IS NULL OR store_id = ANY($2))
        AND ($3::text IS NULL OR cashier_id = $3)
        AND ($4::uuid IS NULL OR customer_id = $4)
        AND ($5::text IS NULL OR status = $5)
        AND ($6::timestamptz IS NULL OR created_at >= $6)
        AND ($7::timestamptz IS NULL OR created_at < $7)
        AND ($8::timestamptz IS NULL OR (created_at, id) > ($8::timestamptz, $9::uuid))
        AND ($11::boolean IS NULL OR (flags <> '{}') = $11)
        AND ($12::text IS NULL OR $12 = ANY(flags))
        AND ($13::boolean IS NULL OR (occurred_at IS NOT NULL) = $13)
      ORDER BY created_at, id LIMIT $10`,
    [
      tenantId, q.storeIds ?? null, q.cashierId ?? null, q.customerId ?? null, q.status ?? null, q.from ?? null, q.to ?? null, q.after?.createdAt ?? null, q.after?.id ?? null, q.limit,
      q.flagged ?? null, q.flag ?? null, q.offline ?? null,
    ],
  );
  if (!rows.length) return [];
  const ids = rows.map((r) => r.id);
  const lines = await db.query<LineRow>('SELECT * FROM sales.sale_lines WHERE sale_id = ANY($1::uuid[]) ORDER BY line_no', [ids]);
  const tenders = await db.query<TenderRow>('SELECT * FROM sales.sale_tenders WHERE sale_id = ANY($1::uuid[]) ORDER BY tender_no', [ids]);
  return rows.map((sale) => ({ sale, lines: lines.rows.filter((l) => l.sale_id === sale.id), tenders: tenders.rows.filter((t) => t.sale_id === sale.id) }));
}

/** The running request keeps its claim on the sale while each (possibly slow) step runs. */
export async function renewLease(db: Queryable, tenantId: string, id: string, seconds: number): Promise<void> {
  await db.query('UPDATE sales.sales SET lease_until = now() + make_interval(secs => $3) WHERE tenant_id = $1 AND id = $2', [tenantId, id, seconds]);
}
