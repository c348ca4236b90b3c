import type { Queryable } from '@pos/database';

export interface StoreRow {
  id: string;
  tenant_id: string;
  name: string;
  currency: string;
  allow_negative_stock: boolean;
  active: boolean;
  source_version: number;
}

export interface StoreSnapshotInput {
  storeId: string;
  name: string;
  currency: string;
  allowNegativeStock: boolean;
  active: boolean;
  version: number;
}

/** Keeps the newest version of a store seen in events or fetched from auth-service. */
export async function upsertStore(db: Queryable, tenantId: string, s: StoreSnapshotInput): Promise<void> {
  await db.query(
    `INSERT INTO inventory.stores (id, tenant_id, name, currency, allow_negative_stock, active, source_version)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, currency = EXCLUDED.currency,
       allow_negative_stock = EXCLUDED.allow_negative_stock, active = EXCLUDED.active,
       source_version = EXCLUDED.source_version, updated_at = now()
     WHERE inventory.stores.source_version < EXCLUDED.source_version`,
    [s.storeId, tenantId, s.name, s.currency, s.allowNegativeStock, s.active, s.version],
  );
}

export async function findStore(db: Queryable, tenantId: string, id: string): Promise<StoreRow | undefined> {
  const { rows } = await db.query<StoreRow>('SELECT * FROM inventory.stores WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
  return rows[0];
}
