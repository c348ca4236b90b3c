// The invariants the system must hold once a fault is over and the system has settled. Pure: it
// reads a snapshot (state.ts collects it from Postgres, MongoDB, the SMTP sink and the clients'
// records), so proof/faults/invariants.test.ts can show each check fails on a fabricated bad state.
import { ACTIONABLE, IN_PROGRESS_CODES, type KeyOutcome } from './load';

export interface SaleFact {
  id: string;
  key: string;
  status: string;
  total: number;
  customerId: string | null;
}

export interface Snapshot {
  sales: SaleFact[];
  /** inventory.reservations rows per sale (normally 0 or 1; the primary key says at most 1). */
  reservations: Array<{ saleId: string; status: string }>;
  /** Stock movements that reference a sale, summed by kind. */
  saleMovements: Array<{ saleId: string; kind: string; quantity: number; count: number }>;
  /** Sum of line quantities per sale. */
  lineQuantities: Array<{ saleId: string; quantity: number }>;
  /** payments.payments rows that name a sale (tombstones have none). */
  payments: Array<{ transactionId: string; key: string; status: string; amount: number }>;
  levels: Array<{ levelId: string; productId: string; onHand: number; movements: number; allowNegative: boolean }>;
  /** sale.completed rows in transaction-service's outbox. */
  saleCompletedEvents: Array<{ eventId: string; saleId: string; published: boolean }>;
  /** Per consumer, the event ids in its inbox (each appears once by the primary key). */
  inbox: { loyalty: string[]; analytics: string[]; audit: string[]; notifications: string[] };
  /** MongoDB documents per event id. */
  analyticsDocs: Array<{ eventId: string; count: number }>;
  auditDocs: Array<{ eventId: string; count: number }>;
  /** customer-service: purchase-history rows and `earn` ledger entries per sale. */
  loyalty: Array<{ saleId: string; historyRows: number; earnEntries: number; pointsEarned: number }>;
  /** Receipt deliveries (notification-service) for sale.completed events, and what the SMTP sink got. */
  receipts: Array<{ eventId: string; deliveryId: string; status: string; received: number }>;
  /** Whether receipts are expected (the tenant opted in and the customers have addresses). */
  receiptsExpected: boolean;
  clients: KeyOutcome[];
}

export interface Violation {
  invariant: string;
  detail: string;
}

export const INVARIANTS = [
  'no pending sale remains',
  'a completed sale has exactly one stock reservation',
  'captured tenders equal the total of a completed sale',
  'a failed sale holds no stock and no money',
  'no money is captured outside a completed sale',
  'on-hand equals the sum of movements',
  'no stock below zero where negative stock is denied',
  'one sale.completed per completed sale, published',
  'sale.completed reached loyalty exactly once',
  'sale.completed reached analytics exactly once',
  'sale.completed reached audit exactly once',
  'receipt emails were delivered',
  'clients only got answers they can act on',
  'no lost success',
  'no sale completed behind a refusal',
] as const;

export function checkInvariants(s: Snapshot): Violation[] {
  const out: Violation[] = [];
  const v = (invariant: (typeof INVARIANTS)[number], detail: string) => out.push({ invariant, detail });
  const by = <T, K>(list: T[], key: (t: T) => K) => {
    const m = new Map<K, T[]>();
    for (const t of list) m.set(key(t), [...(m.get(key(t)) ?? []), t]);
    return m;
  };
  const reservations = by(s.reservations, (r) => r.saleId);
  const movements = by(s.saleMovements, (m) => m.saleId);
  const payments = by(s.payments, (p) => p.transactionId);
  const quantities = new Map(s.lineQuantities.map((l) => [l.saleId, l.quantity]));
  const net = (saleId: string, kind?: string) => (movements.get(saleId) ?? []).filter((m) => !kind || m.kind === kind).reduce((a, m) => a + m.quantity, 0);
  const captured = (saleId: string) => (payments.get(saleId) ?? []).filter((p) => p.status === 'captured');
  const salesById = new Map(s.sales.map((x) => [x.id, x]));

  for (const sale of s.sales) {
    if (sale.status === 'pending' || sale.status === 'reserved') v('no pending sale remains', `sale ${sale.id} is ${sale.status}`);
    if (sale.status === 'completed') {
      const r = reservations.get(sale.id) ?? [];
      const sold = net(sale.id, 'sale');
      const released = (movements.get(sale.id) ?? []).filter((m) => m.kind !== 'sale').reduce((a, m) => a + m.count, 0);
      if (r.length !== 1 || r[0]!.status !== 'reserved' || sold !== -(quantities.get(sale.id) ?? NaN) || released !== 0) {
        v('a completed sale has exactly one stock reservation', `sale ${sale.id}: ${r.length} reservation(s) [${r.map((x) => x.status).join(', ')}], sale movements ${sold} for ${quantities.get(sale.id)} units sold, ${released} other movement(s)`);
      }
      const paid = captured(sale.id).reduce((a, p) => a + p.amount, 0);
      if (paid !== sale.total) v('captured tenders equal the total of a completed sale', `sale ${sale.id}: captured ${paid}, total ${sale.total}`);
    }
    if (sale.status === 'failed') {
      const held = net(sale.id);
      const money = captured(sale.id);
      const r = (reservations.get(sale.id) ?? []).filter((x) => x.status === 'reserved');
      if (held !== 0 || money.length || r.length) v('a failed sale holds no stock and no money', `sale ${sale.id}: net stock ${held}, ${money.length} captured payment(s), ${r.length} live reservation(s)`);
    }
  }
  for (const p of s.payments) {
    if (p.status !== 'captured') continue;
    const sale = salesById.get(p.transactionId);
    if (sale?.status !== 'completed') v('no money is captured outside a completed sale', `payment ${p.key} (${p.amount}) captured for sale ${p.transactionId} that is ${sale?.status ?? 'unknown'}`);
  }

  for (const l of s.levels) {
    if (l.onHand !== l.movements) v('on-hand equals the sum of movements', `level ${l.levelId} (product ${l.productId}): on hand ${l.onHand}, movements ${l.movements}`);
    if (!l.allowNegative && l.onHand < 0) v('no stock below zero where negative stock is denied', `level ${l.levelId} (product ${l.productId}): on hand ${l.onHand}`);
  }

  const events = by(s.saleCompletedEvents, (e) => e.saleId);
  const inbox = {
    loyalty: new Set(s.inbox.loyalty),
    analytics: new Set(s.inbox.analytics),
    audit: new Set(s.inbox.audit),
    notifications: new Set(s.inbox.notifications),
  };
  const analyticsDocs = new Map(s.analyticsDocs.map((d) => [d.eventId, d.count]));
  const auditDocs = new Map(s.auditDocs.map((d) => [d.eventId, d.count]));
  const loyalty = new Map(s.loyalty.map((l) => [l.saleId, l]));
  const receipts = by(s.receipts, (r) => r.eventId);
  for (const sale of s.sales) {
    const evs = events.get(sale.id) ?? [];
    if (sale.status !== 'completed') {
      if (evs.length) v('one sale.completed per completed sale, published', `sale ${sale.id} is ${sale.status} but has ${evs.length} sale.completed event(s)`);
      continue;
    }
    if (evs.length !== 1 || !evs[0]!.published) {
      v('one sale.completed per completed sale, published', `sale ${sale.id}: ${evs.length} sale.completed event(s)${evs.length ? `, published: ${evs.map((e) => e.published).join(', ')}` : ''}`);
      if (!evs.length) continue;
    }
    for (const { eventId } of evs) {
      const l = loyalty.get(sale.id);
      if (!inbox.loyalty.has(eventId)) v('sale.completed reached loyalty exactly once', `event ${eventId} (sale ${sale.id}) not handled by customer-service`);
      else if (sale.customerId && (l?.historyRows !== 1 || l.earnEntries !== 1 || l.pointsEarned <= 0)) {
        v('sale.completed reached loyalty exactly once', `sale ${sale.id}: ${l?.historyRows ?? 0} history row(s), ${l?.earnEntries ?? 0} earn entr(ies), ${l?.pointsEarned ?? 0} points`);
      } else if (!sale.customerId && l && (l.historyRows || l.earnEntries)) v('sale.completed reached loyalty exactly once', `sale ${sale.id} has no customer but ${l.historyRows} history row(s)`);
      if (!inbox.analytics.has(eventId) || analyticsDocs.get(eventId) !== 1) {
        v('sale.completed reached analytics exactly once', `event ${eventId} (sale ${sale.id}): inbox ${inbox.analytics.has(eventId)}, ${analyticsDocs.get(eventId) ?? 0} sales_analytics document(s)`);
      }
      if (!inbox.audit.has(eventId) || auditDocs.get(eventId) !== 1) {
        v('sale.completed reached audit exactly once', `event ${eventId} (sale ${sale.id}): inbox ${inbox.audit.has(eventId)}, ${auditDocs.get(eventId) ?? 0} audit_trail document(s)`);
      }
      if (s.receiptsExpected && sale.customerId) {
        const r = receipts.get(eventId) ?? [];
        if (!inbox.notifications.has(eventId) || r.length !== 1 || r[0]!.status !== 'sent' || r[0]!.received < 1) {
          v('receipt emails were delivered', `event ${eventId} (sale ${sale.id}): inbox ${inbox.notifications.has(eventId)}, ${r.length} deliver(ies) [${r.map((x) => `${x.status}, received ${x.received}`).join('; ')}]`);
        }
      }
    }
  }

  const byKey = new Map(s.sales.map((x) => [x.key, x]));
  for (const c of s.clients) {
    const odd = c.attempts.filter((a) => a.status !== 0 && !ACTIONABLE.has(a.status));
    if (odd.length) v('clients only got answers they can act on', `key ${c.key}: ${odd.map((a) => `${a.status}${a.code ? ` ${a.code}` : ''}`).join(', ')}`);
    if (c.finalStatus === 409 && IN_PROGRESS_CODES.has(c.finalCode ?? '')) v('clients only got answers they can act on', `key ${c.key}: still 409 ${c.finalCode} after ${c.attempts.length} attempt(s); the register never learnt the outcome`);
    if (c.finalStatus === 0 || (c.finalStatus === 503 && !c.succeeded)) v('clients only got answers they can act on', `key ${c.key}: still ${c.finalStatus || 'no connection'} after ${c.attempts.length} attempt(s); the register gave up`);
    const sale = byKey.get(c.key);
    if (c.succeeded) {
      if (!sale || sale.status !== 'completed' || (c.saleId && sale.id !== c.saleId) || (c.total !== undefined && sale.total !== c.total)) {
        v('no lost success', `key ${c.key} answered 2xx for sale ${c.saleId}, but that key's sale is ${sale ? `${sale.id} ${sale.status}` : 'missing'}`);
      }
    } else if ((c.finalStatus === 402 || c.finalStatus === 409) && sale?.status === 'completed') {
      v('no sale completed behind a refusal', `key ${c.key} answered ${c.finalStatus} ${c.finalCode ?? ''}, but sale ${sale.id} is completed`);
    }
  }
  return out;
}

/** Violations grouped by invariant, for the report. */
export function summarize(violations: Violation[]): Record<string, { count: number; examples: string[] }> {
  const out: Record<string, { count: number; examples: string[] }> = {};
  for (const x of violations) {
    const e = (out[x.invariant] ??= { count: 0, examples: [] });
    e.count++;
    if (e.examples.length < 5) e.examples.push(x.detail);
  }
  return out;
}
