import type { Queryable } from '@pos/database';

export interface ReservationLine {
  productId: string;
  quantity: number;
  onHandAfter?: number;
}

export interface ReservationRow {
  sale_id: string;
  store_id: string | null;
  status: 'reserved' | 'released';
  lines: ReservationLine[];
  created_at: Date;
  released_at: Date | null;
}

export const reservationView = (r: ReservationRow) => ({
  saleId: r.sale_id,
  storeId: r.store_id,
  status: r.status,
  lines: r.lines,
  createdAt: r.created_at.toISOString(),
  releasedAt: r.released_at?.toISOString() ?? null,
});

/** Claims the sale id; concurrent requests for one sale queue on the primary key here. */
export async function claimReservation(db: Queryable, tenantId: string, saleId: string, storeId: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO inventory.reservations (tenant_id, sale_id, store_id, status) VALUES ($1, $2, $3, 'reserved')
     ON CONFLICT (tenant_id, sale_id) DO NOTHING`,
    [tenantId, saleId, storeId],
  );
  return rowCount === 1;
}

/** A release that finds nothing leaves a tombstone, so a late reserve for that sale is refused. */
export async function claimTombstone(db: Queryable, tenantId: string, saleId: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO inventory.reservations (tenant_id, sale_id, status, released_at) VALUES ($1, $2, 'released', now())
     ON CONFLICT (tenant_id, sale_id) DO NOTHING`,
    [tenantId, saleId],
  );
  return rowCount === 1;
}

export async function findReservation(db: Queryable, tenantId: string, saleId: string, forUpdate = false): Promise<ReservationRow | undefined> {
  const { rows } = await db.query<ReservationRow>(
    `SELECT sale_id, store_id, status, lines, created_at, released_at FROM inventory.reservations WHERE tenant_id = $1 AND sale_id = $2${forUpdate ? ' FOR UPDATE' : ''}`,
    [tenantId, saleId],
  );
  return rows[0];
}

export async function setReservationLines(db: Queryable, tenantId: string, saleId: string, lines: ReservationLine[]): Promise<void> {
  await db.query('UPDATE inventory.reservations SET lines = $3 WHERE tenant_id = $1 AND sale_id = $2', [tenantId, saleId, JSON.stringify(lines)]);
}

export async function markReleased(db: Queryable, tenantId: string, saleId: string): Promise<void> {
  await db.query("UPDATE inventory.reservations SET status = 'released', released_at = now() WHERE tenant_id = $1 AND sale_id = $2", [tenantId, saleId]);
}

export async function insertTransfer(
  db: Queryable,
  t: { id: string; tenantId: string; fromStoreId: string; toStoreId: string; lines: unknown; note?: string; createdBy: string },
): Promise<void> {
  await db.query('INSERT INTO inventory.transfers (id, tenant_id, from_store_id, to_store_id, lines, note, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
    t.id,
    t.tenantId,
    t.fromStoreId,
    t.toStoreId,
    JSON.stringify(t.lines),
    t.note ?? null,
    t.createdBy,
  ]);
}
