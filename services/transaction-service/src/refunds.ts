import { randomUUID } from 'node:crypto';
import { EVENTS } from '@pos/types';
import { withTenant } from '@pos/database';
import { writeEvent } from '@pos/events';
import { UpstreamUnavailableError, type AuthContext } from '@pos/http';
import { ProblemError, conflict, serviceUnavailable } from '@pos/utils';
import { SCHEMA, type TransactionDeps } from './deps';
import { findSale, saleView } from './data/sale-repository';
import { findOpenShift } from './data/shift-repository';
import { findRefund, refundView, type FullRefund } from './data/refund-repository';
import { allocateRefund, lineRefundAmount } from './domain/refund-math';

export interface RefundRequest {
  lines: Array<{ lineId: string; quantity: number }>;
  restock: boolean;
  reason: string;
}

/**
 * Refunds (POS-DESIGN §5, §11 "Refund money"): the amounts and the refunded quantities are fixed in
 * one transaction under the sale's row lock, so concurrent refunds can never exceed what was sold;
 * the money then goes back to the original non-cash tenders (keys `<refundId>:<i>`) and the rest
 * in cash from the refunding user's open shift; restocking is a return movement in inventory.
 * If a call fails the refund stays `pending` and the sweep finishes it with the same keys.
 */
export class Refunds {
  constructor(private readonly deps: TransactionDeps) {}

  async create(auth: AuthContext, saleId: string, idempotencyKey: string, req: RefundRequest): Promise<FullRefund> {
    const { pool } = this.deps;
    const refundId = await withTenant(pool, auth.tenantId, async (db) => {
      const existing = await db.query<{ id: string }>('SELECT id FROM sales.refunds WHERE tenant_id = $1 AND idempotency_key = $2', [auth.tenantId, idempotencyKey]);
      if (existing.rows[0]) return existing.rows[0].id;
      const full = await findSale(db, auth.tenantId, saleId, true);
      if (!full || !(auth.role === 'owner' || auth.stores.includes(full.sale.store_id))) throw new ProblemError(404, 'not_found', 'Not Found', 'Sale was not found');
      if (full.sale.status !== 'completed') throw conflict(`A ${full.sale.status} sale cannot be refunded`, 'sale_not_refundable');
      const byId = new Map(full.lines.map((l) => [l.id, l]));
      const errors: Array<{ path: string; message: string }> = [];
      const seen = new Set<string>();
      const amounts = req.lines.map((r, i) => {
        const line = byId.get(r.lineId);
        if (!line) return errors.push({ path: `lines.${i}.lineId`, message: 'is not a line of this sale' }), undefined;
        if (seen.has(r.lineId)) return errors.push({ path: `lines.${i}.lineId`, message: 'is listed twice' }), undefined;
        seen.add(r.lineId);
        const amount = lineRefundAmount(
          { quantity: line.quantity, total: line.total, tax: line.tax, refundedQuantity: line.refunded_quantity, refundedTotal: line.refunded_total, refundedTax: line.refunded_tax },
          r.quantity,
        );
        if ('error' in amount) return errors.push({ path: `lines.${i}.quantity`, message: `only ${amount.remaining} left to refund on this line` }), undefined;
        return { line, quantity: r.quantity, ...amount };
      });
      if (errors.length) {
        const exceeds = errors.some((e) => e.path.endsWith('quantity'));
        throw new ProblemError(exceeds ? 409 : 400, exceeds ? 'refund_exceeds_sold' : 'validation_failed', exceeds ? 'Conflict' : 'Bad Request', 'The refund does not fit the sale', errors);
      }
      const parts = amounts as Array<NonNullable<(typeof amounts)[number]>>;
      const total = parts.reduce((s, p) => s + p.total, 0);
      const tax = parts.reduce((s, p) => s + p.tax, 0);
      const plan = allocateRefund(
        total,
        full.tenders.filter((t) => t.status === 'captured' && t.applied > 0).map((t) => ({ index: t.tender_no, method: t.method, captured: t.applied, refunded: t.refunded_amount })),
      );
      let shiftId: string | null = null;
      if (plan.cash > 0) {
        const shift = await findOpenShift(db, auth.tenantId, full.sale.store_id, auth.userId);
        if (!shift) throw conflict('Cash goes back from your drawer: open a shift at this store first', 'no_open_shift');
        shiftId = shift.id;
      }
      const id = randomUUID();
      await db.query(
        `INSERT INTO sales.refunds (id, tenant_id, sale_id, idempotency_key, status, reason, restock, total, tax, cash_amount, shift_id, created_by)
         VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8, $9, $10, $11)`,
        [id, auth.tenantId, saleId, idempotencyKey, req.reason, req.restock, total, tax, plan.cash, shiftId, auth.userId],
      );
      for (const p of parts) {
        await db.query('INSERT INTO sales.refund_lines (refund_id, tenant_id, line_id, quantity, total, tax) VALUES ($1, $2, $3, $4, $5, $6)', [id, auth.tenantId, p.line.id, p.quantity, p.total, p.tax]);
        await db.query('UPDATE sales.sale_lines SET refunded_quantity = refunded_quantity + $2, refunded_total = refunded_total + $3, refunded_tax = refunded_tax + $4 WHERE id = $1', [
          p.line.id,
          p.quantity,
          p.total,
          p.tax,
        ]);
      }
      const tenderByNo = new Map(full.tenders.map((t) => [t.tender_no, t]));
      let seq = 0;
      for (const a of plan.allocations) {
        const tender = tenderByNo.get(a.index)!;
        await db.query("INSERT INTO sales.refund_tenders (refund_id, tenant_id, tender_id, method, amount, status, seq) VALUES ($1, $2, $3, $4, $5, 'pending', $6)", [id, auth.tenantId, tender.id, a.method, a.amount, seq++]);
        await db.query('UPDATE sales.sale_tenders SET refunded_amount = refunded_amount + $2 WHERE id = $1', [tender.id, a.amount]);
      }
      if (plan.cash > 0) {
        await db.query("INSERT INTO sales.refund_tenders (refund_id, tenant_id, tender_id, method, amount, status, seq) VALUES ($1, $2, NULL, 'cash', $3, 'completed', $4)", [id, auth.tenantId, plan.cash, seq++]);
      }
      await db.query('UPDATE sales.sales SET refunded_total = refunded_total + $3, version = version + 1 WHERE tenant_id = $1 AND id = $2', [auth.tenantId, saleId, total]);
      return id;
    });
    return this.finish(auth.tenantId, refundId);
  }

  /** Pays the money back and restocks; safe to run again (every call is keyed). */
  async finish(tenantId: string, refundId: string): Promise<FullRefund> {
    const { pool, config } = this.deps;
    const full = (await withTenant(pool, tenantId, (db) => findRefund(db, tenantId, refundId)))!;
    if (full.refund.status === 'completed') return full;
    try {
      for (const t of full.tenders.filter((x) => x.status === 'pending')) {
        const res = await this.deps.payments.call<{ id?: string; detail?: string }>('POST', `/api/v1/payments/${t.payment_id}/refunds`, {
          tenantId,
          idempotencyKey: `${refundId}:${t.seq}`,
          body: { amount: { amount: t.amount, currency: full.currency }, reason: full.refund.reason ?? undefined },
          timeoutMs: config.PAYMENT_CALL_TIMEOUT_MS,
        });
        if (res.status !== 201 && res.status !== 200) throw new UpstreamUnavailableError(`payment refund answered ${res.status}: ${res.body?.detail ?? ''}`);
        await withTenant(pool, tenantId, (db) =>
          db.query("UPDATE sales.refund_tenders SET status = 'completed', payment_refund_id = $3 WHERE refund_id = $1 AND seq = $2", [refundId, t.seq, res.body.id ?? null]),
        );
      }
      if (full.refund.restock) {
        const res = await this.deps.inventory.call('POST', '/api/v1/stock/returns', {
          tenantId,
          idempotencyKey: `${refundId}:restock`,
          body: { referenceId: refundId, storeId: full.storeId, lines: full.lines.map((l) => ({ productId: l.product_id, quantity: l.quantity })), reason: full.refund.reason ?? undefined },
          timeoutMs: config.INVENTORY_CALL_TIMEOUT_MS,
        });
        if (res.status !== 201 && res.status !== 200) throw new UpstreamUnavailableError(`restock answered ${res.status}`);
      }
    } catch (err) {
      if (err instanceof UpstreamUnavailableError) {
        this.deps.logger.warn('refund left pending; the sweep will finish it', { refundId, err: err.message });
        throw serviceUnavailable('The refund is recorded but the money could not be returned yet; it will be finished automatically', 'refund_pending');
      }
      throw err;
    }
    return withTenant(pool, tenantId, async (db) => {
      const done = await db.query("UPDATE sales.refunds SET status = 'completed', completed_at = now() WHERE id = $1 AND status = 'pending'", [refundId]);
      const refund = (await findRefund(db, tenantId, refundId))!;
      if (done.rowCount) {
        const sale = (await findSale(db, tenantId, refund.refund.sale_id))!;
        await writeEvent(db, { schema: SCHEMA, type: EVENTS.saleRefunded, tenantId, data: { refund: refundView(refund), sale: saleView(sale) } });
      }
      return refund;
    });
  }
}
