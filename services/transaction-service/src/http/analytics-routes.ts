import { z } from '@pos/types';
import { assertStoreAccess, type AuthContext, type RouteTable } from '@pos/http';
import { isMongoUnavailable, type Document } from '@pos/mongo';
import { serviceUnavailable } from '@pos/utils';
import type { TransactionDeps } from '../deps';
import { SALES_ANALYTICS } from '../analytics/sales-facts';
import { Uuid } from './schemas';

const DateRange = {
  from: z.iso.date(),
  to: z.iso.date(),
  storeId: Uuid.optional().describe('One store; without it every store you act in (owners: all)'),
};
const fromNotAfterTo = (q: { from: string; to: string }) => q.from <= q.to;
const fromError = { message: 'must not be after `to`', path: ['from'] };

export const AnalyticsQuery = z
  .object({ ...DateRange, groupBy: z.enum(['day', 'hour', 'product', 'cashier', 'tender']).default('day') })
  .strict()
  .refine(fromNotAfterTo, fromError);
export const TopProductsQuery = z
  .object({ ...DateRange, limit: z.coerce.number().int().min(1).max(200).default(10), sortBy: z.enum(['net', 'quantity']).default('net') })
  .strict()
  .refine(fromNotAfterTo, fromError);

const Money = z.object({ amount: z.number().int(), currency: z.string() });
const Figures = {
  salesCount: z.number().int(),
  gross: Money,
  discounts: Money,
  tax: Money,
  net: Money,
  refunds: Money,
  netAfterRefunds: Money,
  refundCount: z.number().int(),
};
const AnalyticsRow = z.object({ key: z.string(), label: z.string().optional(), quantity: z.number().int().optional(), ...Figures, voids: Money, voidCount: z.number().int() });
const AnalyticsSchema = z
  .object({
    from: z.string(),
    to: z.string(),
    storeId: z.string().nullable(),
    groupBy: z.string(),
    rows: z.array(AnalyticsRow),
    /** One entry per currency: money of different currencies is never added up. */
    totals: z.array(z.object({ currency: z.string(), ...Figures, voids: Money, voidCount: z.number().int() })),
  })
  .openapi('SalesAnalytics');
const TopProductsSchema = z
  .object({
    from: z.string(),
    to: z.string(),
    storeId: z.string().nullable(),
    data: z.array(
      z.object({
        productId: z.string(),
        sku: z.string(),
        name: z.string(),
        quantity: z.number().int(),
        salesCount: z.number().int(),
        net: Money,
        refundedQuantity: z.number().int(),
        refunds: Money,
        netAfterRefunds: Money,
      }),
    ),
  })
  .openapi('TopProducts');

type Group = { _id: { key: string | null; currency: string } } & Record<string, number | string | null | object>;
const num = (v: unknown) => (typeof v === 'number' ? v : 0);
const SUMS = ['salesCount', 'gross', 'discounts', 'tax', 'net', 'refundCount', 'refunds', 'voidCount', 'voids'] as const;

/** `$sum` of each figure under `prefix` (facts, or the unwound lines/tenders). */
const sums = (fields: readonly string[], prefix = '') => Object.fromEntries(fields.map((f) => [f, { $sum: `$${prefix}${f}` }]));

function figures(g: Record<string, unknown>, currency: string) {
  const m = (amount: number) => ({ amount, currency });
  return {
    salesCount: num(g.salesCount),
    gross: m(num(g.gross)),
    discounts: m(num(g.discounts)),
    tax: m(num(g.tax)),
    net: m(num(g.net)),
    refunds: m(num(g.refunds)),
    netAfterRefunds: m(num(g.net) - num(g.refunds)),
    refundCount: num(g.refundCount),
    voids: m(num(g.voids)),
    voidCount: num(g.voidCount),
  };
}

/**
 * Sales analytics from MongoDB: facts written by the analytics consumer (one per sale event) are
 * aggregated at read time with $match/$unwind/$group/$sum/$sort/$project, the subset that both
 * MongoDB 7 and the in-process stand-in support. Same store-local days as `/reports/sales`.
 */
export function analyticsRoutes(table: RouteTable, deps: TransactionDeps): void {
  const facts = () => deps.mongo.db.collection(SALES_ANALYTICS);

  /** Tenant, date range and the stores the caller may see; 404 for a store that is not theirs. */
  const scope = async (auth: AuthContext, q: { from: string; to: string; storeId?: string }) => {
    const match: Document = { tenantId: auth.tenantId, businessDate: { $gte: q.from, $lte: q.to } };
    if (q.storeId) {
      assertStoreAccess(auth, q.storeId);
      await deps.stores.get(auth.tenantId, q.storeId, auth.token);
      match.storeId = q.storeId;
    } else if (auth.role !== 'owner') {
      match.storeId = { $in: auth.stores };
    }
    return match;
  };

  const aggregate = async <T extends Document>(pipeline: Document[]): Promise<T[]> => {
    try {
      return await facts().aggregate<T>(pipeline).toArray();
    } catch (err) {
      if (isMongoUnavailable(err)) throw serviceUnavailable('Sales analytics (MongoDB) are not reachable right now; the Postgres report /reports/sales is', 'analytics_unavailable');
      throw err;
    }
  };

  table.add({
    method: 'get',
    path: '/api/v1/reports/analytics',
    summary: 'Sales analytics (MongoDB) for a date range (store-local days), grouped by day, hour, product, cashier or tender',
    tags: ['reports'],
    roles: ['owner', 'manager'],
    query: AnalyticsQuery,
    responses: { 200: { description: 'The analytics', schema: AnalyticsSchema }, 503: { description: 'MongoDB is not reachable right now' } },
    handler: async ({ query, auth }) => {
      const match = await scope(auth, query);
      let pipeline: Document[];
      if (query.groupBy === 'product') {
        pipeline = [
          { $match: match },
          { $unwind: '$lines' },
          {
            $group: {
              _id: { key: '$lines.productId', currency: '$currency' },
              sku: { $max: '$lines.sku' },
              name: { $max: '$lines.name' },
              quantity: { $sum: '$lines.quantity' },
              ...sums(['salesCount', 'gross', 'discounts', 'tax', 'net', 'refundCount', 'refunds'], 'lines.'),
            },
          },
          { $sort: { net: -1, '_id.key': 1 } },
        ];
      } else if (query.groupBy === 'tender') {
        pipeline = [
          { $match: match },
          { $unwind: '$tenders' },
          {
            $group: {
              _id: { key: '$tenders.method', currency: '$currency' },
              salesCount: { $sum: '$tenders.salesCount' },
              gross: { $sum: '$tenders.amount' },
              net: { $sum: '$tenders.amount' },
              ...sums(['refundCount', 'refunds'], 'tenders.'),
            },
          },
          { $sort: { '_id.key': 1 } },
        ];
      } else {
        const key = { day: '$businessDate', hour: '$hour', cashier: '$cashierId' }[query.groupBy];
        pipeline = [{ $match: match }, { $group: { _id: { key, currency: '$currency' }, ...sums(SUMS) } }, { $sort: { '_id.key': 1 } }];
      }
      const [groups, totals] = await Promise.all([
        aggregate<Group>(pipeline),
        aggregate<Group>([{ $match: match }, { $group: { _id: { key: null, currency: '$currency' }, ...sums(SUMS) } }, { $sort: { '_id.currency': 1 } }]),
      ]);
      const rows = groups
        // A key whose sales were all voided (and nothing refunded) is gone, as in the Postgres report.
        .filter((g) => num(g.salesCount) !== 0 || num(g.gross) !== 0 || num(g.net) !== 0 || num(g.refunds) !== 0)
        .map((g) => ({
          key: g._id.key ?? '',
          ...(query.groupBy === 'product' ? { label: `${String(g.sku)} ${String(g.name)}`, quantity: num(g.quantity) } : {}),
          ...figures(g, g._id.currency),
        }));
      return {
        from: query.from,
        to: query.to,
        storeId: query.storeId ?? null,
        groupBy: query.groupBy,
        rows,
        totals: totals.map((t) => ({ currency: t._id.currency, ...figures(t, t._id.currency) })),
      };
    },
  });

  table.add({
    method: 'get',
    path: '/api/v1/reports/top-products',
    summary: 'Best-selling products (MongoDB analytics) for a date range, by net sales or quantity',
    tags: ['reports'],
    roles: ['owner', 'manager'],
    query: TopProductsQuery,
    responses: { 200: { description: 'Top products', schema: TopProductsSchema }, 503: { description: 'MongoDB is not reachable right now' } },
    handler: async ({ query, auth }) => {
      const match = await scope(auth, query);
      const groups = await aggregate<Group>([
        { $match: match },
        { $unwind: '$lines' },
        {
          $group: {
            _id: { key: '$lines.productId', currency: '$currency' },
            sku: { $max: '$lines.sku' },
            name: { $max: '$lines.name' },
            ...sums(['quantity', 'salesCount', 'net', 'refundedQuantity', 'refunds'], 'lines.'),
          },
        },
        { $match: { quantity: { $gt: 0 } } },
        { $sort: query.sortBy === 'net' ? { net: -1, quantity: -1, '_id.key': 1 } : { quantity: -1, net: -1, '_id.key': 1 } },
        { $limit: query.limit },
      ]);
      return {
        from: query.from,
        to: query.to,
        storeId: query.storeId ?? null,
        data: groups.map((g) => {
          const m = (amount: number) => ({ amount, currency: g._id.currency });
          return {
            productId: g._id.key ?? '',
            sku: String(g.sku),
            name: String(g.name),
            quantity: num(g.quantity),
            salesCount: num(g.salesCount),
            net: m(num(g.net)),
            refundedQuantity: num(g.refundedQuantity),
            refunds: m(num(g.refunds)),
            netAfterRefunds: m(num(g.net) - num(g.refunds)),
          };
        }),
      };
    },
  });
}
