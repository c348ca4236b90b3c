import type { Queryable } from '@pos/database';

export interface LevelRow {
  id: string;
  tenant_id: string;
  store_id: string;
  product_id: string;
  on_hand: number;
  reorder_point: number;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export interface MovementRow {
  id: string;
  level_id: string;
  store_id: string;
  product_id: string;
  kind: string;
  quantity: number;
  on_hand_after: number;
  reason: string | null;
  actor_id: string;
  reference_type: string | null;
  reference_id: string | null;
  created_at: Date;
}

export const levelView = (l: LevelRow) => ({
  id: l.id,
  storeId: l.store_id,
  productId: l.product_id,
  onHand: l.on_hand,
  reorderPoint: l.reorder_point,
  low: l.reorder_point > 0 && l.on_hand <= l.reorder_point,
  version: l.version,
  updatedAt: l.updated_at.toISOString(),
});

export const movementView = (m: MovementRow) => ({
  id: m.id,
  levelId: m.level_id,
  storeId: m.store_id,
  productId: m.product_id,
  kind: m.kind,
  quantity: m.quantity,
  onHandAfter: m.on_hand_after,
  reason: m.reason,
  actorId: m.actor_id,
  reference: m.reference_type ? { type: m.reference_type, id: m.reference_id } : null,
  createdAt: m.created_at.toISOString(),
});

/**
 * Creates missing levels and locks all of them, always in product-id order so that concurrent
 * writers touching overlapping products queue instead of deadlocking.
 */
export async function lockLevels(db: Queryable, tenantId: string, storeId: string, productIds: string[]): Promise<Map<string, LevelRow>> {
  const ids = [...new Set(productIds)].sort();
  await db.query(
    `INSERT INTO inventory.stock_levels (id, tenant_id, store_id, product_id)
     SELECT gen_random_uuid(), $1, $2, pid FROM unnest($3::uuid[]) AS pid
     ON CONFLICT (tenant_id, store_id, product_id) DO NOTHING`,
    [tenantId, storeId, ids],
  );
  const { rows } = await db.query<LevelRow>(
    `SELECT * FROM inventory.stock_levels WHERE tenant_id = $1 AND store_id = $2 AND product_id = ANY($3::uuid[])
      ORDER BY product_id FOR UPDATE`,
    [tenantId, storeId, ids],
  );
  return new Map(rows.map((r) => [r.product_id, r]));
}

export interface MovementInsert {
  levelId: string;
  productId: string;
  quantity: number;
  onHandAfter: number;
}

/** Appends the movements and sets each level's on-hand, in two statements whatever the line count. */
export async function applyMovements(
  db: Queryable,
  tenantId: string,
  storeId: string,
  kind: string,
  moves: MovementInsert[],
  meta: { actorId: string; reason?: string | null; reference?: { type: string; id: string } | null },
): Promise<MovementRow[]> {
  if (!moves.length) return [];
  const { rows } = await db.query<MovementRow>(
    `INSERT INTO inventory.stock_movements (id, tenant_id, level_id, store_id, product_id, kind, quantity, on_hand_after, reason, actor_id, reference_type, reference_id)
     SELECT gen_random_uuid(), $1, m.level_id, $2, m.product_id, $3, m.quantity, m.after, $4, $5, $6, $7
       FROM unnest($8::uuid[], $9::uuid[], $10::int[], $11::int[]) AS m(level_id, product_id, quantity, after)
     RETURNING *`,
    [
      tenantId,
      storeId,
      kind,
      meta.reason ?? null,
      meta.actorId,
      meta.reference?.type ?? null,
      meta.reference?.id ?? null,
      moves.map((m) => m.levelId),
      moves.map((m) => m.productId),
      moves.map((m) => m.quantity),
      moves.map((m) => m.onHandAfter),
    ],
  );
  await db.query(
    `UPDATE inventory.stock_levels l SET on_hand = m.after, version = l.version + 1, updated_at = now()
       FROM unnest($2::uuid[], $3::int[]) AS m(level_id, after)
      WHERE l.tenant_id = $1 AND l.id = m.level_id`,
    [tenantId, moves.map((m) => m.levelId), moves.map((m) => m.onHandAfter)],
  );
  return rows;
}

export async function findLevel(db: Queryable, tenantId: string, id: string, forUpdate = false): Promise<LevelRow | undefined> {
  const { rows } = await db.query<LevelRow>(`SELECT * FROM inventory.stock_levels WHERE tenant_id = $1 AND id = $2${forUpdate ? ' FOR UPDATE' : ''}`, [tenantId, id]);
  return rows[0];
}

export async function listLevels(
  db: Queryable,
  tenantId: string,
  q: { storeIds?: string[]; productId?: string; lowOnly?: boolean; limit: number; after?: { createdAt: string; id: string } },
): Promise<LevelRow[]> {
  const { rows } = await db.query<LevelRow>(
    `SELECT * FROM inventory.stock_levels
      WHERE tenant_id = $1
        AND ($2::uuid[] IS NULL OR store_id = ANY($2))
        AND ($3::uuid IS NULL OR product_id = $3)
        AND (NOT $4 OR (reorder_point > 0 AND on_hand <= reorder_point))
        AND ($5::timestamptz IS NULL OR (created_at, id) > ($5::timestamptz, $6::uuid))
      ORDER BY created_at, id LIMIT $7`,
    [tenantId, q.storeIds ?? null, q.productId ?? null, q.lowOnly ?? false, q.after?.createdAt ?? null, q.after?.id ?? null, q.limit],
  );
  return rows;
}

export async function listMovements(db: Queryable, tenantId: string, levelId: string, limit: number, after?: { createdAt: string; id: string }): Promise<MovementRow[]> {
  const { rows } = await db.query<MovementRow>(
    `SELECT * FROM inventory.stock_movements
      WHERE tenant_id = $1 AND level_id = $2
        AND ($3::timestamptz IS NULL OR (created_at, id) > ($3::timestamptz, $4::uuid))
      ORDER BY created_at, id LIMIT $5`,
    [tenantId, levelId, after?.createdAt ?? null, after?.id ?? null, limit],
  );
  return rows;
}

export async function setReorderPoint(db: Queryable, tenantId: string, id: string, reorderPoint: number): Promise<void> {
  await db.query('UPDATE inventory.stock_levels SET reorder_point = $3, version = version + 1, updated_at = now() WHERE tenant_id = $1 AND id = $2', [tenantId, id, reorderPoint]);
}
