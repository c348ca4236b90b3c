import { ListQuerySchema, MoneySchema, listResponse, z } from '@pos/types';

export const Uuid = z.string().uuid('must be a uuid');
const Name = z.string().trim().min(1, 'is required').max(200);
export const Sku = z.string().trim().min(1, 'is required').max(64).regex(/^[\x21-\x7E]+$/, 'must be visible ASCII without spaces');
export const Barcode = z.string().trim().regex(/^[0-9A-Za-z\-.]{1,64}$/, 'must be 1-64 letters, digits, dashes or dots');
const Quantity = z.number().int('must be a whole number').min(-1_000_000).max(1_000_000);
const PositiveQuantity = z.number().int('must be a whole number').min(1, 'must be at least 1').max(1_000_000);

export const ProductSchema = z
  .object({
    id: Uuid,
    tenantId: Uuid,
    sku: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    categoryId: Uuid.nullable(),
    barcodes: z.array(z.string()),
    price: MoneySchema,
    taxRateBps: z.number().int(),
    cost: MoneySchema.nullable(),
    active: z.boolean(),
    version: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Product');

const uniqueBarcodes = (list: string[]) => new Set(list).size === list.length;

export const CreateProductBody = z
  .object({
    sku: Sku,
    name: Name,
    description: z.string().max(2000).nullable().optional(),
    barcodes: z.array(Barcode).max(20).default([]).refine(uniqueBarcodes, 'must not repeat a barcode'),
    price: MoneySchema.refine((m) => m.amount >= 0, { message: 'must not be negative', path: ['amount'] }),
    taxRateBps: z.number().int().min(0).max(10_000, 'is in basis points: at most 10000 (100%)'),
    categoryId: Uuid.nullable().optional(),
    cost: MoneySchema.nullable().optional(),
    active: z.boolean().default(true),
  })
  .strict()
  .refine((p) => !p.cost || p.cost.currency === p.price.currency, { message: 'must be in the price currency', path: ['cost', 'currency'] })
  .openapi('CreateProductRequest');

export const UpdateProductBody = z
  .object({
    version: z.number().int().positive(),
    sku: Sku.optional(),
    name: Name.optional(),
    description: z.string().max(2000).nullable().optional(),
    barcodes: z.array(Barcode).max(20).refine(uniqueBarcodes, 'must not repeat a barcode').optional(),
    price: MoneySchema.refine((m) => m.amount >= 0, { message: 'must not be negative', path: ['amount'] }).optional(),
    taxRateBps: z.number().int().min(0).max(10_000).optional(),
    categoryId: Uuid.nullable().optional(),
    cost: MoneySchema.nullable().optional(),
    active: z.boolean().optional(),
  })
  .strict()
  .openapi('UpdateProductRequest');

export const ProductListQuery = ListQuerySchema.extend({
  q: z.string().trim().min(1).max(100).optional(),
  sku: z.string().max(64).optional(),
  categoryId: Uuid.optional(),
  active: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  /** Comma-separated product ids (at most 100): fetch a basket's products in one call. */
  ids: z
    .string()
    .max(3_800)
    .transform((v) => v.split(',').filter(Boolean))
    .pipe(z.array(Uuid).min(1).max(100))
    .optional(),
  /** transaction-service only, with `ids`: deleted products too (inactive), to book an offline sale made before the delete. */
  includeDeleted: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional()
    .openapi({ description: 'Service callers only, with `ids`: also deleted products (returned inactive), to book an offline sale made before the delete' }),
}).refine((q) => !q.includeDeleted || (q.ids && !q.q), { message: 'only together with ids, and not with q', path: ['includeDeleted'] });

export const LookupQuery = z
  .object({ barcode: Barcode.optional(), sku: Sku.optional() })
  .strict()
  .refine((q) => Boolean(q.barcode) !== Boolean(q.sku), { message: 'give exactly one of barcode or sku', path: ['barcode'] });

export const CategorySchema = z
  .object({ id: Uuid, name: z.string(), parentId: Uuid.nullable(), version: z.number().int(), createdAt: z.string(), updatedAt: z.string() })
  .openapi('Category');
export const CreateCategoryBody = z.object({ name: Name, parentId: Uuid.nullable().optional() }).strict();
export const UpdateCategoryBody = z.object({ version: z.number().int().positive(), name: Name.optional(), parentId: Uuid.nullable().optional() }).strict();

export const LevelSchema = z
  .object({
    id: Uuid,
    storeId: Uuid,
    productId: Uuid,
    onHand: z.number().int(),
    reorderPoint: z.number().int(),
    low: z.boolean(),
    version: z.number().int(),
    updatedAt: z.string(),
  })
  .openapi('StockLevel');

export const MovementSchema = z
  .object({
    id: Uuid,
    levelId: Uuid,
    storeId: Uuid,
    productId: Uuid,
    kind: z.string(),
    quantity: z.number().int(),
    onHandAfter: z.number().int(),
    reason: z.string().nullable(),
    actorId: z.string(),
    reference: z.object({ type: z.string(), id: z.string().nullable() }).nullable(),
    createdAt: z.string(),
  })
  .openapi('StockMovement');

export const InventoryQuery = ListQuerySchema.extend({
  storeId: Uuid.optional(),
  productId: Uuid.optional(),
  lowStock: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
});

export const PutLevelBody = z
  .object({
    version: z.number().int().positive(),
    reorderPoint: z.number().int().min(0).max(1_000_000).optional(),
    countedQuantity: z.number().int().min(0).max(10_000_000).optional(),
    note: z.string().max(500).optional(),
  })
  .strict()
  .refine((b) => b.reorderPoint !== undefined || b.countedQuantity !== undefined, { message: 'give reorderPoint and/or countedQuantity', path: ['reorderPoint'] })
  .openapi('UpdateStockLevelRequest');

export const ADJUSTMENT_REASONS = ['receive', 'damage', 'correction', 'return', 'theft', 'expired'] as const;
export const AdjustmentBody = z
  .object({
    storeId: Uuid,
    productId: Uuid,
    quantity: Quantity.refine((q) => q !== 0, 'must not be zero'),
    reason: z.enum(ADJUSTMENT_REASONS),
    note: z.string().max(500).optional(),
  })
  .strict()
  .openapi('StockAdjustmentRequest');

const StockLines = z.array(z.object({ productId: Uuid, quantity: PositiveQuantity }).strict()).min(1, 'needs at least one line').max(500);

export const TransferBody = z
  .object({ fromStoreId: Uuid, toStoreId: Uuid, lines: StockLines, note: z.string().max(500).optional() })
  .strict()
  .refine((t) => t.fromStoreId !== t.toStoreId, { message: 'must differ from fromStoreId', path: ['toStoreId'] })
  .openapi('StockTransferRequest');

export const ReservationBody = z
  .object({
    saleId: Uuid,
    storeId: Uuid,
    lines: StockLines,
    /**
     * Take the stock even below zero whatever the store's setting: for offline sales, whose goods
     * already left the store (POS-DESIGN §11). Only transaction-service (role `service`) may ask.
     */
    allowNegative: z.boolean().optional(),
  })
  .strict()
  .openapi('StockReservationRequest');
export const ReturnBody = z
  .object({ referenceId: z.string().min(1).max(100), storeId: Uuid, lines: StockLines, reason: z.string().max(200).optional() })
  .strict()
  .openapi('StockReturnRequest');

export const ReservationSchema = z
  .object({
    saleId: Uuid,
    storeId: Uuid,
    status: z.enum(['reserved', 'released']),
    lines: z.array(z.object({ productId: Uuid, quantity: z.number().int(), onHandAfter: z.number().int().optional() })),
    createdAt: z.string(),
    releasedAt: z.string().nullable(),
  })
  .openapi('StockReservation');

export const IdParams = z.object({ id: Uuid });
export const SaleParams = z.object({ saleId: Uuid });
export const ProductList = listResponse(ProductSchema).openapi('ProductList');
export const LevelList = listResponse(LevelSchema).openapi('StockLevelList');
export const MovementList = listResponse(MovementSchema).openapi('StockMovementList');
export const CategoryList = listResponse(CategorySchema).openapi('CategoryList');
