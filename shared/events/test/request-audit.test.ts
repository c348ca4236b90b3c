import { randomUUID } from 'node:crypto';
import type { RequestAuditEntry } from '@pos/types';
import { runWithContext } from '@pos/utils';
import { requestAction, requestAuditWriter } from '@pos/events';
import { createTempSchema, type TempSchema } from '../../../scripts/test/temp-schema';

describe('requestAction (pure)', () => {
  it.each([
    ['POST', '/api/v1/shifts', {}, 'shift.create', 'shift'],
    ['POST', '/api/v1/shifts/:id/cash', {}, 'shift.cash', 'shift'],
    ['POST', '/api/v1/shifts/:id/close', {}, 'shift.close', 'shift'],
    ['PATCH', '/api/v1/products/:id', {}, 'product.update', 'product'],
    ['DELETE', '/api/v1/categories/:id', {}, 'category.delete', 'category'],
    ['PUT', '/api/v1/loyalty/rule', {}, 'loyalty.rule_update', 'loyalty'],
    ['POST', '/api/v1/gift-cards/:code/load', {}, 'gift_card.load', 'gift_card'],
    ['DELETE', '/api/v1/notifications/push/subscriptions/:id', {}, 'notification.push_subscriptions_delete', 'notification'],
    ['POST', '/api/v1/transactions/:id/void', { transactions: 'sale' }, 'sale.void', 'sale'],
    ['POST', '/api/v1/auth/logout', { auth: 'session' }, 'session.logout', 'session'],
    ['POST', '/api/v1/payments/void-by-key', {}, 'payment.void_by_key', 'payment'],
  ])('when %s %s, then the action is named from the route', (method, route, aliases, action, resourceType) => {
    expect(requestAction(method, route, aliases)).toEqual({ action, resourceType });
  });
});

describe('requestAuditWriter', () => {
  let db: TempSchema;
  beforeAll(async () => {
    db = await createTempSchema();
  });
  afterAll(() => db.drop());

  const entry = (over: Partial<RequestAuditEntry> = {}): RequestAuditEntry => ({
    tenantId: randomUUID(),
    actorId: randomUUID(),
    actorRole: 'manager',
    requestId: 'req-9',
    method: 'POST',
    route: '/api/v1/shifts/:id/cash',
    status: 200,
    resourceId: randomUUID(),
    storeId: randomUUID(),
    durationMs: 12,
    replayed: false,
    ip: '10.0.0.7',
    userAgent: 'register/2',
    ...over,
  });
  const outbox = async (tenantId: string) =>
    (await db.adminPool.query<{ type: string; envelope: Record<string, unknown> }>(`SELECT type, envelope FROM ${db.schema}.outbox WHERE tenant_id = $1`, [tenantId])).rows;

  it('when a write without an event is handed over, then the outbox holds one request.audited event with the actor and no body', async () => {
    const write = requestAuditWriter({ pool: db.appPool, schema: db.schema, service: 'demo-service' });
    const e = entry();
    // Written outside any request context (after the response): the entry says who acted.
    await runWithContext({ requestId: 'other', userId: 'someone-else' }, () => write(e));
    const rows = await outbox(e.tenantId);
    expect(rows).toEqual([
      {
        type: 'request.audited',
        envelope: expect.objectContaining({
          requestId: 'req-9',
          actorId: e.actorId,
          actorRole: 'manager',
          ip: '10.0.0.7',
          userAgent: 'register/2',
          data: { service: 'demo-service', action: 'shift.cash', method: 'POST', route: e.route, status: 200, outcome: 'success', resourceType: 'shift', resourceId: e.resourceId, storeId: e.storeId, durationMs: 12, replayed: false },
        }),
      },
    ]);
  });

  it('when a failed write or a 403 is handed over, then it is recorded as a failure or as security.permission_denied', async () => {
    const write = requestAuditWriter({ pool: db.appPool, schema: db.schema, service: 'demo-service' });
    const failed = entry({ status: 409 });
    const denied = entry({ status: 403, method: 'GET', route: '/api/v1/reports/sales', actorRole: 'cashier' });
    await write(failed);
    await write(denied);
    expect((await outbox(failed.tenantId))[0]!.envelope).toMatchObject({ type: 'request.audited', data: { outcome: 'failure', status: 409 } });
    expect(await outbox(denied.tenantId)).toEqual([
      {
        type: 'security.permission_denied',
        envelope: expect.objectContaining({ actorId: denied.actorId, data: { service: 'demo-service', userId: denied.actorId, role: 'cashier', method: 'GET', route: '/api/v1/reports/sales', ip: '10.0.0.7', userAgent: 'register/2' } }),
      },
    ]);
  });
});
