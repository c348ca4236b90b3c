/**
 * Cart maths for display. The server is authoritative (it prices every sale from the catalog), but
 * the register shows totals, tax and change before it asks, so it uses the very same rules as
 * transaction-service (services/transaction-service/src/domain/pricing.ts and tenders.ts; the
 * component tests compare both on thousands of random baskets):
 *
 * 1. gross = unit price × quantity.
 * 2. line discount: percent (two decimals, as basis points) -> round-half-up(gross × bps / 10000),
 *    or a fixed amount; capped at gross.
 * 3. order discounts in order on what is left, one amount D capped at the basket, spread over the
 *    lines by largest remainder (ties: earlier line).
 * 4. tax per line on its net, round half-up: exclusive stores add it, inclusive stores show the tax
 *    contained: tax = net − round-half-up(net × 10000 / (10000 + rate)).
 * 5. totals are sums of the line figures.
 * Tenders: non-cash tenders are taken at their amount and may not exceed the total; cash covers
 * the rest and may exceed it (change due).
 *
 * Amounts are integer minor units; "round half-up" is exact integer arithmetic in BigInt.
 */

export type LineDiscount = { percent: number } | { amount: number };

export interface CartLine {
  /** Stable id of the line in the cart (a product may appear once per line). */
  key: string;
  productId: string;
  sku: string;
  name: string;
  /** Catalog price in minor units at the time the product was scanned. */
  unitPrice: number;
  taxRateBps: number;
  quantity: number;
  discount?: LineDiscount;
}

export interface PricedLine {
  gross: number;
  lineDiscount: number;
  orderDiscount: number;
  discount: number;
  net: number;
  tax: number;
  total: number;
}

export interface PricedCart {
  lines: PricedLine[];
  subtotal: number;
  discountTotal: number;
  taxTotal: number;
  total: number;
}

export type TenderMethod = 'cash' | 'card';

export interface Tender {
  method: TenderMethod;
  amount: number;
  /** Card tenders: the processor token (the simulator's tok_visa, tok_chargeDeclined…). */
  cardToken?: string;
}

export type TenderPlan =
  | { ok: true; changeDue: number; cashApplied: number; nonCash: number; remaining: 0 }
  | { ok: false; code: 'non_cash_exceeds_total' | 'tenders_do_not_cover_total' | 'no_tenders'; message: string; remaining: number };

const BPS = 10_000n;

/** Percent with at most two decimals (what the API accepts) as basis points, as the server does. */
export function percentToBps(percent: number): number {
  return Math.round(percent * 100);
}

function halfUp(x: number, num: bigint, den: bigint): number {
  const a = BigInt(x) * num;
  return Number((2n * a + den) / (2n * den));
}

function discountOf(base: number, discount: { percentBps?: number; amount?: number } | undefined): number {
  if (!discount) return 0;
  let taken = 0;
  if (discount.percentBps !== undefined) taken = Math.min(base, halfUp(base, BigInt(discount.percentBps), BPS));
  if (discount.amount !== undefined) taken += Math.min(base - taken, discount.amount);
  return taken;
}

const asSpec = (d: LineDiscount | undefined) =>
  d === undefined ? undefined : 'percent' in d ? { percentBps: percentToBps(d.percent) } : { amount: d.amount };

function largestRemainder(amount: number, weights: number[]): number[] {
  const total = BigInt(weights.reduce((s, w) => s + w, 0));
  if (amount === 0 || total === 0n) return weights.map(() => 0);
  const a = BigInt(amount);
  const parts = weights.map((w, index) => ({ index, share: Number((a * BigInt(w)) / total), remainder: (a * BigInt(w)) % total }));
  let leftover = amount - parts.reduce((s, p) => s + p.share, 0);
  const order = [...parts].sort((x, y) => (x.remainder === y.remainder ? x.index - y.index : x.remainder > y.remainder ? -1 : 1));
  for (const p of order) {
    if (leftover === 0) break;
    p.share += 1;
    leftover -= 1;
  }
  return parts.map((p) => p.share);
}

/** Prices the cart exactly as transaction-service will (for display; the server's answer wins). */
export function priceCart(lines: Array<Pick<CartLine, 'unitPrice' | 'quantity' | 'taxRateBps' | 'discount'>>, orderDiscounts: LineDiscount[], taxInclusive: boolean): PricedCart {
  const partial = lines.map((l) => {
    const gross = l.unitPrice * l.quantity;
    const lineDiscount = discountOf(gross, asSpec(l.discount));
    return { gross, lineDiscount, lineNet: gross - lineDiscount, taxRateBps: l.taxRateBps };
  });
  const basket = partial.reduce((s, l) => s + l.lineNet, 0);
  let orderDiscount = 0;
  for (const d of orderDiscounts) orderDiscount += discountOf(basket - orderDiscount, asSpec(d));
  const shares = largestRemainder(
    orderDiscount,
    partial.map((l) => l.lineNet),
  );
  const priced = partial.map((l, i) => {
    const share = shares[i] ?? 0;
    const net = l.lineNet - share;
    const tax = taxInclusive ? net - halfUp(net, BPS, BPS + BigInt(l.taxRateBps)) : halfUp(net, BigInt(l.taxRateBps), BPS);
    return { gross: l.gross, lineDiscount: l.lineDiscount, orderDiscount: share, discount: l.lineDiscount + share, net, tax, total: taxInclusive ? net : net + tax };
  });
  const sum = (f: (l: PricedLine) => number) => priced.reduce((s, l) => s + f(l), 0);
  return { lines: priced, subtotal: sum((l) => l.gross), discountTotal: sum((l) => l.discount), taxTotal: sum((l) => l.tax), total: sum((l) => l.total) };
}

/** How the tenders pay `total`: change due for cash, or what is still missing (server rules). */
export function planTenders(total: number, tenders: Array<Pick<Tender, 'method' | 'amount'>>): TenderPlan {
  const nonCash = tenders.filter((t) => t.method !== 'cash').reduce((s, t) => s + t.amount, 0);
  const cash = tenders.filter((t) => t.method === 'cash').reduce((s, t) => s + t.amount, 0);
  if (tenders.length === 0) {
    return total === 0
      ? { ok: true, changeDue: 0, cashApplied: 0, nonCash: 0, remaining: 0 }
      : { ok: false, code: 'no_tenders', message: 'Add a payment', remaining: total };
  }
  if (nonCash > total) return { ok: false, code: 'non_cash_exceeds_total', message: 'Card payments may not exceed the total (no change on a card)', remaining: 0 };
  if (nonCash + cash < total) return { ok: false, code: 'tenders_do_not_cover_total', message: 'The payments do not cover the total yet', remaining: total - nonCash - cash };
  const cashApplied = Math.min(cash, total - nonCash);
  return { ok: true, changeDue: cash - cashApplied, cashApplied, nonCash, remaining: 0 };
}

/** What is still owed after the tenders entered so far (0 when covered). */
export function amountRemaining(total: number, tenders: Array<Pick<Tender, 'amount'>>): number {
  return Math.max(0, total - tenders.reduce((s, t) => s + t.amount, 0));
}

/** Validates what a cashier typed as a line discount; null means "no discount". */
export function lineDiscountFrom(kind: 'percent' | 'amount', value: number | null): LineDiscount | undefined {
  if (value === null || value <= 0) return undefined;
  if (kind === 'percent') return { percent: Math.min(100, Math.round(value * 100) / 100) };
  return { amount: value };
}

export interface SaleRequest {
  storeId: string;
  customerId?: string;
  /** Offline sales only: the price the terminal charged (online, prices are the server's business). */
  lines: Array<{ productId: string; quantity: number; discount?: { percent: number } | { amount: { amount: number; currency: string } }; unitPrice?: { amount: number; currency: string } }>;
  tenders: Array<{ method: 'cash'; amount: { amount: number; currency: string } } | { method: 'card'; amount: { amount: number; currency: string }; cardToken: string }>;
  /** A sale completed here without a connection (POS-DESIGN §11): when, on which terminal, by whom. */
  offline?: { occurredAt: string; terminalId: string; cashierId?: string };
}

/**
 * The body that books a sale completed offline: the same cart with the price each line was charged
 * at (the cached catalog's) and when and where it happened. The server books those prices, flags
 * any that differ from its catalog, takes the stock even below zero and dates the sale occurredAt.
 */
export function offlineSaleRequest(
  online: SaleRequest,
  lines: Array<Pick<CartLine, 'unitPrice'>>,
  currency: string,
  occurredAt: string,
  terminalId: string,
  cashierId: string,
): SaleRequest {
  return {
    ...online,
    lines: online.lines.map((l, i) => ({ ...l, unitPrice: { amount: lines[i]!.unitPrice, currency } })),
    // Whoever syncs the queue later, the sale stays the cashier's (their shift, their drawer).
    offline: { occurredAt, terminalId, cashierId },
  };
}

/** The body of POST /api/v1/transactions for this cart (prices are the server's business). */
export function saleRequest(input: { storeId: string; currency: string; customerId?: string | null; lines: CartLine[]; tenders: Tender[] }): SaleRequest {
  const money = (amount: number) => ({ amount, currency: input.currency });
  return {
    storeId: input.storeId,
    ...(input.customerId ? { customerId: input.customerId } : {}),
    lines: input.lines.map((l) => ({
      productId: l.productId,
      quantity: l.quantity,
      ...(l.discount ? { discount: 'percent' in l.discount ? { percent: l.discount.percent } : { amount: money(l.discount.amount) } } : {}),
    })),
    tenders: input.tenders.map((t) => (t.method === 'card' ? { method: 'card' as const, amount: money(t.amount), cardToken: t.cardToken ?? '' } : { method: 'cash' as const, amount: money(t.amount) })),
  };
}

/** Adds a scanned product: another scan of the same product (without a discount) raises the quantity. */
export function addProduct(lines: CartLine[], product: { id: string; sku: string; name: string; price: { amount: number }; taxRateBps: number }, newKey: () => string): CartLine[] {
  const same = lines.findIndex((l) => l.productId === product.id && !l.discount);
  if (same >= 0) return lines.map((l, i) => (i === same ? { ...l, quantity: l.quantity + 1, unitPrice: product.price.amount } : l));
  return [...lines, { key: newKey(), productId: product.id, sku: product.sku, name: product.name, unitPrice: product.price.amount, taxRateBps: product.taxRateBps, quantity: 1 }];
}
