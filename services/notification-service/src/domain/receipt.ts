import { z } from '@pos/types';

const Money = z.object({ amount: z.number().int(), currency: z.string().length(3) });

/**
 * The part of transaction-service's `sale.completed` data (its sale view plus businessDate) a receipt
 * needs. Extra fields are ignored, so the producer can grow the event without breaking this consumer.
 */
export const SaleCompletedData = z.object({
  id: z.string().uuid(),
  status: z.string(),
  storeId: z.string().uuid(),
  customerId: z.string().uuid().nullable().optional(),
  // transaction-service numbers receipts per store (an integer).
  receiptNumber: z.number().int().nullable().optional(),
  lines: z.array(
    z.object({
      sku: z.string(),
      name: z.string(),
      quantity: z.number().int(),
      unitPrice: Money,
      discount: Money.optional(),
      tax: Money.optional(),
      total: Money,
    }),
  ),
  subtotal: Money,
  discountTotal: Money,
  taxTotal: Money,
  total: Money,
  tenders: z.array(z.object({ method: z.string(), amount: Money })).default([]),
  changeDue: Money.optional(),
  businessDate: z.string().optional(),
  createdAt: z.string().optional(),
});
export type SaleCompleted = z.infer<typeof SaleCompletedData>;

const formatters = new Map<string, { format: (n: number) => string; digits: number }>();

/** `{amount: 1799, currency: 'USD'}` -> "$17.99"; minor units per currency (JPY has none). */
export function formatMoney(money: { amount: number; currency: string }): string {
  let f = formatters.get(money.currency);
  if (!f) {
    try {
      const nf = new Intl.NumberFormat('en-US', { style: 'currency', currency: money.currency });
      f = { format: (n) => nf.format(n), digits: nf.resolvedOptions().maximumFractionDigits ?? 2 };
    } catch {
      f = { format: (n) => `${n.toFixed(2)} ${money.currency}`, digits: 2 };
    }
    formatters.set(money.currency, f);
  }
  return f.format(money.amount / 10 ** f.digits);
}

const TENDER_NAMES: Record<string, string> = { cash: 'cash', card: 'card', external_card: 'card', gift_card: 'gift card', loyalty: 'loyalty points' };

/** Template variables of the `receipt` template for a completed sale. */
export function receiptData(sale: SaleCompleted, customerName = ''): Record<string, unknown> {
  return {
    saleId: sale.id,
    storeId: sale.storeId,
    customerName,
    receiptNumber: sale.receiptNumber === null || sale.receiptNumber === undefined ? sale.id : String(sale.receiptNumber),
    businessDate: sale.businessDate ?? sale.createdAt?.slice(0, 10) ?? '',
    lines: sale.lines.map((l) => ({
      quantity: l.quantity,
      name: l.name,
      sku: l.sku,
      unitPrice: formatMoney(l.unitPrice),
      discount: l.discount ? formatMoney(l.discount) : '',
      tax: l.tax ? formatMoney(l.tax) : '',
      total: formatMoney(l.total),
    })),
    subtotal: formatMoney(sale.subtotal),
    discountTotal: formatMoney(sale.discountTotal),
    hasDiscount: sale.discountTotal.amount > 0,
    taxTotal: formatMoney(sale.taxTotal),
    total: formatMoney(sale.total),
    tenders: sale.tenders.map((t) => ({ method: TENDER_NAMES[t.method] ?? t.method, amount: formatMoney(t.amount) })),
    changeDue: sale.changeDue ? formatMoney(sale.changeDue) : '',
    hasChange: (sale.changeDue?.amount ?? 0) > 0,
  };
}
