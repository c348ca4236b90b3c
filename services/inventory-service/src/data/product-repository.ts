import { randomUUID } from 'node:crypto';
import type { Queryable } from '@pos/database';

export interface ProductRow {
  id: string;
  tenant_id: string;
  sku: string;
  name: string;
  description: string | null;
  category_id: string | null;
  price_amount: number;
  currency: string;
  tax_rate_bps: number;
  cost_amount: number | null;
  active: boolean;
  version: number;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
  barcodes: string[];
}

export interface ProductInput {
  sku: string;
  name: string;
  description?: string | null;
  categoryId?: string | null;
  price: { amount: number; currency: string };
  taxRateBps: number;
  cost?: { amount: number; currency: string } | null;
  active?: boolean;
  barcodes: string[];
}

const SELECT_PRODUCT = `
  SELECT p.*, COALESCE((SELECT array_agg(b.barcode ORDER BY b.barcode) FROM inventory.barcodes b WHERE b.product_id = p.id), '{}') AS barcodes
    FROM inventory.products p`;

export const productView = (p: ProductRow) => ({
  id: p.id,
  tenantId: p.tenant_id,
  sku: p.sku,
  name: p.name,
  description: p.description,
  categoryId: p.category_id,
  barcodes: p.barcodes,
  price: { amount: p.price_amount, currency: p.currency },
  taxRateBps: p.tax_rate_bps,
  cost: p.cost_amount === null ? null : { amount: p.cost_amount, currency: p.currency },
  active: p.active,
  version: p.version,
  createdAt: p.created_at.toISOString(),
  updatedAt: p.updated_at.toISOString(),
});
export type ProductView = ReturnType<typeof productView>;

export const productSnapshot = (p: ProductRow) => ({
  productId: p.id,
  sku: p.sku,
  name: p.name,
  barcodes: p.barcodes,
  price: { amount: p.price_amount, currency: p.currency },
  taxRateBps: p.tax_rate_bps,
  categoryId: p.category_id,
  active: p.active,
  version: p.version,
});

export async function insertProduct(db: Queryable, tenantId: string, p: ProductInput): Promise<ProductRow> {
  const id = randomUUID();
  await db.query(
    `INSERT INTO inventory.products (id, tenant_id, sku, name, description, category_id, price_amount, currency, tax_rate_bps, cost_amount, active)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [id, tenantId, p.sku, p.name, p.description ?? null, p.categoryId ?? null, p.price.amount, p.price.currency, p.taxRateBps, p.cost?.amount ?? null, p.active ?? true],
  );
  await replaceBarcodes(db, tenantId, id, p.barcodes);
  return (await findProduct(db, tenantId, id))!;
}

export async function replaceBarcodes(db: Queryable, tenantId: string, productId: string, barcodes: string[]): Promise<void> {
  await db.query('DELETE FROM inventory.barcodes WHERE tenant_id = $1 AND product_id = $2', [tenantId, productId]);
  if (barcodes.length) {
    await db.query('INSERT INTO inventory.barcodes (tenant_id, barcode, product_id) SELECT $1, unnest($2::text[]), $3', [tenantId, barcodes, productId]);
  }
}

export async function findProduct(db: Queryable, tenantId: string, id: string, forUpdate = false): Promise<ProductRow | undefined> {
  const { rows } = await db.query<ProductRow>(
    `${SELECT_PRODUCT} WHERE p.tenant_id = $1 AND p.id = $2 AND p.deleted_at IS NULL${forUpdate ? ' FOR UPDATE OF p' : ''}`,
    [tenantId, id],
  );
  return rows[0];
}

export async function findProductByBarcode(db: Queryable, tenantId: string, barcode: string): Promise<ProductRow | undefined> {
  const { rows } = await db.query<ProductRow>(
    `${SELECT_PRODUCT} JOIN inventory.barcodes lb ON lb.product_id = p.id AND lb.tenant_id = $1 AND lb.barcode = $2
      WHERE p.tenant_id = $1 AND p.deleted_at IS NULL`,
    [tenantId, barcode],
  );
  return rows[0];
}

export async function findProductBySku(db: Queryable, tenantId: string, sku: string): Promise<ProductRow | undefined> {
  const { rows } = await db.query<ProductRow>(`${SELECT_PRODUCT} WHERE p.tenant_id = $1 AND p.sku = $2 AND p.deleted_at IS NULL`, [tenantId, sku]);
  return rows[0];
}

/** `includeDeleted`: for records of what already happened (a sale made offline, a release, a return). */
export async function findProductsByIds(db: Queryable, tenantId: string, ids: string[], includeDeleted = false): Promise<Map<string, ProductRow>> {
  const { rows } = await db.query<ProductRow>(`${SELECT_PRODUCT} WHERE p.tenant_id = $1 AND p.id = ANY($2::uuid[]) AND (p.deleted_at IS NULL OR $3)`, [tenantId, ids, includeDeleted]);
  return new Map(rows.map((r) => [r.id, r]));
}

export interface ProductSearch {
  q?: string;
  sku?: string;
  categoryId?: string;
  ids?: string[];
  /** With `ids` only: deleted products too (they are inactive), for an offline sale made before the delete. */
  includeDeleted?: boolean;
  activeOnly?: boolean;
  limit: number;
  after?: { name: string; id: string };
}

/** Above this many matches a search walks the products in name order instead (see below). */
const TRIGRAM_MATCHES_MAX = 500;

/**
 * Keyset-paginated by (lower(name), id); `q` matches name or SKU, case- and accent-insensitive.
 * Row-level security keeps the planner from using a trigram index on products (LIKE is not
 * leakproof), so a `q` of three characters or more first asks inventory.matching_product_ids
 * (migration 1764230000000) for the ids of the matches, and the products are then read by id. A
 * shorter `q`, or one with more than TRIGRAM_MATCHES_MAX matches, is filtered while walking the
 * products in name order, which fills a page quickly precisely because so many match.
 */
export async function searchProducts(db: Queryable, tenantId: string, s: ProductSearch): Promise<ProductRow[]> {
  let q = s.q ?? null;
  let matched: string[] | null = null;
  if (q !== null && q.length >= 3) {
    const { rows } = await db.query<{ ids: string[] | null }>('SELECT inventory.matching_product_ids(inventory.search_pattern($1), $2) AS ids', [q, TRIGRAM_MATCHES_MAX]);
    matched = rows[0]!.ids;
    if (matched) q = null;
  }
  // `%` and `_` typed by a user are literal characters, not wildcards (inventory.search_pattern).
  const { rows } = await db.query<ProductRow>(
    `${SELECT_PRODUCT}
      WHERE p.tenant_id = $1 AND (p.deleted_at IS NULL OR ($10 AND $9::uuid[] IS NOT NULL))
        AND ($2::text IS NULL OR inventory.search_text(p.name || ' ' || p.sku) LIKE inventory.search_pattern($2))
        AND ($3::text IS NULL OR p.sku = $3)
        AND ($4::uuid IS NULL OR p.category_id = $4)
        AND (NOT $5 OR p.active)
        AND ($6::text IS NULL OR (lower(p.name), p.id) > ($6, $7::uuid))
        AND ($9::uuid[] IS NULL OR p.id = ANY($9))
        AND ($11::uuid[] IS NULL OR p.id = ANY($11))
      ORDER BY lower(p.name), p.id
      LIMIT $8`,
    [tenantId, q, s.sku ?? null, s.categoryId ?? null, s.activeOnly ?? false, s.after?.name ?? null, s.after?.id ?? null, s.limit, s.ids ?? null, s.includeDeleted ?? false, matched],
  );
  return rows;
}

const COLUMNS: Record<string, string> = {
  sku: 'sku',
  name: 'name',
  description: 'description',
  categoryId: 'category_id',
  taxRateBps: 'tax_rate_bps',
  active: 'active',
};

export async function updateProduct(
  db: Queryable,
  tenantId: string,
  id: string,
  version: number,
  changes: Partial<Omit<ProductInput, 'barcodes'>>,
): Promise<boolean> {
  const sets: string[] = [];
  const values: unknown[] = [tenantId, id, version];
  const set = (column: string, value: unknown) => {
    values.push(value);
    sets.push(`${column} = $${values.length}`);
  };
  for (const [field, column] of Object.entries(COLUMNS)) {
    const value = (changes as Record<string, unknown>)[field];
    if (value !== undefined) set(column, value);
  }
  if (changes.price) {
    set('price_amount', changes.price.amount);
    set('currency', changes.price.currency);
  }
  if (changes.cost !== undefined) set('cost_amount', changes.cost?.amount ?? null);
  const { rowCount } = await db.query(
    `UPDATE inventory.products SET ${[...sets, 'version = version + 1', 'updated_at = now()'].join(', ')}
      WHERE tenant_id = $1 AND id = $2 AND version = $3 AND deleted_at IS NULL`,
    values,
  );
  return rowCount === 1;
}

export async function softDeleteProduct(db: Queryable, tenantId: string, id: string): Promise<void> {
  await db.query('DELETE FROM inventory.barcodes WHERE tenant_id = $1 AND product_id = $2', [tenantId, id]);
  await db.query(
    'UPDATE inventory.products SET deleted_at = now(), active = false, version = version + 1, updated_at = now() WHERE tenant_id = $1 AND id = $2',
    [tenantId, id],
  );
}

/** Barcodes among `barcodes` already used by another live product: barcode -> product sku. */
export async function barcodeOwners(db: Queryable, tenantId: string, barcodes: string[]): Promise<Map<string, { productId: string; sku: string }>> {
  if (!barcodes.length) return new Map();
  const { rows } = await db.query<{ barcode: string; product_id: string; sku: string }>(
    `SELECT b.barcode, b.product_id, p.sku FROM inventory.barcodes b JOIN inventory.products p ON p.id = b.product_id
      WHERE b.tenant_id = $1 AND b.barcode = ANY($2::text[])`,
    [tenantId, barcodes],
  );
  return new Map(rows.map((r) => [r.barcode, { productId: r.product_id, sku: r.sku }]));
}

export async function categoryExists(db: Queryable, tenantId: string, id: string): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM inventory.categories WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL', [tenantId, id]);
  return rowCount === 1;
}
