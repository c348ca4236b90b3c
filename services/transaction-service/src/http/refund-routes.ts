import { withTenant } from '@pos/database';
import { IdempotencyKeyHeader, idempotency, type RouteTable } from '@pos/http';
import { notFound } from '@pos/utils';
import { SCHEMA, type TransactionDeps } from '../deps';
import type { Refunds } from '../refunds';
import { findRefund, refundView } from '../data/refund-repository';
import { IdParams, RefundBody, RefundSchema } from './schemas';
import { refuseCardData } from './sale-routes';
import { z } from '@pos/types';

export function refundRoutes(table: RouteTable, deps: TransactionDeps, refunds: Refunds): void {
  table.add({
    method: 'post',
    path: '/api/v1/transactions/:id/refunds',
    summary: 'Refund whole or partial lines to the original tenders (cash from your drawer), optionally restocking',
    tags: ['transactions'],
    roles: ['owner', 'manager'],
    headers: IdempotencyKeyHeader,
    before: [refuseCardData, idempotency({ pool: deps.pool, schema: SCHEMA, logger: deps.logger })],
    params: IdParams,
    body: RefundBody,
    responses: {
      201: { description: 'The refund', schema: RefundSchema },
      409: { description: 'More than was sold (also across concurrent refunds), sale not completed, or no open shift for the cash part' },
      503: { description: 'Recorded but the money could not be returned yet (finished automatically)' },
    },
    handler: async ({ params, body, auth, req }) => refundView(await refunds.create(auth, params.id, req.get('idempotency-key')!, body)),
  });

  table.add({
    method: 'get',
    path: '/api/v1/transactions/:id/refunds/:refundId',
    summary: 'A refund of a sale',
    tags: ['transactions'],
    roles: ['owner', 'manager'],
    params: IdParams.extend({ refundId: z.string().uuid() }),
    responses: { 200: { description: 'The refund', schema: RefundSchema }, 404: { description: 'No such refund' } },
    handler: async ({ params, auth }) => {
      const refund = await withTenant(deps.pool, auth.tenantId, (db) => findRefund(db, auth.tenantId, params.refundId));
      if (!refund || refund.refund.sale_id !== params.id || !(auth.role === 'owner' || auth.stores.includes(refund.storeId))) throw notFound('Refund');
      return refundView(refund);
    },
  });
}
