import { createPool, withTenant } from '@pos/database';
import { upsertStore, type StoreSnapshotInput } from '@pos/stores';
import { findProductBySku, insertProduct } from './data/product-repository';
import { SCHEMA, recordMovements } from './stock-ledger';

interface SeedContext {
  tenantId?: string;
  stores?: StoreSnapshotInput[];
  created: boolean;
}

/** A small demo catalog (EAN-13 barcodes) with stock in every demo store, so a register can sell right away. */
const DEMO_PRODUCTS: Array<{ sku: string; name: string; barcode: string; price: number; taxRateBps: number; stock: number; reorderPoint?: number }> = [
  { sku: 'COF-ESP', name: 'Espresso beans 250 g', barcode: '4006381333931', price: 899, taxRateBps: 825, stock: 40, reorderPoint: 10 },
  { sku: 'COF-DEC', name: 'Decaf beans 250 g', barcode: '4006381333948', price: 949, taxRateBps: 825, stock: 12, reorderPoint: 5 },
  { sku: 'TEA-GRN', name: 'Green tea, 20 bags', barcode: '5012345678900', price: 450, taxRateBps: 825, stock: 30 },
  { sku: 'MUG-WHT', name: 'Mug, white', barcode: '5901234123457', price: 1200, taxRateBps: 825, stock: 15, reorderPoint: 4 },
  { sku: 'CRM-BRU', name: 'Crème brûlée', barcode: '8712345678906', price: 550, taxRateBps: 0, stock: 8, reorderPoint: 3 },
  { sku: 'CRS-BUT', name: 'Butter croissant', barcode: '0012345678905', price: 325, taxRateBps: 0, stock: 24 },
  { sku: 'WAT-500', name: 'Still water 500 ml', barcode: '0036000291452', price: 150, taxRateBps: 825, stock: 100, reorderPoint: 20 },
  { sku: 'CHO-DRK', name: 'Dark chocolate 70%', barcode: '7622210449283', price: 375, taxRateBps: 825, stock: 3, reorderPoint: 5 },
];

export async function seed(ctx: SeedContext, databaseUrl: string): Promise<SeedContext> {
  const tenantId = ctx.tenantId;
  if (!tenantId || !ctx.stores?.length) return ctx;
  const pool = createPool({ connectionString: databaseUrl, max: 2 });
  try {
    await withTenant(pool, tenantId, async (db) => {
      for (const store of ctx.stores!) await upsertStore(db, SCHEMA, tenantId, store);
      for (const p of DEMO_PRODUCTS) {
        if (await findProductBySku(db, tenantId, p.sku)) continue;
        const product = await insertProduct(db, tenantId, { sku: p.sku, name: p.name, barcodes: [p.barcode], price: { amount: p.price, currency: 'USD' }, taxRateBps: p.taxRateBps });
        for (const store of ctx.stores!) {
          await recordMovements(db, { tenantId, storeId: store.storeId, kind: 'receive', lines: [{ productId: product.id, quantity: p.stock }], allowNegative: true, actorId: 'seed', reason: 'demo stock' });
          if (p.reorderPoint) await db.query('UPDATE inventory.stock_levels SET reorder_point = $3 WHERE store_id = $1 AND product_id = $2', [store.storeId, product.id, p.reorderPoint]);
        }
      }
    });
    return ctx;
  } finally {
    await pool.end();
  }
}
