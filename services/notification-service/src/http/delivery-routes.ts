import { decodeCursor, pageOf, withTenant } from '@pos/database';
import type { RouteTable } from '@pos/http';
import { notFound } from '@pos/utils';
import type { NotificationDeps } from '../deps';
import { deliveryView, findDelivery, listAttempts, listDeliveries } from '../data/delivery-repository';
import { DeliveryList, DeliveryQuery, DeliverySchema, IdParams } from './schemas';
import { SENDERS } from './send-routes';

const tags = ['notifications'];

export function deliveryRoutes(table: RouteTable, deps: NotificationDeps): void {
  const { pool } = deps;

  table.add({
    method: 'get',
    path: '/api/v1/notifications',
    summary: 'The delivery log, newest first: status, attempts and last error of every message (filters: channel, status)',
    tags,
    roles: SENDERS,
    query: DeliveryQuery,
    responses: { 200: { description: 'A page of deliveries', schema: DeliveryList } },
    handler: async ({ query, auth }) => {
      const before = decodeCursor(query.cursor, ['createdAt', 'id'] as const);
      const rows = await withTenant(pool, auth.tenantId, (db) =>
        listDeliveries(db, auth.tenantId, { channel: query.channel, status: query.status, limit: query.limit + 1, before }),
      );
      const { page, nextCursor } = pageOf(rows, query.limit, (last) => ({ createdAt: last.created_at.toISOString(), id: last.id }));
      return { data: page.map((d) => deliveryView(d)), nextCursor };
    },
  });

  table.add({
    method: 'get',
    path: '/api/v1/notifications/:id',
    summary: 'One delivery with its message (except one-time links) and every attempt',
    tags,
    roles: SENDERS,
    params: IdParams,
    responses: { 200: { description: 'The delivery', schema: DeliverySchema }, 404: { description: 'No such delivery in your tenant' } },
    handler: async ({ params, auth }) => {
      const found = await withTenant(pool, auth.tenantId, async (db) => {
        const d = await findDelivery(db, auth.tenantId, params.id);
        return d && { d, history: await listAttempts(db, auth.tenantId, d.id) };
      });
      if (!found) throw notFound('Delivery');
      return deliveryView(found.d, { withBody: true, history: found.history });
    },
  });
}
