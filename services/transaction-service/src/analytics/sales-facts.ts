import { z, type EventEnvelope } from '@pos/types';
import { businessDate, localHour } from '../domain/business-date';

/** The MongoDB collection of sales facts: one document per sale.completed / sale.refunded / sale.voided. */
export const SALES_ANALYTICS = 'sales_analytics';

/** A product's figures inside one fact (several lines of one product are added up first). */
export interface FactLine {
  productId: string;
  sku: string;
  name: string;
  /** +1 in a sale, -1 in a void, 0 in a refund: summed, it counts the sales that sold the product. */
  salesCount: number;
  quantity: number;
  gross: number;
  discounts: number;
  tax: number;
  net: number;
  refundedQuantity: number;
  /** 1 in a refund that returned some of the product, else 0. */
  refundCount: number;
  refunds: number;
}

/** A tender method's figures inside one fact. */
export interface FactTender {
  method: string;
  salesCount: number;
  amount: number;
  /** 1 in a refund paid back (partly) to this method, else 0. */
  refundCount: number;
  refunds: number;
}

/**
 * One fact per sale event. Figures are signed so that summing facts gives the report: a sale adds,
 * a void subtracts the same figures again (on the sale's own business date, as the Postgres report
 * drops voided sales), and a refund adds to `refunds` on the store-local day it was given.
 * Amounts are integer minor units of `currency`.
 */
export interface SalesFact {
  tenantId: string;
  storeId: string;
  kind: 'sale' | 'refund' | 'void';
  saleId: string;
  refundId: string | null;
  /** Store-local date (YYYY-MM-DD) and hour (00-23) the figures count on. */
  businessDate: string;
  hour: string;
  cashierId: string | null;
  currency: string;
  occurredAt: Date;
  recordedAt: Date;
  salesCount: number;
  gross: number;
  discounts: number;
  tax: number;
  net: number;
  refundCount: number;
  refunds: number;
  voidCount: number;
  voids: number;
  lines: FactLine[];
  tenders: FactTender[];
}

const Money = z.object({ amount: z.number().int(), currency: z.string() });
const SaleData = z.object({
  id: z.string(),
  storeId: z.string(),
  cashierId: z.string().nullable().optional(),
  businessDate: z.iso.date(),
  createdAt: z.string(),
  subtotal: Money,
  discountTotal: Money,
  taxTotal: Money,
  total: Money,
  lines: z.array(
    z.object({ id: z.string(), productId: z.string(), sku: z.string(), name: z.string(), quantity: z.number().int(), unitPrice: Money, discount: Money, tax: Money, total: Money }),
  ),
  tenders: z.array(z.object({ method: z.string(), amount: Money })),
});
const RefundData = z.object({
  refund: z.object({
    id: z.string(),
    total: Money,
    createdAt: z.string(),
    lines: z.array(z.object({ lineId: z.string(), quantity: z.number().int(), total: Money })),
    tenders: z.array(z.object({ method: z.string(), amount: Money })),
  }),
  sale: SaleData,
});
type Sale = z.infer<typeof SaleData>;


function productLines(sale: Sale, sign: 1 | -1): FactLine[] {
  const byProduct = new Map<string, FactLine>();
  for (const l of sale.lines) {
    const p = byProduct.get(l.productId) ?? {
      productId: l.productId,
      sku: l.sku,
      name: l.name,
      salesCount: sign,
      quantity: 0,
      gross: 0,
      discounts: 0,
      tax: 0,
      net: 0,
      refundedQuantity: 0,
      refundCount: 0,
      refunds: 0,
    };
    p.quantity += sign * l.quantity;
    p.gross += sign * l.unitPrice.amount * l.quantity;
    p.discounts += sign * l.discount.amount;
    p.tax += sign * l.tax.amount;
    p.net += sign * l.total.amount;
    byProduct.set(l.productId, p);
  }
  return [...byProduct.values()];
}

function tenderMethods(tenders: Array<{ method: string; amount: { amount: number } }>, sign: 1 | -1, as: 'sale' | 'refund'): FactTender[] {
  const byMethod = new Map<string, FactTender>();
  for (const t of tenders) {
    if (t.amount.amount <= 0) continue;
    const m = byMethod.get(t.method) ?? { method: t.method, salesCount: as === 'sale' ? sign : 0, amount: 0, refundCount: as === 'refund' ? 1 : 0, refunds: 0 };
    if (as === 'sale') m.amount += sign * t.amount.amount;
    else m.refunds += t.amount.amount;
    byMethod.set(t.method, m);
  }
  return [...byMethod.values()];
}

function saleFigures(event: EventEnvelope, sale: Sale, kind: 'sale' | 'void', timeZone: string, recordedAt: Date): SalesFact {
  const sign = kind === 'sale' ? 1 : -1;
  return {
    tenantId: event.tenantId,
    storeId: sale.storeId,
    kind,
    saleId: sale.id,
    refundId: null,
    businessDate: sale.businessDate,
    hour: localHour(new Date(sale.createdAt), timeZone),
    cashierId: sale.cashierId ?? null,
    currency: sale.total.currency,
    occurredAt: new Date(event.occurredAt),
    recordedAt,
    salesCount: sign,
    gross: sign * sale.subtotal.amount,
    discounts: sign * sale.discountTotal.amount,
    tax: sign * sale.taxTotal.amount,
    net: sign * sale.total.amount,
    refundCount: 0,
    refunds: 0,
    voidCount: kind === 'void' ? 1 : 0,
    voids: kind === 'void' ? sale.total.amount : 0,
    lines: productLines(sale, sign),
    tenders: tenderMethods(sale.tenders, sign, 'sale'),
  };
}

/**
 * The fact of a sale event, or undefined for other types. `timeZone` is the store's (for the hour,
 * and for a refund's store-local date). Throws on data that does not match the sale contract.
 */
export function salesFact(event: EventEnvelope, timeZone: string, recordedAt = new Date()): SalesFact | undefined {
  switch (event.type) {
    case 'sale.completed':
      return saleFigures(event, SaleData.parse(event.data), 'sale', timeZone, recordedAt);
    case 'sale.voided':
      return saleFigures(event, SaleData.parse(event.data), 'void', timeZone, recordedAt);
    case 'sale.refunded': {
      const { refund, sale } = RefundData.parse(event.data);
      const at = new Date(refund.createdAt);
      const lineById = new Map(sale.lines.map((l) => [l.id, l]));
      const lines = new Map<string, FactLine>();
      for (const rl of refund.lines) {
        const sold = lineById.get(rl.lineId);
        if (!sold) continue;
        const p = lines.get(sold.productId) ?? {
          productId: sold.productId,
          sku: sold.sku,
          name: sold.name,
          salesCount: 0,
          quantity: 0,
          gross: 0,
          discounts: 0,
          tax: 0,
          net: 0,
          refundedQuantity: 0,
          refundCount: 1,
          refunds: 0,
        };
        p.refundedQuantity += rl.quantity;
        p.refunds += rl.total.amount;
        lines.set(sold.productId, p);
      }
      return {
        tenantId: event.tenantId,
        storeId: sale.storeId,
        kind: 'refund',
        saleId: sale.id,
        refundId: refund.id,
        businessDate: businessDate(at, timeZone),
        hour: localHour(at, timeZone),
        cashierId: sale.cashierId ?? null,
        currency: refund.total.currency,
        occurredAt: new Date(event.occurredAt),
        recordedAt,
        salesCount: 0,
        gross: 0,
        discounts: 0,
        tax: 0,
        net: 0,
        refundCount: 1,
        refunds: refund.total.amount,
        voidCount: 0,
        voids: 0,
        lines: [...lines.values()],
        tenders: tenderMethods(refund.tenders, 1, 'refund'),
      };
    }
    default:
      return undefined;
  }
}

/** The store id of a sale event (where to look up its time zone). */
export function saleEventStoreId(event: EventEnvelope): string | undefined {
  const data = event.data as { storeId?: unknown; sale?: { storeId?: unknown } };
  const id = event.type === 'sale.refunded' ? data.sale?.storeId : data.storeId;
  return typeof id === 'string' ? id : undefined;
}
