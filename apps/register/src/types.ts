import type { Money } from './money';

export interface SaleLine {
  id: string;
  productId: string;
  sku: string;
  name: string;
  quantity: number;
  unitPrice: Money;
  discount: Money;
  tax: Money;
  total: Money;
  refundedQuantity: number;
}

export interface Sale {
  id: string;
  status: string;
  storeId: string;
  /** Null only for an offline sale the server could book to no shift. */
  shiftId: string | null;
  cashierId: string;
  customerId: string | null;
  receiptNumber: number | null;
  lines: SaleLine[];
  subtotal: Money;
  discountTotal: Money;
  taxTotal: Money;
  total: Money;
  taxInclusive: boolean;
  tenders: Array<{ method: string; amount: Money; tendered: Money; paymentId: string | null; status: string }>;
  changeDue: Money;
  refundedTotal: Money;
  /** Offline sales (set by the server once synced): when and where it happened. */
  offline?: { occurredAt: string; terminalId: string; syncedAt: string } | null;
  /** The server's review flags, e.g. price_mismatch, negative_stock. */
  flags?: string[];
  createdAt: string;
  completedAt: string | null;
}

export interface Customer {
  id: string;
  name: string;
  email: string | null;
  phone: string | null;
}

/** What the receipt screen shows: a server sale, or a sale completed offline (not yet synced). */
export interface ReceiptView {
  sale: Sale;
  offline?: { key: string; localReceipt: string };
  customer?: Customer | null;
  storeName: string;
}

export interface ZReport {
  shiftId: string;
  status?: string;
  openedAt?: string;
  closedAt?: string | null;
  salesCount: number;
  gross: Money;
  discounts: Money;
  tax: Money;
  net: Money;
  tenders: Record<string, Money>;
  refunds: { count: number; total: Money; cash: Money };
  voids: { count: number; total: Money };
  cash: { openingFloat?: Money; cashSales?: Money; cashRefunds?: Money; paidIn?: Money; paidOut?: Money; expected: Money; counted: Money | null; variance: Money | null };
}
