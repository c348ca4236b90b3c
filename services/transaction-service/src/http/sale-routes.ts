import { EVENTS, z } from '@pos/types';
import { decodeCursor, pageOf, withTenant } from '@pos/database';
import { writeEvent } from '@pos/events';
import { IdempotencyKeyHeader, assertStoreAccess, canActInStore, idempotency, requireIdempotencyKey, UpstreamUnavailableError, type RouteTable } from '@pos/http';
import { ProblemError, cardDataPaths, conflict, notFound, serviceUnavailable, forbidden } from '@pos/utils';
import type { Request, Response, NextFunction } from 'express';
import { SCHEMA, type TransactionDeps } from '../deps';
import type { Checkout } from '../checkout';
import { findSale, listSales, saleView, setSaleStatus } from '../data/sale-repository';
import { findShift } from '../data/shift-repository';
import { receiptHtml, receiptText } from '../receipt';
import { CreateSaleBody, IdParams, SaleList, SaleListQuery, SaleSchema, VoidBody } from './schemas';

const tags = ['transactions'];
const STAFF = ['owner', 'manager', 'cashier'] as const;

/** Card numbers and security codes never enter this system: refuse them before anything else sees the body. */
export function refuseCardData(req: Request, _res: Response, next: NextFunction): void {
  const paths = cardDataPaths(req.body);
  if (!paths.length) return next();
  next(new ProblemError(400, 'card_data_refused', 'Bad Request', 'Card numbers and security codes must not be sent; use a card token or the card terminal', paths.map((p) => ({ path: p, message: 'looks like card data and was refused' }))));
}

export function saleRoutes(table: RouteTable, deps: TransactionDeps, checkout: Checkout): void {
  const { pool } = deps;

  table.add({
    method: 'post',
    path: '/api/v1/transactions',
    summary: 'Ring up a sale: price from the catalog, reserve stock, take the tenders, complete (one call)',
    tags,
    roles: STAFF,
    headers: IdempotencyKeyHeader,
    // The sale is its key's idempotency record (sales are unique on tenant + key, with the request's
    // hash and a failure's details): a retry resumes or replays it, another request is 422. Kept as
    // long as the sale, so terminals can sync offline sales late (POS-DESIGN §11).
    before: [refuseCardData, requireIdempotencyKey],
    body: CreateSaleBody,
    responses: {
      201: { description: 'The completed sale', schema: SaleSchema },
      402: { description: 'A tender was declined (nothing is charged or reserved)' },
      400: { description: 'Invalid fields (each named); an offline sale with a non-cash tender, a line without its terminal price, or an occurredAt out of range' },
      409: { description: 'Not enough stock (`shortages`), no open shift (online sales), or the sale is still running' },
      503: { description: 'A service the sale needs is down; nothing was charged or reserved' },
    },
    handler: async ({ body, auth, req, res }) => {
      const outcome = await checkout.start(auth, req.get('idempotency-key')!, body);
      if (outcome.replayed) res.setHeader('Idempotent-Replayed', 'true');
      res.status(outcome.status).json(outcome.sale);
    },
  });

  table.add({
    method: 'get',
    path: '/api/v1/transactions',
    summary: 'List sales by store, cashier, customer, status, time, flags and offline (cursor)',
    tags,
    roles: ['owner', 'manager', 'cashier', 'service'],
    query: SaleListQuery,
    responses: { 200: { description: 'A page of sales', schema: SaleList } },
    handler: async ({ query, auth }) => {
      if (query.storeId) assertStoreAccess(auth, query.storeId);
      const all = auth.role === 'owner' || auth.role === 'service';
      const after = decodeCursor(query.cursor, ['createdAt', 'id'] as const);
      const rows = await withTenant(pool, auth.tenantId, (db) =>
        listSales(db, auth.tenantId, {
          storeIds: query.storeId ? [query.storeId] : all ? undefined : auth.stores,
          // Cashiers see their own sales only.
          cashierId: auth.role === 'cashier' ? auth.userId : query.cashierId,
          customerId: query.customerId,
          status: query.status,
          from: query.from,
          to: query.to,
          flagged: query.flagged === undefined ? undefined : query.flagged === 'true',
          flag: query.flag,
          offline: query.offline === undefined ? undefined : query.offline === 'true',
          limit: query.limit + 1,
          after,
        }),
      );
      const { page, nextCursor } = pageOf(rows, query.limit, (last) => ({ createdAt: last.sale.created_at.toISOString(), id: last.sale.id }));
      return { data: page.map(saleView), nextCursor };
    },
  });

  const loadVisible = async (auth: Parameters<typeof canActInStore>[0], id: string) => {
    const full = await withTenant(pool, auth.tenantId, (db) => findSale(db, auth.tenantId, id));
    if (!full || !canActInStore(auth, full.sale.store_id) || (auth.role === 'cashier' && full.sale.cashier_id !== auth.userId)) throw notFound('Sale');
    return full;
  };

  table.add({
    method: 'get',
    path: '/api/v1/transactions/:id',
    summary: 'A sale with lines, tax, discounts, tenders and refunds',
    tags,
    roles: ['owner', 'manager', 'cashier', 'service'],
    params: IdParams,
    responses: { 200: { description: 'The sale', schema: SaleSchema }, 404: { description: 'No such sale' } },
    handler: async ({ params, auth }) => saleView(await loadVisible(auth, params.id)),
  });

  table.add({
    method: 'get',
    path: '/api/v1/transactions/:id/receipt',
    summary: 'The receipt as plain text (default) or HTML (?format=html or Accept: text/html)',
    tags,
    roles: ['owner', 'manager', 'cashier', 'service'],
    params: IdParams,
    query: z.object({ format: z.enum(['text', 'html']).optional() }).strict(),
    responses: { 200: { description: 'The receipt', schema: z.string(), contentType: 'text/plain' } },
    handler: async ({ params, query, auth, req, res }) => {
      const full = await loadVisible(auth, params.id);
      const store = await deps.stores.get(auth.tenantId, full.sale.store_id, auth.token);
      const html = query.format === 'html' || (query.format === undefined && req.accepts(['text/plain', 'text/html']) === 'text/html');
      const view = saleView(full);
      res.type(html ? 'text/html' : 'text/plain').send(html ? receiptHtml(view, { storeName: store.name }) : receiptText(view, { storeName: store.name }));
    },
  });

  table.add({
    method: 'post',
    path: '/api/v1/transactions/:id/void',
    summary: 'Void a completed sale (manager, during its shift, before any refund): tenders voided, stock returned',
    tags,
    roles: ['owner', 'manager'],
    headers: IdempotencyKeyHeader,
    before: [refuseCardData, idempotency({ pool, schema: SCHEMA, logger: deps.logger })],
    params: IdParams,
    body: VoidBody,
    responses: { 200: { description: 'The voided sale', schema: SaleSchema }, 409: { description: 'Not completed, shift closed, or already refunded' } },
    handler: async ({ params, body, auth }) => {
      const full = await loadVisible(auth, params.id);
      if (full.sale.status === 'voided') return saleView(full);
      if (full.sale.status !== 'completed') throw conflict('Only a completed sale can be voided', 'sale_not_completed');
      if (full.sale.refunded_total > 0) throw conflict('A sale with refunds cannot be voided; refund the rest instead', 'sale_refunded');
      const shiftId = full.sale.shift_id;
      const shift = shiftId ? await withTenant(pool, auth.tenantId, (db) => findShift(db, auth.tenantId, shiftId)) : undefined;
      if (shift?.status !== 'open') throw conflict('A sale can only be voided while its shift is open; refund it instead', 'shift_closed');
      if (auth.role === 'manager' && !auth.stores.includes(full.sale.store_id)) throw forbidden();
      // Compensation by key: every tender voided, the reservation released (stock back on hand).
      let compensated: boolean;
      try {
        compensated = await checkout.compensate(full);
      } catch (err) {
        if (err instanceof UpstreamUnavailableError) throw serviceUnavailable('Payments or inventory are not answering; nothing was voided yet');
        throw err;
      }
      if (!compensated) throw serviceUnavailable('Payments or inventory are not answering; retry the void');
      return withTenant(pool, auth.tenantId, async (db) => {
        await setSaleStatus(db, auth.tenantId, full.sale.id, 'voided');
        await db.query('UPDATE sales.sales SET voided_at = now(), voided_by = $3 WHERE tenant_id = $1 AND id = $2', [auth.tenantId, full.sale.id, auth.userId]);
        const voided = (await findSale(db, auth.tenantId, full.sale.id))!;
        await writeEvent(db, { schema: SCHEMA, type: EVENTS.saleVoided, tenantId: auth.tenantId, data: { ...saleView(voided), reason: body.reason, voidedBy: auth.userId } });
        return saleView(voided);
      });
    },
  });
}
