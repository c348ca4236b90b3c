import { randomUUID } from 'node:crypto';
import { Counter, type Registry } from 'prom-client';
import { EVENTS, type z } from '@pos/types';
import { withTenant } from '@pos/database';
import { writeEvent } from '@pos/events';
import { UpstreamUnavailableError, idempotencyRequestHash, type AuthContext } from '@pos/http';
import { ProblemError, badRequest, conflict, forbidden, serviceUnavailable, unprocessable } from '@pos/utils';
import type { StoreRow } from '@pos/stores';
import { SCHEMA, type TransactionDeps } from './deps';
import { businessDate } from './domain/business-date';
import { priceSale } from './domain/pricing';
import { planTenders } from './domain/tenders';
import { SALE_KEY_TTL_SECONDS, chooseOfflineShift, leftNegativeStock, occurredAtProblem, priceMismatches, type SaleFlag } from './domain/offline';
import { findOpenShift, findShiftCovering } from './data/shift-repository';
import {
  addSaleFlags,
  completeSale,
  extendLease,
  findSale,
  findSaleByKey,
  insertLines,
  insertSale,
  insertTenders,
  markReserved,
  nextReceiptNumber,
  renewLease,
  saleView,
  setSaleStatus,
  setTenderOutcome,
  type FullSale,
  type SaleView,
} from './data/sale-repository';
import type { CreateSaleBody } from './http/schemas';

type SaleInput = z.infer<typeof CreateSaleBody>;

interface CatalogProduct {
  id: string;
  sku: string;
  name: string;
  price: { amount: number; currency: string };
  taxRateBps: number;
  active: boolean;
}

/** Failures a retry with the same key may run again (nothing was decided by the customer's bank or the stock). */
const RETRYABLE = new Set(['inventory_unavailable', 'payment_unavailable']);

export interface SaleOutcome {
  status: number;
  sale: SaleView;
  /** The sale existed already under this key: the answer is a replay. */
  replayed?: boolean;
}

/** The request a sale's key stands for: the same key with another request is refused (422). */
export function saleRequestHash(body: SaleInput): string {
  return idempotencyRequestHash({ method: 'POST', route: 'POST /api/v1/transactions', body });
}

function keyReused(): ProblemError {
  return unprocessable('This Idempotency-Key was already used with a different request; use a new key for a new request', 'idempotency_key_reused');
}

/** A tender payment-service captured, written to the sale together with its completion. */
interface CapturedTender {
  tenderId: string;
  paymentId: string | null;
  details?: Record<string, unknown>;
}

/**
 * The checkout saga (POS-DESIGN §5): create the sale pending -> reserve stock (idempotent by sale
 * id) -> capture each tender (idempotent by `<saleId>:tender:<i>`, non-cash first) -> complete with
 * sale.completed in the outbox. Any failure compensates by key: release the reservation and void
 * every tender (both leave tombstones, so a late reserve or capture is refused), then the sale is
 * `failed` with the reason. An outcome that is unknown (timeout, 5xx) is compensated the same way,
 * which is safe precisely because of those tombstones.
 */
export class Checkout {
  private salesValue: Counter<'currency'> | undefined;

  constructor(private readonly deps: TransactionDeps) {}

  /** `sales_value_minor_total{currency}`: the value of completed sales (counted after commit). */
  exportMetrics(registry: Registry): void {
    this.salesValue = new Counter({ name: 'sales_value_minor_total', help: 'Total of completed sales in minor units, by currency', labelNames: ['currency'], registers: [registry] });
  }

  async start(auth: AuthContext, idempotencyKey: string, body: SaleInput): Promise<SaleOutcome> {
    const { pool } = this.deps;
    // One read transaction for the three lookups: every commit on the way to the till costs (docs/performance.md).
    const [existing, openShift, projectedStore] = await withTenant(pool, auth.tenantId, async (db) => [
      await findSaleByKey(db, auth.tenantId, idempotencyKey),
      body.offline ? undefined : await findOpenShift(db, auth.tenantId, body.storeId, auth.userId),
      await this.deps.stores.find(db, auth.tenantId, body.storeId),
    ] as const);
    const requestHash = saleRequestHash(body);
    if (existing) {
      // An offline sale interrupted by a crash was compensated, but its goods and cash are gone
      // already: sending it again must book it, not repeat the failure.
      const offlineInterrupted = existing.sale.occurred_at !== null && existing.sale.failure_code === 'interrupted';
      if (existing.sale.status === 'failed' && (RETRYABLE.has(existing.sale.failure_code ?? '') || offlineInterrupted)) {
        await withTenant(pool, auth.tenantId, (db) =>
          db.query("UPDATE sales.sales SET idempotency_key = idempotency_key || ':attempt:' || id WHERE tenant_id = $1 AND id = $2", [auth.tenantId, existing.sale.id]),
        );
      } else {
        if (existing.sale.request_hash && existing.sale.request_hash !== requestHash) throw keyReused();
        return this.resume(auth.tenantId, existing);
      }
    }

    if (auth.role !== 'owner' && auth.role !== 'service' && !auth.stores.includes(body.storeId)) throw forbidden('You may not sell in this store', 'store_forbidden');
    // Stored as text and compared with shifts' cashier ids: one spelling of a uuid.
    const cashierId = body.offline?.cashierId?.toLowerCase() ?? auth.userId;
    if (cashierId !== auth.userId) await this.checkOfflineCashier(auth, cashierId, body.storeId);
    // Checked here, after the key lookup, so that a sale already booked under this key still replays.
    const occurredAt = body.offline ? new Date(body.offline.occurredAt) : null;
    if (occurredAt) {
      const problem = occurredAtProblem(occurredAt, new Date(), { maxFutureSeconds: this.deps.config.OFFLINE_MAX_CLOCK_SKEW_SECONDS, maxAgeSeconds: SALE_KEY_TTL_SECONDS });
      if (problem) throw badRequest('The offline sale cannot be dated', [{ path: 'offline.occurredAt', message: problem }], 'offline_sale_out_of_range');
    }
    const store = await this.deps.stores.get(auth.tenantId, body.storeId, auth.token, projectedStore);
    // Online sales need the cashier's open shift; offline ones are never refused for want of one.
    const shift = occurredAt ? undefined : openShift;
    if (!occurredAt && !shift) throw conflict('Open a shift at this store before selling', 'no_open_shift');

    const products = await this.loadProducts(auth.tenantId, body);
    const draft = this.price(auth, store, body, products);
    const flags: SaleFlag[] = [];
    if (occurredAt) {
      if (priceMismatches(body.lines.map((l) => ({ terminalPrice: l.unitPrice!.amount, catalogPrice: products.get(l.productId)!.price.amount }))).length) flags.push('price_mismatch');
      if (body.lines.some((l) => !products.get(l.productId)!.active)) flags.push('product_inactive');
    }
    const saleId = randomUUID();
    const soldAt = occurredAt ?? new Date();
    const inserted = await withTenant(pool, auth.tenantId, async (db) => {
      let shiftId = shift?.id ?? null;
      if (occurredAt) {
        const covering = await findShiftCovering(db, auth.tenantId, store.id, cashierId, occurredAt);
        const chosen = chooseOfflineShift(covering, covering ? undefined : await findOpenShift(db, auth.tenantId, store.id, cashierId, true));
        shiftId = chosen.shiftId;
        if (chosen.flag) flags.push(chosen.flag);
      }
      const sale = await insertSale(db, {
        id: saleId,
        tenant_id: auth.tenantId,
        store_id: store.id,
        shift_id: shiftId,
        cashier_id: cashierId,
        customer_id: body.customerId ?? null,
        idempotency_key: idempotencyKey,
        status: 'pending',
        currency: store.currency,
        tax_inclusive: store.tax_inclusive,
        subtotal: draft.priced.subtotal,
        discount_total: draft.priced.discountTotal,
        tax_total: draft.priced.taxTotal,
        total: draft.priced.total,
        cash_applied: draft.plan.cashApplied,
        change_due: draft.plan.changeDue,
        discounts: body.discounts,
        business_date: businessDate(soldAt, store.timezone),
        flags,
        offline: occurredAt ? { occurredAt, terminalId: body.offline!.terminalId } : null,
        request_hash: requestHash,
        leaseSeconds: this.deps.config.SALE_LEASE_SECONDS,
      });
      if (!sale) return undefined;
      const lines = await insertLines(
        db,
        auth.tenantId,
        draft.priced.lines.map((l, i) => ({
          id: randomUUID(),
          sale_id: saleId,
          line_no: i + 1,
          product_id: body.lines[i]!.productId,
          sku: products.get(body.lines[i]!.productId)!.sku,
          name: products.get(body.lines[i]!.productId)!.name,
          quantity: l.quantity,
          unit_price: l.unitPrice,
          catalog_price: products.get(body.lines[i]!.productId)!.price.amount,
          // An offline line's price is what the terminal charged, not an override.
          price_override_by: body.lines[i]!.unitPrice && !occurredAt ? auth.userId : null,
          tax_rate_bps: l.taxRateBps,
          line_discount: l.lineDiscount,
          order_discount: l.orderDiscount,
          tax: l.tax,
          total: l.total,
          discount_spec: body.lines[i]!.discount ?? null,
        })),
      );
      const tenders = await insertTenders(
        db,
        auth.tenantId,
        draft.plan.tenders.map((t) => {
          const input = body.tenders[t.index]!;
          return {
            id: randomUUID(),
            sale_id: saleId,
            tender_no: t.index + 1,
            method: t.method,
            tendered: t.tendered,
            applied: t.applied,
            payment_key: `${saleId}:tender:${t.index}`,
            details: tenderDetails(input),
          };
        }),
      );
      return { sale, lines, tenders };
    });
    if (!inserted) {
      // Another request with this key won the race: answer with that sale.
      const winner = (await withTenant(pool, auth.tenantId, (db) => findSaleByKey(db, auth.tenantId, idempotencyKey)))!;
      if (winner.sale.request_hash && winner.sale.request_hash !== requestHash) throw keyReused();
      return this.resume(auth.tenantId, winner);
    }
    return this.drive(inserted, body);
  }

  /**
   * A queue synced by someone else than the cashier who rang it up: only a manager or owner may
   * book sales to another user, and only to a user of this tenant in their reach who may sell in
   * this store (so the sale lands in that cashier's shift, and their drawer's count).
   */
  private async checkOfflineCashier(auth: AuthContext, cashierId: string, storeId: string): Promise<void> {
    if (auth.role !== 'manager' && auth.role !== 'owner') {
      throw forbidden('Only a manager or owner may sync an offline sale rung up by another user', 'offline_cashier_forbidden');
    }
    const user = await this.deps.users.find(cashierId, auth.token);
    if (!user || user.tenantId !== auth.tenantId || (user.role !== 'owner' && !user.storeIds.includes(storeId))) {
      throw badRequest('The offline sale names a cashier who cannot have sold here', [{ path: 'offline.cashierId', message: 'is not a user of this store in your reach' }], 'unknown_cashier');
    }
  }

  private async loadProducts(tenantId: string, body: SaleInput): Promise<Map<string, CatalogProduct>> {
    const ids = [...new Set(body.lines.map((l) => l.productId))];
    const res = await this.deps.inventory
      // A product deleted after an offline sale was made is still what was sold: it comes back inactive, and is flagged.
      .call<{ data: CatalogProduct[] }>('GET', `/api/v1/products?limit=200&ids=${ids.join(',')}${body.offline ? '&includeDeleted=true' : ''}`, { tenantId, timeoutMs: this.deps.config.INVENTORY_CALL_TIMEOUT_MS })
      .catch((err: unknown) => {
        if (err instanceof UpstreamUnavailableError) throw serviceUnavailable('The catalog (inventory-service) is not available; try again', 'inventory_unavailable');
        throw err;
      });
    if (res.status !== 200) throw serviceUnavailable('The catalog (inventory-service) did not answer', 'inventory_unavailable');
    const products = new Map(res.body.data.map((p) => [p.id, p]));
    const errors = body.lines.flatMap((l, i) => {
      const p = products.get(l.productId);
      if (!p) return [{ path: `lines.${i}.productId`, message: 'is not a product of this tenant' }];
      // Sold at the till already: an offline sale of a product deactivated or deleted since is booked and flagged.
      if (!p.active && !body.offline) return [{ path: `lines.${i}.productId`, message: 'is not for sale (inactive)' }];
      return [];
    });
    if (errors.length) throw badRequest('Some lines cannot be sold', errors, 'unknown_product');
    return products;
  }

  private price(auth: AuthContext, store: StoreRow, body: SaleInput, products: Map<string, CatalogProduct>) {
    const errors: Array<{ path: string; message: string }> = [];
    const money = (path: string, m: { currency: string } | undefined) => {
      if (m && m.currency !== store.currency) errors.push({ path, message: `must be in the store currency ${store.currency}` });
    };
    body.lines.forEach((l, i) => {
      money(`lines.${i}.unitPrice.currency`, l.unitPrice);
      money(`lines.${i}.discount.amount.currency`, l.discount?.amount);
      const p = products.get(l.productId)!;
      if (p.price.currency !== store.currency) errors.push({ path: `lines.${i}.productId`, message: `is priced in ${p.price.currency}, the store sells in ${store.currency}` });
    });
    body.discounts.forEach((d, i) => money(`discounts.${i}.amount.currency`, d.amount));
    body.tenders.forEach((t, i) => money(`tenders.${i}.amount.currency`, t.amount));
    if (errors.length) throw badRequest('Amounts must be in the store currency', errors, 'currency_mismatch');
    if (!body.offline && body.lines.some((l) => l.unitPrice) && auth.role !== 'manager' && auth.role !== 'owner') {
      throw forbidden('Only a manager or owner may override a price', 'price_override_forbidden');
    }
    const toDiscount = (d?: { percent?: number; amount?: { amount: number } }) =>
      d ? { percentBps: d.percent === undefined ? undefined : Math.round(d.percent * 100), amount: d.amount?.amount } : undefined;
    const priced = priceSale(
      body.lines.map((l) => {
        const p = products.get(l.productId)!;
        return { quantity: l.quantity, unitPrice: l.unitPrice?.amount ?? p.price.amount, taxRateBps: p.taxRateBps, discount: toDiscount(l.discount) };
      }),
      body.discounts.map((d) => toDiscount(d)!),
      store.tax_inclusive,
    );
    const plan = planTenders(priced.total, body.tenders.map((t) => ({ method: t.method, amount: t.amount.amount })));
    if (!plan.ok) throw new ProblemError(400, plan.code, 'Bad Request', plan.message, [{ path: plan.path, message: plan.message }], undefined, { total: { amount: priced.total, currency: store.currency } });
    return { priced, plan };
  }

  /**
   * Runs the remaining steps of a freshly created sale. Steps share transactions where a crash between
   * them changes nothing: the lease for the first payment is taken with the `reserved` status, and the
   * captured tenders are written with the completion (until then recovery asks payment-service by key).
   */
  private async drive(full: FullSale, body: SaleInput): Promise<SaleOutcome> {
    const { pool, config } = this.deps;
    const tenantId = full.sale.tenant_id;
    const saleId = full.sale.id;
    const paymentLeaseSeconds = config.SALE_LEASE_SECONDS + Math.ceil(config.PAYMENT_CALL_TIMEOUT_MS / 1000);

    const offline = full.sale.occurred_at !== null;
    let reserve;
    try {
      reserve = await this.deps.inventory.call<{ code?: string; detail?: string; shortages?: unknown; lines?: Array<{ onHandAfter?: number }> }>('POST', '/api/v1/stock/reservations', {
        tenantId,
        body: {
          saleId,
          storeId: full.sale.store_id,
          lines: full.lines.map((l) => ({ productId: l.product_id, quantity: l.quantity })),
          // The goods of an offline sale are gone already: the count must follow, even below zero.
          ...(offline ? { allowNegative: true } : {}),
        },
        timeoutMs: config.INVENTORY_CALL_TIMEOUT_MS,
      });
    } catch (err) {
      if (!(err instanceof UpstreamUnavailableError)) throw err;
      return this.fail(full, { code: 'inventory_unavailable', reason: 'Stock could not be reserved: inventory-service is not answering' }, 503);
    }
    if (reserve.status === 409 && reserve.body?.code === 'insufficient_stock') {
      return this.fail(full, { code: 'insufficient_stock', reason: reserve.body.detail ?? 'Not enough stock' }, 409, { shortages: reserve.body.shortages });
    }
    if (reserve.status !== 201 && reserve.status !== 200) {
      return this.fail(full, { code: 'reservation_refused', reason: reserve.body?.detail ?? `inventory answered ${reserve.status}` }, 409);
    }
    const plan = planTenders(full.sale.total, full.tenders.map((t) => ({ method: t.method as 'cash', amount: t.tendered })));
    const order = plan.ok ? plan.captureOrder : [];
    await withTenant(pool, tenantId, async (db) => {
      if (offline && leftNegativeStock(reserve.body.lines)) await addSaleFlags(db, tenantId, saleId, ['negative_stock']);
      await markReserved(db, tenantId, saleId, order.length ? paymentLeaseSeconds : config.SALE_LEASE_SECONDS);
    });

    const captured: CapturedTender[] = [];
    for (const [n, index] of order.entries()) {
      const tender = full.tenders[index]!;
      if (n > 0) await withTenant(pool, tenantId, (db) => renewLease(db, tenantId, saleId, paymentLeaseSeconds));
      if (tender.applied === 0) {
        captured.push({ tenderId: tender.id, paymentId: null });
        continue;
      }
      const input = body.tenders[index]!;
      let res;
      try {
        res = await this.deps.payments.call<{ id?: string; code?: string; detail?: string; declineCode?: string; reason?: string; availableBalance?: unknown; card?: unknown }>(
          'POST',
          '/api/v1/payments/process',
          {
            tenantId,
            idempotencyKey: tender.payment_key,
            body: { transactionId: saleId, storeId: full.sale.store_id, method: tender.method, amount: { amount: tender.applied, currency: full.sale.currency }, ...paymentExtras(input, full.sale.customer_id) },
            timeoutMs: config.PAYMENT_CALL_TIMEOUT_MS,
          },
        );
      } catch (err) {
        if (!(err instanceof UpstreamUnavailableError)) throw err;
        return this.fail(full, { code: 'payment_unavailable', reason: 'A tender could not be taken: the payment service or processor is not answering' }, 503);
      }
      if (res.status === 201 || res.status === 200) {
        captured.push({ tenderId: tender.id, paymentId: res.body.id ?? null, details: res.body.card ? { card: res.body.card } : {} });
        continue;
      }
      await withTenant(pool, tenantId, (db) => setTenderOutcome(db, tenantId, tender.id, 'failed', null));
      if (res.status === 402) {
        return this.fail(full, { code: res.body.code ?? 'payment_declined', reason: res.body.reason ?? res.body.detail ?? 'The payment was declined' }, 402, {
          declineCode: res.body.declineCode,
          tender: index,
          availableBalance: res.body.availableBalance,
        });
      }
      return this.fail(full, { code: 'payment_refused', reason: res.body.detail ?? `payment-service answered ${res.status}` }, 409, { tender: index });
    }

    return { status: 201, sale: saleView(await this.complete(tenantId, saleId, captured)) };
  }

  private async complete(tenantId: string, saleId: string, captured: CapturedTender[] = []): Promise<FullSale> {
    const { full, completedNow } = await withTenant(this.deps.pool, tenantId, async (db) => {
      const current = (await findSale(db, tenantId, saleId, true))!;
      if (current.sale.status === 'completed') return { full: current, completedNow: false };
      // Built from what the updates return, not read again: the sale row is locked since findSale.
      const tenders = new Map(current.tenders.map((t) => [t.id, t]));
      for (const t of captured) {
        const row = await setTenderOutcome(db, tenantId, t.tenderId, 'captured', t.paymentId, t.details);
        if (row) tenders.set(row.id, row);
      }
      const receipt = await nextReceiptNumber(db, tenantId, current.sale.store_id);
      const done: FullSale = { sale: await completeSale(db, tenantId, saleId, receipt), lines: current.lines, tenders: [...tenders.values()] };
      await writeEvent(db, { schema: SCHEMA, type: EVENTS.saleCompleted, tenantId, data: { ...saleView(done) } });
      return { full: done, completedNow: true };
    });
    if (completedNow) this.salesValue?.inc({ currency: full.sale.currency }, full.sale.total);
    return full;
  }

  /** Compensates by key, then records the failure; if compensation cannot finish, the sweep will. */
  private async fail(full: FullSale, failure: { code: string; reason: string }, status: number, extra: Record<string, unknown> = {}): Promise<never> {
    const compensated = await this.compensate(full);
    const details = Object.fromEntries(Object.entries(extra).filter(([, v]) => v !== undefined));
    // The extra fields are kept so that a retry with the same key gets this very answer.
    if (compensated) await withTenant(this.deps.pool, full.sale.tenant_id, (db) => setSaleStatus(db, full.sale.tenant_id, full.sale.id, 'failed', { ...failure, details }));
    throw new ProblemError(status, failure.code, status === 402 ? 'Payment Required' : status === 409 ? 'Conflict' : 'Service Unavailable', failure.reason, undefined, undefined, {
      saleId: full.sale.id,
      ...Object.fromEntries(Object.entries(extra).filter(([, v]) => v !== undefined)),
    });
  }

  /** Voids every tender by its key and releases the reservation; true when both owners confirmed. */
  async compensate(full: FullSale): Promise<boolean> {
    const tenantId = full.sale.tenant_id;
    const timeoutMs = this.deps.config.PAYMENT_CALL_TIMEOUT_MS;
    try {
      for (const tender of full.tenders) {
        if (tender.applied === 0) continue;
        const res = await this.deps.payments.call('POST', '/api/v1/payments/void-by-key', { tenantId, body: { idempotencyKey: tender.payment_key }, timeoutMs });
        if (res.status >= 400) throw new UpstreamUnavailableError(`void-by-key answered ${res.status}`);
        await withTenant(this.deps.pool, tenantId, (db) => setTenderOutcome(db, tenantId, tender.id, tender.status === 'failed' ? 'failed' : 'voided', null));
      }
      const released = await this.deps.inventory.call('DELETE', `/api/v1/stock/reservations/${full.sale.id}`, { tenantId, timeoutMs: this.deps.config.INVENTORY_CALL_TIMEOUT_MS });
      if (released.status >= 400) throw new UpstreamUnavailableError(`release answered ${released.status}`);
      return true;
    } catch (err) {
      this.deps.logger.warn('compensation incomplete; the recovery sweep will finish it', { saleId: full.sale.id, err: (err as Error).message });
      return false;
    }
  }

  /** A sale that already exists for this key: its result, or (when its runner died) recover it now. */
  async resume(tenantId: string, existing: FullSale): Promise<SaleOutcome> {
    const { sale } = existing;
    if (sale.status === 'completed' || sale.status === 'voided') return { status: 201, sale: saleView(existing), replayed: true };
    if (sale.status === 'failed') {
      const status = sale.failure_code === 'insufficient_stock' ? 409 : sale.failure_code?.startsWith('payment_declined') || sale.failure_code === 'insufficient_gift_card_balance' || sale.failure_code === 'insufficient_loyalty_points' ? 402 : 409;
      const title = status === 402 ? 'Payment Required' : 'Conflict';
      throw new ProblemError(status, sale.failure_code ?? 'sale_failed', title, sale.failure_reason ?? 'The sale failed', undefined, { 'Idempotent-Replayed': 'true' }, { saleId: sale.id, ...sale.failure_details });
    }
    const claimed = await withTenant(this.deps.pool, tenantId, (db) => extendLease(db, tenantId, sale.id, this.deps.config.SALE_LEASE_SECONDS));
    if (!claimed) throw new ProblemError(409, 'sale_in_progress', 'Conflict', 'This sale is still being processed; retry shortly', undefined, { 'Retry-After': '2' }, { saleId: sale.id });
    let recovered: FullSale;
    try {
      recovered = await this.recover(existing);
    } catch (err) {
      // The step owners cannot be asked yet: the sale stays as it is for the next retry or the sweep.
      if (err instanceof UpstreamUnavailableError) {
        throw new ProblemError(503, 'sale_recovery_unavailable', 'Service Unavailable', 'This sale was interrupted and cannot be finished yet: inventory or payments are not answering; retry shortly', undefined, { 'Retry-After': '2' }, { saleId: sale.id });
      }
      throw err;
    }
    if (recovered.sale.status === 'completed') return { status: 201, sale: saleView(recovered) };
    return this.resume(tenantId, recovered);
  }

  /**
   * Finishes or compensates a sale whose runner died (POS-DESIGN §11): ask each step's owner by key.
   * It completes only if the stock is reserved and every tender is already captured; it never takes
   * a payment the customer may since have made another way.
   */
  async recover(full: FullSale): Promise<FullSale> {
    const tenantId = full.sale.tenant_id;
    const saleId = full.sale.id;
    const timeoutMs = this.deps.config.INVENTORY_CALL_TIMEOUT_MS;
    const reservation = await this.deps.inventory.call<{ status?: string; lines?: Array<{ onHandAfter?: number }> }>('GET', `/api/v1/stock/reservations/${saleId}`, { tenantId, timeoutMs });
    const payments = await this.deps.payments.call<{ data?: Array<{ id: string; idempotencyKey: string; status: string }> }>('GET', `/api/v1/payments?transactionId=${saleId}&limit=200`, {
      tenantId,
      timeoutMs,
    });
    const captured = new Map((payments.body.data ?? []).filter((p) => p.status === 'captured').map((p) => [p.idempotencyKey, p.id]));
    const allCaptured = full.tenders.every((t) => t.applied === 0 || captured.has(t.payment_key));
    if (reservation.status === 200 && reservation.body.status === 'reserved' && allCaptured) {
      for (const t of full.tenders) {
        if (t.status !== 'captured') await withTenant(this.deps.pool, tenantId, (db) => setTenderOutcome(db, tenantId, t.id, 'captured', captured.get(t.payment_key) ?? null));
      }
      if (full.sale.occurred_at && leftNegativeStock(reservation.body.lines)) await withTenant(this.deps.pool, tenantId, (db) => addSaleFlags(db, tenantId, saleId, ['negative_stock']));
      return this.complete(tenantId, saleId);
    }
    if (await this.compensate(full)) {
      await withTenant(this.deps.pool, tenantId, (db) => setSaleStatus(db, tenantId, saleId, 'failed', { code: 'interrupted', reason: 'The sale was interrupted before it completed; nothing was charged or taken from stock' }));
    }
    return (await withTenant(this.deps.pool, tenantId, (db) => findSale(db, tenantId, saleId)))!;
  }
}

function tenderDetails(t: SaleInput['tenders'][number]): Record<string, unknown> {
  if (t.method === 'external_card') return { terminal: { brand: t.terminal.brand, last4: t.terminal.last4 } };
  if (t.method === 'gift_card') return { giftCardLast4: t.giftCardCode.slice(-4) };
  return {};
}

function paymentExtras(t: SaleInput['tenders'][number] | undefined, customerId: string | null): Record<string, unknown> {
  if (!t) return {};
  // Loyalty points are the sale's customer's: payment-service redeems them at customer-service.
  if (t.method === 'loyalty') return { customerId };
  if (t.method === 'card') return { cardToken: t.cardToken };
  if (t.method === 'gift_card') return { giftCardCode: t.giftCardCode };
  if (t.method === 'external_card') return { terminal: t.terminal };
  return {};
}
