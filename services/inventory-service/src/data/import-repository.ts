import type { Queryable } from '@pos/database';
import type { ImportRow } from '../domain/import-rows';

export interface ImportedProduct {
  id: string;
  sku: string;
  version: number;
  inserted: boolean;
}

/** Upserts by SKU in one statement and replaces the barcodes of every imported product. */
export async function upsertImportedProducts(db: Queryable, tenantId: string, rows: ImportRow[]): Promise<ImportedProduct[]> {
  const { rows: result } = await db.query<ImportedProduct>(
    `INSERT INTO inventory.products AS p (id, tenant_id, sku, name, description, category_id, price_amount, currency, tax_rate_bps, cost_amount, active)
     SELECT gen_random_uuid(), $1, r.sku, r.name, r.description, r.category_id, r.price, r.currency, r.tax, r.cost, r.active
       FROM unnest($2::text[], $3::text[], $4::text[], $5::uuid[], $6::bigint[], $7::text[], $8::int[], $9::bigint[], $10::boolean[])
         AS r(sku, name, description, category_id, price, currency, tax, cost, active)
     ON CONFLICT (tenant_id, sku) WHERE deleted_at IS NULL DO UPDATE SET
       name = EXCLUDED.name, description = EXCLUDED.description, category_id = EXCLUDED.category_id,
       price_amount = EXCLUDED.price_amount, currency = EXCLUDED.currency, tax_rate_bps = EXCLUDED.tax_rate_bps,
       cost_amount = EXCLUDED.cost_amount, active = EXCLUDED.active, version = p.version + 1, updated_at = now()
     RETURNING p.id, p.sku, p.version, (xmax = 0) AS inserted`,
    [
      tenantId,
      rows.map((r) => r.sku),
      rows.map((r) => r.name),
      rows.map((r) => r.description),
      rows.map((r) => r.categoryId),
      rows.map((r) => r.price.amount),
      rows.map((r) => r.price.currency),
      rows.map((r) => r.taxRateBps),
      rows.map((r) => r.cost?.amount ?? null),
      rows.map((r) => r.active),
    ],
  );
  const idBySku = new Map(result.map((r) => [r.sku, r.id]));
  await db.query('DELETE FROM inventory.barcodes WHERE tenant_id = $1 AND product_id = ANY($2::uuid[])', [tenantId, result.map((r) => r.id)]);
  const pairs = rows.flatMap((r) => r.barcodes.map((b) => [b, idBySku.get(r.sku)!] as const));
  if (pairs.length) {
    await db.query('INSERT INTO inventory.barcodes (tenant_id, barcode, product_id) SELECT $1, b, p FROM unnest($2::text[], $3::uuid[]) AS x(b, p)', [
      tenantId,
      pairs.map((p) => p[0]),
      pairs.map((p) => p[1]),
    ]);
  }
  return result;
}

/** Current barcodes of live products with these SKUs (to invalidate their cached lookups). */
export async function currentBarcodesBySku(db: Queryable, tenantId: string, skus: string[]): Promise<Array<{ sku: string; barcodes: string[] }>> {
  const { rows } = await db.query<{ sku: string; barcodes: string[] }>(
    `SELECT p.sku, COALESCE(array_agg(b.barcode) FILTER (WHERE b.barcode IS NOT NULL), '{}') AS barcodes
       FROM inventory.products p LEFT JOIN inventory.barcodes b ON b.product_id = p.id
      WHERE p.tenant_id = $1 AND p.sku = ANY($2::text[]) AND p.deleted_at IS NULL
      GROUP BY p.sku`,
    [tenantId, skus],
  );
  return rows;
}

export async function existingCategoryIds(db: Queryable, tenantId: string, ids: string[]): Promise<Set<string>> {
  if (!ids.length) return new Set();
  const { rows } = await db.query<{ id: string }>('SELECT id FROM inventory.categories WHERE tenant_id = $1 AND id = ANY($2::uuid[]) AND deleted_at IS NULL', [tenantId, ids]);
  return new Set(rows.map((r) => r.id));
}
