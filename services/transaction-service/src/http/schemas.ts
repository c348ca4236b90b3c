import { ListQuerySchema, MoneySchema, listResponse, z } from '@pos/types';

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
    /** Manager price override (minor units of the store currency); recorded with who did it. */
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

export const CreateSaleBody = z
  .object({
    storeId: Uuid,
    customerId: Uuid.optional(),
    lines: z.array(SaleLineInput).min(1, 'needs at least one line').max(200),
    discounts: z.array(Discount).max(10).default([]),
    tenders: z.array(TenderInput).max(10),
  })
  .strict()
  .superRefine((sale, ctx) => {
    // A loyalty tender spends the sale's customer's points: there must be a customer.
    sale.tenders.forEach((t, i) => {
      if (t.method === 'loyalty' && !sale.customerId) ctx.addIssue({ code: 'custom', path: ['tenders', i], message: 'a loyalty tender needs the sale to have a customerId' });
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
    shiftId: Uuid,
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
