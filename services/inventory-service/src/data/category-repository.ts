import { randomUUID } from 'node:crypto';
import type { Queryable } from '@pos/database';

export interface CategoryRow {
  id: string;
  tenant_id: string;
  name: string;
  parent_id: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export const categoryView = (c: CategoryRow) => ({
  id: c.id,
  name: c.name,
  parentId: c.parent_id,
  version: c.version,
  createdAt: c.created_at.toISOString(),
  updatedAt: c.updated_at.toISOString(),
});

export async function insertCategory(db: Queryable, tenantId: string, c: { name: string; parentId?: string | null }): Promise<CategoryRow> {
  const { rows } = await db.query<CategoryRow>('INSERT INTO inventory.categories (id, tenant_id, name, parent_id) VALUES ($1, $2, $3, $4) RETURNING *', [
    randomUUID(),
    tenantId,
    c.name,
    c.parentId ?? null,
  ]);
  return rows[0]!;
}

export async function findCategory(db: Queryable, tenantId: string, id: string): Promise<CategoryRow | undefined> {
  const { rows } = await db.query<CategoryRow>('SELECT * FROM inventory.categories WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL', [tenantId, id]);
  return rows[0];
}

export async function listCategories(db: Queryable, tenantId: string, limit: number, after?: { createdAt: string; id: string }): Promise<CategoryRow[]> {
  const { rows } = await db.query<CategoryRow>(
    `SELECT * FROM inventory.categories WHERE tenant_id = $1 AND deleted_at IS NULL
        AND ($2::timestamptz IS NULL OR (created_at, id) > ($2::timestamptz, $3::uuid))
      ORDER BY created_at, id LIMIT $4`,
    [tenantId, after?.createdAt ?? null, after?.id ?? null, limit],
  );
  return rows;
}

export async function updateCategory(db: Queryable, tenantId: string, id: string, version: number, c: { name?: string; parentId?: string | null }): Promise<CategoryRow | undefined> {
  const { rows } = await db.query<CategoryRow>(
    `UPDATE inventory.categories SET name = COALESCE($4, name), parent_id = CASE WHEN $5 THEN $6::uuid ELSE parent_id END,
            version = version + 1, updated_at = now()
      WHERE tenant_id = $1 AND id = $2 AND version = $3 AND deleted_at IS NULL RETURNING *`,
    [tenantId, id, version, c.name ?? null, c.parentId !== undefined, c.parentId ?? null],
  );
  return rows[0];
}

/** Soft delete; products keep pointing at it for history but it no longer lists. */
export async function deleteCategory(db: Queryable, tenantId: string, id: string): Promise<boolean> {
  const { rowCount } = await db.query('UPDATE inventory.categories SET deleted_at = now() WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL', [tenantId, id]);
  return rowCount === 1;
}
