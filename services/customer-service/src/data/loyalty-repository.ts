import { randomUUID } from 'node:crypto';
import type { Queryable } from '@pos/database';

export type LedgerKind = 'earn' | 'reverse' | 'redeem' | 'redeem_refund' | 'adjust';

export interface LedgerRow {
  seq: number;
  id: string;
  tenant_id: string;
  customer_id: string;
  kind: LedgerKind;
  points: number;
  balance_after: number;
  sale_id: string | null;
  key: string | null;
  redemption_id: string | null;
  reference: string | null;
  note: string | null;
  actor_id: string;
  created_at: Date;
}

export const ledgerView = (e: LedgerRow) => ({
  id: e.id,
  kind: e.kind,
  points: e.points,
  balanceAfter: e.balance_after,
  saleId: e.sale_id,
  key: e.key,
  redemptionId: e.redemption_id,
  reference: e.reference,
  note: e.note,
  actorId: e.actor_id,
  createdAt: e.created_at.toISOString(),
});
export type LedgerView = ReturnType<typeof ledgerView>;

export interface NewEntry {
  tenantId: string;
  customerId: string;
  kind: LedgerKind;
  /** Signed. */
  points: number;
  /** The customer's balance before this entry, read under the customer row lock. */
  balanceBefore: number;
  saleId?: string | null;
  key?: string | null;
  redemptionId?: string | null;
  reference?: string | null;
  note?: string | null;
  actorId: string;
}

/**
 * Appends one ledger entry and moves the balance on the customer row in the caller's transaction.
 * The caller holds the customer row lock (`findCustomer(…, true)`), so entries of one customer are
 * serialised and the balance can never be overdrawn (the CHECKs would refuse it anyway).
 */
export async function appendEntry(db: Queryable, e: NewEntry): Promise<LedgerRow> {
  const balanceAfter = e.balanceBefore + e.points;
  if (balanceAfter < 0) throw new RangeError('a loyalty entry cannot take the balance below zero');
  const { rows } = await db.query<LedgerRow>(
    `INSERT INTO customers.loyalty_ledger (id, tenant_id, customer_id, kind, points, balance_after, sale_id, key, redemption_id, reference, note, actor_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING *`,
    [randomUUID(), e.tenantId, e.customerId, e.kind, e.points, balanceAfter, e.saleId ?? null, e.key ?? null, e.redemptionId ?? null, e.reference ?? null, e.note ?? null, e.actorId],
  );
  await db.query('UPDATE customers.customers SET loyalty_balance = $3 WHERE tenant_id = $1 AND id = $2', [e.tenantId, e.customerId, balanceAfter]);
  return rows[0]!;
}

export async function findEntryByKey(db: Queryable, tenantId: string, kind: LedgerKind, key: string): Promise<LedgerRow | undefined> {
  const { rows } = await db.query<LedgerRow>('SELECT * FROM customers.loyalty_ledger WHERE tenant_id = $1 AND kind = $2 AND key = $3', [tenantId, kind, key]);
  return rows[0];
}

/** Points already given back for a redemption (positive). */
export async function refundedPoints(db: Queryable, tenantId: string, redemptionId: string): Promise<number> {
  const { rows } = await db.query<{ sum: number }>(
    "SELECT coalesce(sum(points), 0)::bigint AS sum FROM customers.loyalty_ledger WHERE tenant_id = $1 AND redemption_id = $2 AND kind = 'redeem_refund'",
    [tenantId, redemptionId],
  );
  return Number(rows[0]?.sum ?? 0);
}

/** Newest first, keyset on seq. */
export async function listLedger(db: Queryable, tenantId: string, customerId: string, limit?: number, beforeSeq?: number): Promise<LedgerRow[]> {
  const { rows } = await db.query<LedgerRow>(
    `SELECT * FROM customers.loyalty_ledger WHERE tenant_id = $1 AND customer_id = $2 AND ($3::bigint IS NULL OR seq < $3)
      ORDER BY seq DESC LIMIT $4`,
    [tenantId, customerId, beforeSeq ?? null, limit ?? null],
  );
  return rows;
}

export async function addTombstone(db: Queryable, tenantId: string, key: string, customerId: string): Promise<void> {
  await db.query('INSERT INTO customers.loyalty_redemption_tombstones (tenant_id, key, customer_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [tenantId, key, customerId]);
}

export async function findTombstone(db: Queryable, tenantId: string, key: string): Promise<{ customer_id: string; created_at: Date } | undefined> {
  const { rows } = await db.query<{ customer_id: string; created_at: Date }>(
    'SELECT customer_id, created_at FROM customers.loyalty_redemption_tombstones WHERE tenant_id = $1 AND key = $2',
    [tenantId, key],
  );
  return rows[0];
}

export interface RuleRow {
  tenant_id: string;
  points_per_unit: number;
  version: number;
  updated_by: string;
  updated_at: Date;
}

export interface LoyaltyRule {
  pointsPerUnit: number;
  /** 0 while the tenant uses the service default. */
  version: number;
  source: 'default' | 'tenant';
  updatedAt: string | null;
}

export async function findRule(db: Queryable, tenantId: string, defaultPointsPerUnit: number): Promise<LoyaltyRule> {
  const { rows } = await db.query<RuleRow>('SELECT * FROM customers.loyalty_rules WHERE tenant_id = $1', [tenantId]);
  const row = rows[0];
  return row
    ? { pointsPerUnit: row.points_per_unit, version: row.version, source: 'tenant', updatedAt: row.updated_at.toISOString() }
    : { pointsPerUnit: defaultPointsPerUnit, version: 0, source: 'default', updatedAt: null };
}

/** Creates (version 0 -> 1) or updates the tenant's rule if `version` is current; false when stale. */
export async function saveRule(db: Queryable, tenantId: string, version: number, pointsPerUnit: number, actorId: string): Promise<boolean> {
  if (version === 0) {
    const { rowCount } = await db.query(
      'INSERT INTO customers.loyalty_rules (tenant_id, points_per_unit, updated_by) VALUES ($1, $2, $3) ON CONFLICT (tenant_id) DO NOTHING',
      [tenantId, pointsPerUnit, actorId],
    );
    return rowCount === 1;
  }
  const { rowCount } = await db.query(
    'UPDATE customers.loyalty_rules SET points_per_unit = $3, updated_by = $4, version = version + 1, updated_at = now() WHERE tenant_id = $1 AND version = $2',
    [tenantId, version, pointsPerUnit, actorId],
  );
  return rowCount === 1;
}
