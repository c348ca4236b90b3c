import { z } from '@pos/types';
import { withTenant } from '@pos/database';
import { assertStoreAccess, type RouteTable } from '@pos/http';
import type { TransactionDeps } from '../deps';
import { ReportQuery } from './schemas';

const GROUPS = {
  day: { key: "s.business_date::text", from: 'sales.sales s' },
  hour: { key: "to_char(s.created_at AT TIME ZONE st.timezone, 'HH24')", from: 'sales.sales s JOIN sales.stores st ON st.id = s.store_id' },
  cashier: { key: 's.cashier_id', from: 'sales.sales s' },
} as const;

const Money = z.object({ amount: z.number().int(), currency: z.string() });
const ReportRow = z.object({ key: z.string(), salesCount: z.number().int(), gross: Money, discounts: Money, tax: Money, net: Money }).passthrough();
const ReportSchema = z
  .object({
    storeId: z.string(),
    from: z.string(),
    to: z.string(),
    groupBy: z.string(),
    timezone: z.string(),
    rows: z.array(ReportRow),
    totals: z.object({ salesCount: z.number().int(), gross: Money, discounts: Money, tax: Money, net: Money, refunds: Money, netAfterRefunds: Money }),
  })
  .openapi('SalesReport');

/** Sales reports from Postgres, by the store's own calendar (business date in its time zone). */
export function reportRoutes(table: RouteTable, deps: TransactionDeps): void {
  table.add({
    method: 'get',
    path: '/api/v1/reports/sales',
    summary: 'Sales totals for a store and date range (store-local days), grouped by day, hour, product, cashier or tender',
    tags: ['reports'],
    roles: ['owner', 'manager'],
    query: ReportQuery,
    responses: { 200: { description: 'The report', schema: ReportSchema } },
    handler: async ({ query, auth }) => {
      assertStoreAccess(auth, query.storeId);
      const store = await deps.stores.get(auth.tenantId, query.storeId, auth.token);
      const m = (amount: number) => ({ amount, currency: store.currency });
      const args = [auth.tenantId, query.storeId, query.from, query.to];
      const completed = "s.tenant_id = $1 AND s.store_id = $2 AND s.status = 'completed' AND s.business_date BETWEEN $3::date AND $4::date";
      return withTenant(deps.pool, auth.tenantId, async (db) => {
        let rows: Array<Record<string, unknown>>;
        if (query.groupBy === 'product') {
          const r = await db.query<{ key: string; name: string; n: number; qty: number; gross: number; discounts: number; tax: number; net: number }>(
            `SELECT l.product_id::text AS key, max(l.sku) || ' ' || max(l.name) AS name, count(DISTINCT s.id)::int AS n, sum(l.quantity)::int AS qty,
                    sum(l.unit_price * l.quantity) AS gross, sum(l.line_discount + l.order_discount) AS discounts, sum(l.tax) AS tax, sum(l.total) AS net
               FROM sales.sales s JOIN sales.sale_lines l ON l.sale_id = s.id WHERE ${completed} GROUP BY l.product_id ORDER BY net DESC, key`,
            args,
          );
          rows = r.rows.map((x) => ({ key: x.key, label: x.name, quantity: x.qty, salesCount: x.n, gross: m(x.gross), discounts: m(x.discounts), tax: m(x.tax), net: m(x.net) }));
        } else if (query.groupBy === 'tender') {
          const r = await db.query<{ key: string; n: number; amount: number }>(
            `SELECT t.method AS key, count(DISTINCT s.id)::int AS n, sum(t.applied) AS amount
               FROM sales.sales s JOIN sales.sale_tenders t ON t.sale_id = s.id WHERE ${completed} AND t.applied > 0 GROUP BY t.method ORDER BY t.method`,
            args,
          );
          rows = r.rows.map((x) => ({ key: x.key, salesCount: x.n, gross: m(x.amount), discounts: m(0), tax: m(0), net: m(x.amount) }));
        } else {
          const g = GROUPS[query.groupBy];
          const r = await db.query<{ key: string; n: number; gross: number; discounts: number; tax: number; net: number }>(
            `SELECT ${g.key} AS key, count(*)::int AS n, sum(s.subtotal) AS gross, sum(s.discount_total) AS discounts, sum(s.tax_total) AS tax, sum(s.total) AS net
               FROM ${g.from} WHERE ${completed} GROUP BY 1 ORDER BY 1`,
            args,
          );
          rows = r.rows.map((x) => ({ key: x.key, salesCount: x.n, gross: m(x.gross), discounts: m(x.discounts), tax: m(x.tax), net: m(x.net) }));
        }
        const totals = await db.query<{ n: number; gross: number; discounts: number; tax: number; net: number }>(
          `SELECT count(*)::int AS n, COALESCE(sum(subtotal), 0) AS gross, COALESCE(sum(discount_total), 0) AS discounts, COALESCE(sum(tax_total), 0) AS tax, COALESCE(sum(total), 0) AS net
             FROM sales.sales s WHERE ${completed}`,
          args,
        );
        // Refunds count on the store-local day they were given, like sales.
        const refunds = await db.query<{ total: number }>(
          `SELECT COALESCE(sum(r.total), 0) AS total FROM sales.refunds r JOIN sales.sales s ON s.id = r.sale_id JOIN sales.stores st ON st.id = s.store_id
            WHERE r.tenant_id = $1 AND s.store_id = $2 AND r.status = 'completed' AND (r.created_at AT TIME ZONE st.timezone)::date BETWEEN $3::date AND $4::date`,
          args,
        );
        const t = totals.rows[0]!;
        const refunded = refunds.rows[0]!.total;
        return {
          storeId: store.id,
          from: query.from,
          to: query.to,
          groupBy: query.groupBy,
          timezone: store.timezone,
          rows,
          totals: { salesCount: t.n, gross: m(t.gross), discounts: m(t.discounts), tax: m(t.tax), net: m(t.net), refunds: m(refunded), netAfterRefunds: m(t.net - refunded) },
        };
      });
    },
  });
}
