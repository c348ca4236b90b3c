// Collects the snapshot the invariants are checked on: Postgres (as the superuser, so row-level
// security does not hide anything), MongoDB (straight to the stand-in, not through the proxy), the
// SMTP sink and the clients' records.
import type pg from 'pg';
import { MongoClient } from 'mongodb';
import type { KeyOutcome } from './load';
import type { Snapshot } from './invariants';

export async function collectSnapshot(options: {
  db: pg.Pool;
  mongoUri: string;
  mongoDb: string;
  tenantId: string;
  smtpReceived: Map<string, number>;
  receiptsExpected: boolean;
  clients: KeyOutcome[];
}): Promise<Snapshot> {
  const { db, tenantId } = options;
  const q = async <T>(sql: string): Promise<T[]> => (await db.query(sql, [tenantId])).rows as T[];
  const [sales, reservations, saleMovements, lineQuantities, payments, levels, saleCompletedEvents, inboxRows, loyalty, receipts] = await Promise.all([
    q<Snapshot['sales'][number]>(`SELECT id, idempotency_key AS key, status, total::float8 AS total, customer_id AS "customerId" FROM sales.sales WHERE tenant_id = $1`),
    q<Snapshot['reservations'][number]>(`SELECT sale_id AS "saleId", status FROM inventory.reservations WHERE tenant_id = $1`),
    q<Snapshot['saleMovements'][number]>(
      `SELECT reference_id AS "saleId", kind, sum(quantity)::int AS quantity, count(*)::int AS count FROM inventory.stock_movements
        WHERE tenant_id = $1 AND reference_type = 'sale' GROUP BY 1, 2`,
    ),
    q<Snapshot['lineQuantities'][number]>(`SELECT sale_id AS "saleId", sum(quantity)::int AS quantity FROM sales.sale_lines WHERE tenant_id = $1 GROUP BY 1`),
    q<Snapshot['payments'][number]>(
      `SELECT transaction_id AS "transactionId", idempotency_key AS key, status, amount::float8 AS amount FROM payments.payments WHERE tenant_id = $1 AND NOT tombstone`,
    ),
    q<Snapshot['levels'][number]>(
      `SELECT l.id AS "levelId", l.product_id AS "productId", l.on_hand AS "onHand", s.allow_negative_stock AS "allowNegative",
              (SELECT COALESCE(sum(m.quantity), 0)::int FROM inventory.stock_movements m WHERE m.level_id = l.id) AS movements
         FROM inventory.stock_levels l JOIN inventory.stores s ON s.id = l.store_id WHERE l.tenant_id = $1`,
    ),
    q<Snapshot['saleCompletedEvents'][number]>(
      `SELECT id AS "eventId", envelope->'data'->>'id' AS "saleId", published_at IS NOT NULL AS published FROM sales.outbox WHERE tenant_id = $1 AND type = 'sale.completed'`,
    ),
    q<{ consumer: string; eventId: string }>(
      `SELECT 'loyalty' AS consumer, event_id AS "eventId" FROM customers.inbox WHERE tenant_id = $1 AND type = 'sale.completed'
       UNION ALL SELECT 'analytics', event_id FROM sales.inbox WHERE tenant_id = $1 AND type = 'sale.completed'
       UNION ALL SELECT 'audit', event_id FROM auth.inbox WHERE tenant_id = $1 AND type = 'sale.completed'
       UNION ALL SELECT 'notifications', event_id FROM notifications.inbox WHERE tenant_id = $1 AND type = 'sale.completed'`,
    ),
    q<Snapshot['loyalty'][number]>(
      `SELECT cs.sale_id AS "saleId", 1 AS "historyRows", cs.points_earned::int AS "pointsEarned",
              (SELECT count(*)::int FROM customers.loyalty_ledger e WHERE e.tenant_id = cs.tenant_id AND e.sale_id = cs.sale_id AND e.kind = 'earn') AS "earnEntries"
         FROM customers.customer_sales cs WHERE cs.tenant_id = $1`,
    ),
    q<{ eventId: string; deliveryId: string; status: string }>(
      `SELECT event_id AS "eventId", id AS "deliveryId", status FROM notifications.deliveries WHERE tenant_id = $1 AND event_type = 'sale.completed'`,
    ),
  ]);
  const inbox: Snapshot['inbox'] = { loyalty: [], analytics: [], audit: [], notifications: [] };
  for (const r of inboxRows) inbox[r.consumer as keyof Snapshot['inbox']].push(r.eventId);

  const mongo = new MongoClient(options.mongoUri, { serverSelectionTimeoutMS: 5_000 });
  try {
    const mdb = mongo.db(options.mongoDb);
    const count = async (collection: string) =>
      (await mdb
        .collection(collection)
        .aggregate<{ _id: string; count: number }>([{ $match: { tenantId, action: collection === 'audit_trail' ? 'sale.completed' : { $exists: false }, ...(collection === 'sales_analytics' ? { kind: 'sale' } : {}) } }, { $group: { _id: '$eventId', count: { $sum: 1 } } }])
        .toArray()).map((d) => ({ eventId: d._id, count: d.count }));
    const [analyticsDocs, auditDocs] = await Promise.all([count('sales_analytics'), count('audit_trail')]);
    return {
      sales,
      reservations,
      saleMovements,
      lineQuantities,
      payments,
      levels,
      saleCompletedEvents,
      inbox,
      analyticsDocs,
      auditDocs,
      loyalty,
      receipts: receipts.map((r) => ({ ...r, received: options.smtpReceived.get(`<${r.deliveryId}@cloud-pos>`) ?? 0 })),
      receiptsExpected: options.receiptsExpected,
      clients: options.clients,
    };
  } finally {
    await mongo.close();
  }
}
