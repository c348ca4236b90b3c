import { EVENTS, z, type EventEnvelope } from '@pos/types';
import type { PoolClient } from '@pos/database';
import { InvalidEventError, type EventHandler } from '@pos/events';
import type { Logger } from '@pos/utils';
import type { CustomerDeps } from '../deps';
import { findCustomer } from '../data/customer-repository';
import { findCustomerSale, insertCustomerSale, insertSaleRefund, updateCustomerSale, type CustomerSaleRow } from '../data/history-repository';
import { appendEntry, findRule } from '../data/loyalty-repository';
import { pointsDueBack, pointsEarned, reversal } from '../domain/loyalty';

/** Producers whose streams customer-service reads. */
export const SALE_EVENT_SOURCES = ['transaction-service'];
/** Ledger entries written by the consumer name the service, not a user. */
const ACTOR = 'svc:customer-service';

const money = z.object({ amount: z.number().int(), currency: z.string() });

/** The parts of transaction-service's sale view (the data of sale.completed) this service reads. */
const SaleData = z.object({
  id: z.string().uuid(),
  customerId: z.string().uuid().nullable().optional(),
  storeId: z.string().uuid(),
  receiptNumber: z.number().int().nullable().optional(),
  total: money,
  tenders: z.array(z.object({ method: z.string(), amount: money, status: z.string().optional() })).default([]),
  businessDate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  createdAt: z.string().optional(),
  completedAt: z.string().nullable().optional(),
});
type Sale = z.infer<typeof SaleData>;

const RefundedData = z.object({
  refund: z.object({ id: z.string().uuid(), total: money, createdAt: z.string().optional() }),
  sale: SaleData,
});

function parse<S extends z.ZodTypeAny>(schema: S, event: EventEnvelope): z.infer<S> {
  const result = schema.safeParse(event.data);
  if (!result.success) throw new InvalidEventError(`${event.type} data is not a sale customer-service can read`, result.error.issues);
  return result.data;
}

/** Points are not earned on what was paid with points. */
function netSpend(sale: Sale): number {
  const byPoints = sale.tenders.filter((t) => t.method === 'loyalty' && (t.status === undefined || t.status === 'captured')).reduce((sum, t) => sum + t.amount.amount, 0);
  return Math.max(0, sale.total.amount - byPoints);
}

interface Ctx {
  db: PoolClient;
  tenantId: string;
  logger: Logger;
  defaultPointsPerUnit: number;
}

interface Tracked {
  row: CustomerSaleRow;
  /** The customer's balance as of this transaction (the customer row is locked). */
  balance: number;
}

/**
 * Locks the customer and returns the sale's history row, creating it (and earning its points) when
 * this is the first event of the sale seen. `status` 'voided' creates it voided, with nothing earned.
 * Undefined when the sale has no customer or the customer is not one of this tenant's.
 */
async function trackSale(ctx: Ctx, sale: Sale, occurredAt: string, initial: 'completed' | 'voided'): Promise<Tracked | undefined> {
  const { db, tenantId } = ctx;
  if (!sale.customerId) return undefined;
  const customer = await findCustomer(db, tenantId, sale.customerId, true);
  if (!customer) {
    ctx.logger.warn('sale names a customer that does not exist; not recorded', { saleId: sale.id });
    return undefined;
  }
  const existing = await findCustomerSale(db, tenantId, sale.id, true);
  if (existing) return { row: existing, balance: customer.loyalty_balance };

  const rule = await findRule(db, tenantId, ctx.defaultPointsPerUnit);
  const earned = initial === 'completed' ? pointsEarned(netSpend(sale), sale.total.currency, rule.pointsPerUnit) : 0;
  await insertCustomerSale(db, {
    tenant_id: tenantId,
    sale_id: sale.id,
    customer_id: customer.id,
    store_id: sale.storeId,
    receipt_number: sale.receiptNumber ?? null,
    currency: sale.total.currency,
    total: sale.total.amount,
    refunded_total: initial === 'voided' ? sale.total.amount : 0,
    status: initial,
    occurred_at: new Date(sale.completedAt ?? occurredAt),
    business_date: sale.businessDate,
    points_earned: earned,
  });
  let balance = customer.loyalty_balance;
  if (earned > 0) {
    const entry = await appendEntry(db, { tenantId, customerId: customer.id, kind: 'earn', points: earned, balanceBefore: balance, saleId: sale.id, key: `sale:${sale.id}`, actorId: ACTOR });
    balance = entry.balance_after;
  }
  return { row: (await findCustomerSale(db, tenantId, sale.id))!, balance };
}

/** Takes back points due, never more than the balance (the shortfall is noted on the entry). */
async function takeBack(ctx: Ctx, t: Tracked, due: number, key: string, what: string): Promise<void> {
  if (due <= 0) return;
  const { points, shortfall } = reversal(due, t.balance);
  const entry = await appendEntry(ctx.db, {
    tenantId: ctx.tenantId,
    customerId: t.row.customer_id,
    kind: 'reverse',
    points: -points,
    balanceBefore: t.balance,
    saleId: t.row.sale_id,
    key,
    note: shortfall > 0 ? `${what}: ${due} points due back, ${shortfall} already spent` : what,
    actorId: ACTOR,
  });
  t.balance = entry.balance_after;
}

export function saleEventHandlers(deps: Pick<CustomerDeps, 'config' | 'logger'>): Record<string, EventHandler> {
  const ctx = (event: EventEnvelope, db: PoolClient): Ctx => ({ db, tenantId: event.tenantId, logger: deps.logger, defaultPointsPerUnit: deps.config.LOYALTY_POINTS_PER_UNIT });

  return {
    [EVENTS.saleCompleted]: async (event, db) => {
      await trackSale(ctx(event, db), parse(SaleData, event), event.occurredAt, 'completed');
    },

    [EVENTS.saleRefunded]: async (event, db) => {
      const { refund, sale } = parse(RefundedData, event);
      const c = ctx(event, db);
      const t = await trackSale(c, sale, event.occurredAt, 'completed');
      if (!t || t.row.status === 'voided') return;
      const applied = await insertSaleRefund(db, event.tenantId, { refund_id: refund.id, sale_id: sale.id, total: refund.total.amount, occurred_at: new Date(refund.createdAt ?? event.occurredAt) });
      if (!applied) return;
      const refunded = Math.min(t.row.total, t.row.refunded_total + refund.total.amount);
      // Cumulative and rounded down; the last refund of the sale takes exactly what is left.
      const dueSoFar = pointsDueBack(t.row.points_earned, refunded, t.row.total);
      await takeBack(c, t, dueSoFar - t.row.points_reversed, `refund:${refund.id}`, `refund ${refund.id}`);
      await updateCustomerSale(db, event.tenantId, sale.id, {
        refunded_total: refunded,
        status: refunded >= t.row.total ? 'refunded' : 'partially_refunded',
        points_reversed: Math.max(dueSoFar, t.row.points_reversed),
      });
    },

    // A void is consumed like a full refund: all points earned on the sale are taken back.
    [EVENTS.saleVoided]: async (event, db) => {
      const sale = parse(SaleData, event);
      const c = ctx(event, db);
      const t = await trackSale(c, sale, event.occurredAt, 'voided');
      if (!t || t.row.status === 'voided') return;
      await takeBack(c, t, t.row.points_earned - t.row.points_reversed, `void:${sale.id}`, `sale ${sale.id} voided`);
      await updateCustomerSale(db, event.tenantId, sale.id, { refunded_total: t.row.total, status: 'voided', points_reversed: t.row.points_earned });
    },
  };
}
