import { ListQuerySchema, MoneySchema, listResponse, z } from '@pos/types';
import { SALE_FLAGS } from '../domain/offline';

export const Uuid = z.string().uuid('must be a uuid');
const PositiveMoney = MoneySchema.refine((m) => m.amount > 0, { message: 'must be more than zero', path: ['amount'] });
const NonNegativeMoney = MoneySchema.refine((m) => m.amount >= 0, { message: 'must not be negative', path: ['amount'] });

const Discount = z
  .object({
    percent: z.number().positive().max(100, 'is at most 100').multipleOf(0.01, 'has at most two decimals').optional(),
    amount: NonNegativeMoney.optional(),
  })
  .strict()
  .refine((d) => (d.percent === undefined) !== (d.amount === undefined), { message: 'give exactly one of percent or amount', path: ['percent'] });

export const SaleLineInput = z
  .object({
    productId: Uuid,
    quantity: z.number().int('must be a whole number').min(1).max(10_000),
    discount: Discount.optional(),
    /**
     * Online: a manager's price override, recorded with who did it. Offline (`offline` given): the
     * price the terminal charged, required on every line and allowed for every role; a difference
     * from the catalog is recorded and flags the sale `price_mismatch`.
     */
    unitPrice: NonNegativeMoney.optional(),
  })
  .strict();

export const TenderInput = z.discriminatedUnion('method', [
  z.object({ method: z.literal('cash'), amount: PositiveMoney }).strict(),
  z.object({ method: z.literal('card'), amount: PositiveMoney, cardToken: z.string().min(1).max(200) }).strict(),
  z
    .object({
      method: z.literal('external_card'),
      amount: PositiveMoney,
      terminal: z.object({ authCode: z.string().min(1).max(50), brand: z.string().min(1).max(30), last4: z.string().regex(/^\d{4}$/) }).strict(),
    })
    .strict(),
  z.object({ method: z.literal('gift_card'), amount: PositiveMoney, giftCardCode: z.string().min(4).max(64) }).strict(),
  /** Loyalty points of the sale's customer (customerId is required), redeemed by payment-service at customer-service. */
  z.object({ method: z.literal('loyalty'), amount: PositiveMoney }).strict(),
]);

export const OfflineInfo = z
  .object({
    /** When the terminal completed the sale (its clock); the sale is dated by it. */
    occurredAt: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with a time zone, e.g. 2026-11-26T09:15:00Z' }),
    terminalId: z.string().trim().min(1).max(100),
    /**
     * Who rang the sale up at the terminal (default: the caller). The register records it, so a
     * queue synced by someone else is still booked to the cashier and the shift that took the cash;
     * naming another user takes a manager or owner.
     */
    cashierId: Uuid.optional(),
  })
  .strict()
  .openapi('OfflineSaleInfo', {
    description:
      'A cash sale a terminal completed without a connection, sent when it is back (POS-DESIGN §11): booked at the terminal prices, stock taken even below zero, dated occurredAt (at most 5 minutes ahead of the server clock, at most 30 days old).',
  });

export const CreateSaleBody = z
  .object({
    storeId: Uuid,
    customerId: Uuid.optional(),
    lines: z.array(SaleLineInput).min(1, 'needs at least one line').max(200),
    discounts: z.array(Discount).max(10).default([]),
    tenders: z.array(TenderInput).max(10),
    offline: OfflineInfo.optional(),
  })
  .strict()
  .superRefine((sale, ctx) => {
    // A loyalty tender spends the sale's customer's points: there must be a customer.
    sale.tenders.forEach((t, i) => {
      if (t.method === 'loyalty' && !sale.customerId) ctx.addIssue({ code: 'custom', path: ['tenders', i], message: 'a loyalty tender needs the sale to have a customerId' });
    });
    if (!sale.offline) return;
    // Nothing but cash can be taken without a connection, and the server books the prices charged.
    sale.tenders.forEach((t, i) => {
      if (t.method !== 'cash') ctx.addIssue({ code: 'custom', path: ['tenders', i, 'method'], message: 'an offline sale takes cash only' });
    });
    sale.lines.forEach((l, i) => {
      if (!l.unitPrice) ctx.addIssue({ code: 'custom', path: ['lines', i, 'unitPrice'], message: 'is required for an offline sale: the price the terminal charged' });
    });
  })
  .openapi('CreateSaleRequest');

const Money = MoneySchema;
export const SaleSchema = z
  .object({
    id: Uuid,
    status: z.enum(['pending', 'reserved', 'completed', 'failed', 'voided']),
    failure: z.object({ code: z.string(), reason: z.string() }).nullable(),
    storeId: Uuid,
    /** Null only for an offline sale no shift of the cashier could take (flag `no_shift`). */
    shiftId: Uuid.nullable(),
    cashierId: z.string(),
    customerId: Uuid.nullable(),
    receiptNumber: z.number().int().nullable(),
    lines: z.array(
      z.object({
        id: Uuid,
        productId: Uuid,
        sku: z.string(),
        name: z.string(),
        quantity: z.number().int(),
        unitPrice: Money,
        /** The catalog price when the sale was booked (differs for overrides and offline terminal prices). */
        catalogPrice: Money,
        discount: Money,
        tax: Money,
        total: Money,
        taxRateBps: z.number().int(),
        priceOverriddenBy: z.string().nullable(),
        refundedQuantity: z.number().int(),
      }),
    ),
    subtotal: Money,
    discountTotal: Money,
    taxTotal: Money,
    total: Money,
    taxInclusive: z.boolean(),
    tenders: z.array(z.object({ method: z.string(), amount: Money, tendered: Money, paymentId: Uuid.nullable(), status: z.string() })),
    changeDue: Money,
    refundedTotal: Money,
    /** Offline sales: when it happened at which terminal, and when the server got it. */
    offline: z.object({ occurredAt: z.string(), terminalId: z.string(), syncedAt: z.string() }).nullable(),
    /** For a manager's review: price_mismatch, negative_stock, product_inactive, shift_closed, outside_shift, no_shift. */
    flags: z.array(z.enum(SALE_FLAGS)),
    businessDate: z.string(),
    createdAt: z.string(),
    completedAt: z.string().nullable(),
  })
  .openapi('Sale');

export const SaleListQuery = ListQuerySchema.extend({
  storeId: Uuid.optional(),
  cashierId: z.string().max(100).optional(),
  customerId: Uuid.optional(),
  status: z.enum(['pending', 'reserved', 'completed', 'failed', 'voided']).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  /** true: only sales with a flag; false: only sales without. */
  flagged: z.enum(['true', 'false']).optional(),
  /** Only sales carrying this flag. */
  flag: z.enum(SALE_FLAGS).optional(),
  /** true: only offline sales; false: only online ones. */
  offline: z.enum(['true', 'false']).optional(),
});

export const RefundBody = z
  .object({
    lines: z.array(z.object({ lineId: Uuid, quantity: z.number().int().min(1).max(10_000) }).strict()).min(1).max(200),
    restock: z.boolean().default(true),
    reason: z.string().trim().min(1).max(500),
  })
  .strict()
  .openapi('RefundRequest');

export const RefundSchema = z
  .object({
    id: Uuid,
    saleId: Uuid,
    status: z.enum(['pending', 'completed']),
    total: Money,
    tax: Money,
    restock: z.boolean(),
    reason: z.string().nullable(),
    lines: z.array(z.object({ lineId: Uuid, quantity: z.number().int(), total: Money, tax: Money })),
    tenders: z.array(z.object({ method: z.string(), amount: Money, status: z.string() })),
    createdAt: z.string(),
  })
  .openapi('Refund');

export const VoidBody = z.object({ reason: z.string().trim().min(1).max(500) }).strict();

export const OpenShiftBody = z.object({ storeId: Uuid, openingFloat: NonNegativeMoney }).strict().openapi('OpenShiftRequest');
export const CashMovementBody = z.object({ kind: z.enum(['paid_in', 'paid_out']), amount: PositiveMoney, reason: z.string().trim().min(1).max(300) }).strict();
export const CloseShiftBody = z.object({ countedCash: NonNegativeMoney }).strict();
export const ShiftSchema = z
  .object({
    id: Uuid,
    storeId: Uuid,
    cashierId: z.string(),
    status: z.enum(['open', 'closed']),
    openingFloat: Money,
    countedCash: Money.nullable(),
    expectedCash: Money.nullable(),
    variance: Money.nullable(),
    openedAt: z.string(),
    closedAt: z.string().nullable(),
    version: z.number().int(),
  })
  .openapi('Shift');
export const ShiftListQuery = ListQuerySchema.extend({ storeId: Uuid.optional(), status: z.enum(['open', 'closed']).optional(), mine: z.enum(['true', 'false']).optional() });

export const ReportQuery = z
  .object({
    from: z.iso.date(),
    to: z.iso.date(),
    storeId: Uuid,
    groupBy: z.enum(['day', 'hour', 'product', 'cashier', 'tender']).default('day'),
  })
  .strict()
  .refine((q) => q.from <= q.to, { message: 'must not be after `to`', path: ['from'] });

export const IdParams = z.object({ id: Uuid });
export const SaleList = listResponse(SaleSchema).openapi('SaleList');
export const ShiftList = listResponse(ShiftSchema).openapi('ShiftList');
