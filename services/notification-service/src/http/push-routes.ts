import { createHash } from 'node:crypto';
import { PG, pgCode, withTenant } from '@pos/database';
import type { RouteTable } from '@pos/http';
import { badRequest, conflict, notFound } from '@pos/utils';
import type { NotificationDeps } from '../deps';
import { deleteSubscription, listSubscriptions, subscriptionView, upsertSubscription } from '../data/subscription-repository';
import { IdParams, SubscriptionBody, SubscriptionList, SubscriptionSchema } from './schemas';

const tags = ['push subscriptions'];
/** Every signed-in person registers their own browsers; a service has no user and no browser. */
const PEOPLE = ['owner', 'manager', 'cashier'] as const;

export function pushRoutes(table: RouteTable, deps: NotificationDeps): void {
  const { pool, config } = deps;

  table.add({
    method: 'post',
    path: '/api/v1/notifications/push/subscriptions',
    summary: "Store the caller's browser push subscription (one per user and device; registering again replaces it)",
    tags,
    roles: PEOPLE,
    body: SubscriptionBody,
    responses: { 201: { description: 'The subscription', schema: SubscriptionSchema } },
    handler: async ({ body, auth, res }) => {
      const endpoint = new URL(body.subscription.endpoint);
      // The worker POSTs to this URL: only real push services (https) unless explicitly allowed for local tests.
      if (endpoint.protocol !== 'https:' && !(config.PUSH_ALLOW_HTTP_ENDPOINTS && endpoint.protocol === 'http:')) {
        throw badRequest('The push endpoint must be an https URL', [{ path: 'subscription.endpoint', message: 'must be https' }]);
      }
      if (endpoint.username || endpoint.password) throw badRequest('The push endpoint must not carry credentials', [{ path: 'subscription.endpoint', message: 'must not carry credentials' }]);
      const deviceId = body.deviceId ?? `endpoint:${createHash('sha256').update(endpoint.toString()).digest('hex').slice(0, 32)}`;
      const { row, created } = await withTenant(pool, auth.tenantId, (db) =>
        upsertSubscription(db, auth.tenantId, {
          userId: auth.userId,
          deviceId,
          endpoint: endpoint.toString(),
          p256dh: body.subscription.keys.p256dh,
          auth: body.subscription.keys.auth,
          userAgent: body.userAgent ?? null,
        }),
      ).catch((err: unknown) => {
        // Two registrations of one endpoint at once (under other device ids): the loser retries.
        if (pgCode(err) === PG.uniqueViolation) throw conflict('This push endpoint was registered at the same moment by another request; retry', 'subscription_conflict');
        throw err;
      });
      res.status(created ? 201 : 200);
      res.json(subscriptionView(row));
      return undefined;
    },
  });

  table.add({
    method: 'get',
    path: '/api/v1/notifications/push/subscriptions',
    summary: "The caller's own push subscriptions",
    tags,
    roles: PEOPLE,
    responses: { 200: { description: 'Subscriptions of the caller', schema: SubscriptionList } },
    handler: async ({ auth }) => ({ data: (await withTenant(pool, auth.tenantId, (db) => listSubscriptions(db, auth.tenantId, auth.userId))).map(subscriptionView) }),
  });

  table.add({
    method: 'delete',
    path: '/api/v1/notifications/push/subscriptions/:id',
    summary: 'Remove one of the caller’s own push subscriptions (e.g. on logout)',
    tags,
    roles: PEOPLE,
    params: IdParams,
    responses: { 204: { description: 'Removed' }, 404: { description: 'No such subscription of yours' } },
    handler: async ({ params, auth, res }) => {
      const deleted = await withTenant(pool, auth.tenantId, (db) => deleteSubscription(db, auth.tenantId, params.id, auth.userId));
      if (!deleted) throw notFound('Push subscription');
      res.status(204).end();
    },
  });
}
