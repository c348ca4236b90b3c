import { randomUUID } from 'node:crypto';
import type { Queryable } from '@pos/database';
import type { StoreRow } from './rows';

export interface NewStore {
  name: string;
  currency: string;
  timezone: string;
  taxInclusive: boolean;
  allowNegativeStock: boolean;
  address?: Record<string, unknown> | null;
}

export async function insertStore(db: Queryable, tenantId: string, s: NewStore): Promise<StoreRow> {
  const { rows } = await db.query<StoreRow>(
    `INSERT INTO auth.stores (id, tenant_id, name, currency, timezone, tax_inclusive, allow_negative_stock, address)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
    [randomUUID(), tenantId, s.name, s.currency, s.timezone, s.taxInclusive, s.allowNegativeStock, s.address ?? null],
  );
  return rows[0]!;
}

export async function findStore(db: Queryable, tenantId: string, id: string): Promise<StoreRow | undefined> {
  const { rows } = await db.query<StoreRow>('SELECT * FROM auth.stores WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
  return rows[0];
}

export async function listStores(
  db: Queryable,
  tenantId: string,
  opts: { limit: number; after?: { createdAt: string; id: string }; onlyIds?: string[]; includeInactive?: boolean },
): Promise<StoreRow[]> {
  const { rows } = await db.query<StoreRow>(
    `SELECT * FROM auth.stores
      WHERE tenant_id = $1
        AND ($2::timestamptz IS NULL OR (created_at, id) > ($2::timestamptz, $3::uuid))
        AND ($4::uuid[] IS NULL OR id = ANY($4))
        AND ($5 OR active)
      ORDER BY created_at, id LIMIT $6`,
    [tenantId, opts.after?.createdAt ?? null, opts.after?.id ?? null, opts.onlyIds ?? null, opts.includeInactive ?? false, opts.limit],
  );
  return rows;
}

/** Ids from the list that are active stores of the tenant. */
export async function existingStoreIds(db: Queryable, tenantId: string, ids: string[]): Promise<Set<string>> {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM auth.stores WHERE tenant_id = $1 AND id = ANY($2::uuid[]) AND active', [tenantId, ids]);
  return new Set(rows.map((r) => r.id));
}

const STORE_COLUMNS: Record<string, string> = {
  name: 'name',
  currency: 'currency',
  timezone: 'timezone',
  taxInclusive: 'tax_inclusive',
  allowNegativeStock: 'allow_negative_stock',
  address: 'address',
  active: 'active',
};

/** Applies the changes if `version` is still current; returns undefined on a stale version. */
export async function updateStore(db: Queryable, tenantId: string, id: string, version: number, changes: Record<string, unknown>): Promise<StoreRow | undefined> {
  const sets: string[] = [];
  const values: unknown[] = [tenantId, id, version];
  for (const [field, value] of Object.entries(changes)) {
    const column = STORE_COLUMNS[field];
    if (!column || value === undefined) continue;
    values.push(value);
    sets.push(`${column} = $${values.length}`);
  }
  const { rows } = await db.query<StoreRow>(
    `UPDATE auth.stores SET ${[...sets, 'version = version + 1', 'updated_at = now()'].join(', ')}
      WHERE tenant_id = $1 AND id = $2 AND version = $3 RETURNING *`,
    values,
  );
  return rows[0];
}
