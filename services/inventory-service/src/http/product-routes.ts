import express from 'express';
import { EVENTS, z } from '@pos/types';
import { decodeCursor, pageOf, PG, pgCode, pgConstraint, type Queryable, withTenant } from '@pos/database';
import { writeEvent } from '@pos/events';
import { unsafeTextPaths, type RouteTable } from '@pos/http';
import { ProblemError, badRequest, containsCardNumber, conflict, forbidden, notFound, versionConflict } from '@pos/utils';
import type { InventoryDeps } from '../deps';
import { SCHEMA } from '../stock-ledger';
import {
  barcodeOwners,
  categoryExists,
  findProduct,
  findProductByBarcode,
  findProductBySku,
  insertProduct,
  productSnapshot,
  productView,
  replaceBarcodes,
  searchProducts,
  softDeleteProduct,
  updateProduct,
} from '../data/product-repository';
import { currentBarcodesBySku, existingCategoryIds, upsertImportedProducts } from '../data/import-repository';
import { parseImport, type RowError } from '../domain/import-rows';
import { CreateProductBody, IdParams, LookupQuery, ProductList, ProductListQuery, ProductSchema, UpdateProductBody } from './schemas';

const tags = ['products'];
const READ = ['owner', 'manager', 'cashier', 'service'] as const;
const WRITE = ['owner', 'manager'] as const;
export const IMPORT_PATH = '/api/v1/products/import';
/** Fields that hold codes, not free text: a barcode may pass the Luhn check, so the card-data guard skips them. */
export const CODE_FIELDS = ['sku', 'barcodes', 'barcode'] as const;

/** Unique-index violations as the 409 a client can act on. */
function catalogConflict(err: unknown): never {
  if (pgCode(err) === PG.uniqueViolation) {
    const constraint = pgConstraint(err);
    if (constraint === 'products_sku_unique') throw conflict('Another product already has this SKU', 'sku_taken');
    if (constraint === 'barcodes_pkey') throw conflict('A barcode is already on another product', 'barcode_taken');
  }
  throw err;
}

async function assertBarcodesFree(db: Queryable, tenantId: string, barcodes: string[], productId?: string): Promise<void> {
  const owners = await barcodeOwners(db, tenantId, barcodes);
  const errors = barcodes.flatMap((b, i) => {
    const owner = owners.get(b);
    return owner && owner.productId !== productId ? [{ path: `barcodes.${i}`, message: `is already on product ${owner.sku}` }] : [];
  });
  if (errors.length) throw new ProblemError(409, 'barcode_taken', 'Conflict', 'A barcode is already on another product', errors);
}

async function assertCategory(db: Queryable, tenantId: string, categoryId: string | null | undefined): Promise<void> {
  if (categoryId && !(await categoryExists(db, tenantId, categoryId))) {
    throw badRequest('The category does not exist', [{ path: 'categoryId', message: 'is not a category of this tenant' }]);
  }
}

export function productRoutes(table: RouteTable, deps: InventoryDeps): void {
  const { pool, cache, config } = deps;

  table.add({
    method: 'get',
    path: '/api/v1/products/lookup',
    summary: 'Find a product by barcode or SKU (the register hot path, cached)',
    tags,
    roles: READ,
    query: LookupQuery,
    responses: { 200: { description: 'The product', schema: ProductSchema }, 404: { description: 'No product with that code' } },
    handler: async ({ query, auth }) => {
      const kind = query.barcode ? 'barcode' : 'sku';
      const code = (query.barcode ?? query.sku)!;
      const product = await cache.get(auth.tenantId, kind, code, async () => {
        const row = await withTenant(pool, auth.tenantId, (db) => (kind === 'barcode' ? findProductByBarcode(db, auth.tenantId, code) : findProductBySku(db, auth.tenantId, code)));
        return row && productView(row);
      });
      if (!product) throw notFound('Product');
      return product;
    },
  });

  table.add({
    method: 'get',
    path: '/api/v1/products',
    summary: 'Search products by name or SKU (case- and accent-insensitive, prefix or substring), category, active',
    tags,
    roles: READ,
    query: ProductListQuery,
    responses: { 200: { description: 'A page of products', schema: ProductList } },
    handler: async ({ query, auth }) => {
      if (query.includeDeleted && auth.role !== 'service') throw forbidden('Only transaction-service may read deleted products', 'include_deleted_forbidden');
      const after = decodeCursor(query.cursor, ['name', 'id'] as const);
      const rows = await withTenant(pool, auth.tenantId, (db) =>
        searchProducts(db, auth.tenantId, { q: query.q, sku: query.sku, categoryId: query.categoryId, ids: query.ids, includeDeleted: query.includeDeleted, activeOnly: query.active, limit: query.limit + 1, after }),
      );
      const { page, nextCursor } = pageOf(rows, query.limit, (last) => ({ name: last.name.toLowerCase(), id: last.id }));
      return { data: page.map(productView), nextCursor };
    },
  });

  table.add({
    method: 'get',
    path: '/api/v1/products/:id',
    summary: 'Get a product',
    tags,
    roles: READ,
    params: IdParams,
    responses: { 200: { description: 'The product', schema: ProductSchema }, 404: { description: 'No such product' } },
    handler: async ({ params, auth }) => {
      const row = await withTenant(pool, auth.tenantId, (db) => findProduct(db, auth.tenantId, params.id));
      if (!row) throw notFound('Product');
      return productView(row);
    },
  });

  table.add({
    method: 'post',
    path: '/api/v1/products',
    summary: 'Create a product',
    tags,
    roles: WRITE,
    body: CreateProductBody,
    responses: { 201: { description: 'The product', schema: ProductSchema }, 409: { description: 'SKU or barcode taken' } },
    handler: async ({ body, auth }) => {
      const row = await withTenant(pool, auth.tenantId, async (db) => {
        await assertCategory(db, auth.tenantId, body.categoryId);
        await assertBarcodesFree(db, auth.tenantId, body.barcodes);
        const created = await insertProduct(db, auth.tenantId, body);
        await writeEvent(db, { schema: SCHEMA, type: EVENTS.productCreated, tenantId: auth.tenantId, data: productSnapshot(created) });
        return created;
      }).catch(catalogConflict);
      await cache.invalidate(auth.tenantId, [row]);
      return productView(row);
    },
  });

  table.add({
    method: 'patch',
    path: '/api/v1/products/:id',
    summary: 'Change a product (version checked; a price change is visible at the next lookup)',
    tags,
    roles: WRITE,
    params: IdParams,
    body: UpdateProductBody,
    responses: { 200: { description: 'The product', schema: ProductSchema }, 404: { description: 'No such product' }, 409: { description: 'Stale version, SKU or barcode taken' } },
    handler: async ({ params, body, auth }) => {
      const { version, barcodes, ...changes } = body;
      const { before, after } = await withTenant(pool, auth.tenantId, async (db) => {
        const current = await findProduct(db, auth.tenantId, params.id, true);
        if (!current) throw notFound('Product');
        if (current.version !== version) throw versionConflict(current.version);
        await assertCategory(db, auth.tenantId, changes.categoryId);
        if (barcodes) {
          await assertBarcodesFree(db, auth.tenantId, barcodes, current.id);
          await replaceBarcodes(db, auth.tenantId, current.id, barcodes);
        }
        const currency = changes.price?.currency ?? current.currency;
        if (changes.cost && changes.cost.currency !== currency) throw badRequest('The cost must be in the price currency', [{ path: 'cost.currency', message: 'must be in the price currency' }]);
        if (changes.price && !changes.cost && current.cost_amount !== null && changes.price.currency !== current.currency) {
          throw badRequest('Changing the price currency needs the cost in that currency too', [{ path: 'cost', message: 'is required when the currency changes' }]);
        }
        if (!(await updateProduct(db, auth.tenantId, current.id, version, changes))) throw versionConflict(current.version);
        const updated = (await findProduct(db, auth.tenantId, current.id))!;
        await writeEvent(db, { schema: SCHEMA, type: EVENTS.productUpdated, tenantId: auth.tenantId, data: productSnapshot(updated) });
        return { before: current, after: updated };
      }).catch(catalogConflict);
      await cache.invalidate(auth.tenantId, [before, after]);
      return productView(after);
    },
  });

  table.add({
    method: 'delete',
    path: '/api/v1/products/:id',
    summary: 'Delete a product (soft: kept for history; its SKU and barcodes become free)',
    tags,
    roles: WRITE,
    params: IdParams,
    responses: { 204: { description: 'Deleted' }, 404: { description: 'No such product' } },
    handler: async ({ params, auth, res }) => {
      const row = await withTenant(pool, auth.tenantId, async (db) => {
        const current = await findProduct(db, auth.tenantId, params.id, true);
        if (!current) throw notFound('Product');
        await softDeleteProduct(db, auth.tenantId, current.id);
        await writeEvent(db, { schema: SCHEMA, type: EVENTS.productDeleted, tenantId: auth.tenantId, data: { productId: current.id, sku: current.sku } });
        return current;
      });
      await cache.invalidate(auth.tenantId, [row]);
      res.status(204).end();
    },
  });

  const importParsers = [express.text({ type: ['text/csv', 'text/plain'], limit: '10mb' }), express.json({ limit: '10mb' })];
  table.add({
    method: 'post',
    path: IMPORT_PATH,
    summary: 'Import up to 10,000 products from CSV or a JSON array: all or nothing, upsert by SKU',
    tags,
    roles: WRITE,
    before: importParsers,
    responses: {
      200: { description: 'Imported', schema: z.object({ total: z.number().int(), created: z.number().int(), updated: z.number().int() }) },
      400: { description: 'Nothing imported; `errors` lists every bad row (line, field, reason)' },
    },
    handler: async ({ req, auth }) => {
      const parsed = parseImport(req.body, req.headers['content-type'] ?? '', config.IMPORT_MAX_ROWS);
      const refuse = (errors: RowError[]) => {
        errors.sort((a, b) => a.line - b.line);
        return new ProblemError(400, 'import_rejected', 'Bad Request', `Nothing was imported: ${errors.length} problem(s) in the file`, errors.map((e) => ({ path: `row ${e.line}.${e.field}`, message: e.reason, line: e.line, field: e.field })));
      };
      // The app-wide guards do not see this body (it has its own parsers): check each row's text here.
      for (const r of parsed.rows) {
        for (const field of ['sku', 'name', 'description'] as const) {
          const value = r[field];
          if (value && unsafeTextPaths(value).length) parsed.errors.push({ line: r.line, field, reason: 'contains a NUL character or an unpaired surrogate' });
          else if (value && field !== 'sku' && containsCardNumber(value)) parsed.errors.push({ line: r.line, field, reason: 'looks like card data and was refused' });
        }
      }
      if (parsed.errors.length) throw refuse(parsed.errors);
      const rows = parsed.rows;
      const { result, stale } = await withTenant(pool, auth.tenantId, async (db) => {
        const errors: RowError[] = [];
        const categories = await existingCategoryIds(db, auth.tenantId, [...new Set(rows.flatMap((r) => (r.categoryId ? [r.categoryId] : [])))]);
        const owners = await barcodeOwners(db, auth.tenantId, rows.flatMap((r) => r.barcodes));
        for (const r of rows) {
          if (r.categoryId && !categories.has(r.categoryId)) errors.push({ line: r.line, field: 'categoryId', reason: 'is not a category of this tenant' });
          for (const b of r.barcodes) {
            const owner = owners.get(b);
            if (owner && owner.sku !== r.sku) errors.push({ line: r.line, field: 'barcodes', reason: `barcode ${b} is already on product ${owner.sku}` });
          }
        }
        if (errors.length) throw refuse(errors);
        const previous = await currentBarcodesBySku(db, auth.tenantId, rows.map((r) => r.sku));
        const imported = await upsertImportedProducts(db, auth.tenantId, rows);
        const bySku = new Map(rows.map((r) => [r.sku, r]));
        for (const p of imported) {
          const r = bySku.get(p.sku)!;
          await writeEvent(db, {
            schema: SCHEMA,
            type: p.inserted ? EVENTS.productCreated : EVENTS.productUpdated,
            tenantId: auth.tenantId,
            data: { productId: p.id, sku: r.sku, name: r.name, barcodes: r.barcodes, price: r.price, taxRateBps: r.taxRateBps, categoryId: r.categoryId, active: r.active, version: p.version },
          });
        }
        return { result: imported, stale: previous };
      });
      await cache.invalidate(auth.tenantId, [...stale, ...rows]);
      const created = result.filter((r) => r.inserted).length;
      return { total: result.length, created, updated: result.length - created };
    },
  });
}
