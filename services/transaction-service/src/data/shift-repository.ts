import { randomUUID } from 'node:crypto';
import type { Queryable } from '@pos/database';

export interface ShiftRow {
  id: string;
  tenant_id: string;
  store_id: string;
  cashier_id: string;
  status: 'open' | 'closed';
  currency: string;
  opening_float: number;
  counted_cash: number | null;
  expected_cash: number | null;
  variance: number | null;
  z_report: Record<string, unknown> | null;
  opened_at: Date;
  closed_at: Date | null;
  version: number;
}

export const shiftView = (s: ShiftRow) => {
  const m = (amount: number | null) => (amount === null ? null : { amount, currency: s.currency });
  return {
    id: s.id,
    storeId: s.store_id,
    cashierId: s.cashier_id,
    status: s.status,
    openingFloat: { amount: s.opening_float, currency: s.currency },
    countedCash: m(s.counted_cash),
    expectedCash: m(s.expected_cash),
    variance: m(s.variance),
    openedAt: s.opened_at.toISOString(),
    closedAt: s.closed_at?.toISOString() ?? null,
    version: s.version,
  };
};

export async function insertShift(db: Queryable, tenantId: string, s: { storeId: string; cashierId: string; currency: string; openingFloat: number }): Promise<ShiftRow> {
  const { rows } = await db.query<ShiftRow>(
    `INSERT INTO sales.shifts (id, tenant_id, store_id, cashier_id, status, currency, opening_float) VALUES ($1, $2, $3, $4, 'open', $5, $6) RETURNING *`,
    [randomUUID(), tenantId, s.storeId, s.cashierId, s.currency, s.openingFloat],
  );
  return rows[0]!;
}

export async function findShift(db: Queryable, tenantId: string, id: string, forUpdate = false): Promise<ShiftRow | undefined> {
  const { rows } = await db.query<ShiftRow>(`SELECT * FROM sales.shifts WHERE tenant_id = $1 AND id = $2${forUpdate ? ' FOR UPDATE' : ''}`, [tenantId, id]);
  return rows[0];
}

/** `forShare`: locked FOR SHARE, for the same reason as findShiftCovering (an offline sale joining it). */
export async function findOpenShift(db: Queryable, tenantId: string, storeId: string, cashierId: string, forShare = false): Promise<ShiftRow | undefined> {
  const { rows } = await db.query<ShiftRow>(
    `SELECT * FROM sales.shifts WHERE tenant_id = $1 AND store_id = $2 AND cashier_id = $3 AND status = 'open'${forShare ? ' FOR SHARE' : ''}`,
    [tenantId, storeId, cashierId],
  );
  return rows[0];
}

/**
 * The cashier's shift at the store that was open at `at` (an offline sale's occurredAt), locked
 * FOR SHARE so that a close running at the same time waits for the sale to be recorded (and then
 * sees it as in progress) instead of closing under it.
 */
export async function findShiftCovering(db: Queryable, tenantId: string, storeId: string, cashierId: string, at: Date): Promise<ShiftRow | undefined> {
  const { rows } = await db.query<ShiftRow>(
    `SELECT * FROM sales.shifts WHERE tenant_id = $1 AND store_id = $2 AND cashier_id = $3 AND opened_at <= $4 AND (closed_at IS NULL OR closed_at > $4)
      ORDER BY opened_at DESC LIMIT 1 FOR SHARE`,
    [tenantId, storeId, cashierId, at],
  );
  return rows[0];
}

/** Offline sales booked to a shift after it was closed (flag shift_closed): not in its kept Z-report. */
export async function lateSalesOf(db: Queryable, tenantId: string, shiftId: string): Promise<{ count: number; total: number; cash: number }> {
  const { rows } = await db.query<{ count: number; total: number; cash: number }>(
    `SELECT count(*)::int AS count, COALESCE(sum(total), 0) AS total, COALESCE(sum(cash_applied), 0) AS cash
       FROM sales.sales WHERE tenant_id = $1 AND shift_id = $2 AND status = 'completed' AND 'shift_closed' = ANY(flags)`,
    [tenantId, shiftId],
  );
  return rows[0]!;
}

export async function listShifts(
  db: Queryable,
  tenantId: string,
  q: { storeIds?: string[]; cashierId?: string; status?: string; limit: number; after?: { openedAt: string; id: string } },
): Promise<ShiftRow[]> {
  const { rows } = await db.query<ShiftRow>(
    `SELECT * FROM sales.shifts WHERE tenant_id = $1
        AND ($2::uuid[] IS NULL OR store_id = ANY($2)) AND ($3::text IS NULL OR cashier_id = $3) AND ($4::text IS NULL OR status = $4)
        AND ($5::timestamptz IS NULL OR (opened_at, id) > ($5::timestamptz, $6::uuid))
      ORDER BY opened_at, id LIMIT $7`,
    [tenantId, q.storeIds ?? null, q.cashierId ?? null, q.status ?? null, q.after?.openedAt ?? null, q.after?.id ?? null, q.limit],
  );
  return rows;
}

export async function insertCashMovement(db: Queryable, tenantId: string, m: { shiftId: string; kind: string; amount: number; reason: string; actorId: string }): Promise<{ id: string; created_at: Date }> {
  const { rows } = await db.query<{ id: string; created_at: Date }>(
    'INSERT INTO sales.cash_movements (id, tenant_id, shift_id, kind, amount, reason, actor_id) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, created_at',
    [randomUUID(), tenantId, m.shiftId, m.kind, m.amount, m.reason, m.actorId],
  );
  return rows[0]!;
}

export interface ShiftTotals {
  saleCount: number;
  gross: number;
  discounts: number;
  tax: number;
  net: number;
  cashSales: number;
  byTender: Record<string, number>;
  refundCount: number;
  refundTotal: number;
  cashRefunds: number;
  voidCount: number;
  voidTotal: number;
  paidIn: number;
  paidOut: number;
}

/** Everything a Z-report needs, from the ledgers themselves (never from running counters). */
export async function shiftTotals(db: Queryable, tenantId: string, shiftId: string): Promise<ShiftTotals> {
  const sales = await db.query<{ n: number; gross: number; discounts: number; tax: number; net: number; cash: number }>(
    `SELECT count(*)::int AS n, COALESCE(sum(subtotal), 0) AS gross, COALESCE(sum(discount_total), 0) AS discounts,
            COALESCE(sum(tax_total), 0) AS tax, COALESCE(sum(total), 0) AS net, COALESCE(sum(cash_applied), 0) AS cash
       FROM sales.sales WHERE tenant_id = $1 AND shift_id = $2 AND status = 'completed'`,
    [tenantId, shiftId],
  );
  const tenders = await db.query<{ method: string; amount: number }>(
    `SELECT t.method, sum(t.applied) AS amount FROM sales.sale_tenders t JOIN sales.sales s ON s.id = t.sale_id
      WHERE s.tenant_id = $1 AND s.shift_id = $2 AND s.status = 'completed' AND t.applied > 0 GROUP BY t.method ORDER BY t.method`,
    [tenantId, shiftId],
  );
  const voids = await db.query<{ n: number; total: number }>(
    "SELECT count(*)::int AS n, COALESCE(sum(total), 0) AS total FROM sales.sales WHERE tenant_id = $1 AND shift_id = $2 AND status = 'voided'",
    [tenantId, shiftId],
  );
  const refunds = await db.query<{ n: number; total: number; cash: number }>(
    `SELECT count(*)::int AS n, COALESCE(sum(total), 0) AS total, COALESCE(sum(cash_amount), 0) AS cash
       FROM sales.refunds WHERE tenant_id = $1 AND shift_id = $2 AND status = 'completed'`,
    [tenantId, shiftId],
  );
  const cash = await db.query<{ kind: string; amount: number }>('SELECT kind, sum(amount) AS amount FROM sales.cash_movements WHERE tenant_id = $1 AND shift_id = $2 GROUP BY kind', [tenantId, shiftId]);
  const s = sales.rows[0]!;
  const moved = Object.fromEntries(cash.rows.map((r) => [r.kind, r.amount]));
  return {
    saleCount: s.n,
    gross: s.gross,
    discounts: s.discounts,
    tax: s.tax,
    net: s.net,
    cashSales: s.cash,
    byTender: Object.fromEntries(tenders.rows.map((r) => [r.method, r.amount])),
    refundCount: refunds.rows[0]!.n,
    refundTotal: refunds.rows[0]!.total,
    cashRefunds: refunds.rows[0]!.cash,
    voidCount: voids.rows[0]!.n,
    voidTotal: voids.rows[0]!.total,
    paidIn: moved.paid_in ?? 0,
    paidOut: moved.paid_out ?? 0,
  };
}

export async function closeShift(
  db: Queryable,
  tenantId: string,
  id: string,
  c: { countedCash: number; expectedCash: number; variance: number; zReport: unknown; closedBy: string },
): Promise<ShiftRow> {
  const { rows } = await db.query<ShiftRow>(
    `UPDATE sales.shifts SET status = 'closed', counted_cash = $3, expected_cash = $4, variance = $5, z_report = $6, closed_at = now(), closed_by = $7, version = version + 1
      WHERE tenant_id = $1 AND id = $2 RETURNING *`,
    [tenantId, id, c.countedCash, c.expectedCash, c.variance, JSON.stringify(c.zReport), c.closedBy],
  );
  return rows[0]!;
}
