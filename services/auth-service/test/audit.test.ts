import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { Redis } from 'ioredis';
import { eventStream, type EventConsumer } from '@pos/events';
import { connectMongo, factId, type MongoHandle } from '@pos/mongo';
import { EVENTS, type EventEnvelope } from '@pos/types';
import { containsCardNumber, isSecretKey } from '@pos/utils';
import { TcpProxy } from '../../../shared/mongo/test/tcp-proxy';
import { openShift, sell, startStack, stockedProduct, usd, createShop, type Shop, type Stack } from '../../transaction-service/test/helpers';
import { createCustomer, startCustomers, type CustomersUnderTest } from '../../customer-service/test/helpers';
import { startNotifications, type NotificationsUnderTest } from '../../notification-service/test/helpers';
import { AUDIT_TRAIL, AUDITED_SERVICES, auditRecord } from '../src/audit/audit-record';
import { createAuditConsumer } from '../src/audit/audit-consumer';
import { PASSWORD, bearer, registerTenant, startAuthService, uniqueEmail, type TestAuthService } from './helpers';

/*
 * The audit trail end to end: real writes through auth-, inventory-, payment-, transaction- and
 * customer-service put their events in each service's outbox; the test publishes exactly this test's
 * rows (as the outbox relays do: XADD of the envelope) to streams with a prefix of its own, read by
 * the real audit consumer (group auth-service, inbox auth.inbox) writing to MongoDB (the stand-in the
 * test run started). Publishing only this test's rows keeps other test files' relays out of the way.
 */

const SCHEMAS: Record<string, string> = {
  auth: 'auth-service',
  inventory: 'inventory-service',
  sales: 'transaction-service',
  payments: 'payment-service',
  customers: 'customer-service',
  notifications: 'notification-service',
};

const waitFor = async <T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 20_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('audit trail (MongoDB audit_trail, fed by every service through the event streams)', () => {
  let stack: Stack;
  let customers: CustomersUnderTest;
  let notifications: NotificationsUnderTest;
  let mongo: MongoHandle;
  let redis: Redis;
  const consumers: Array<{ consumer: EventConsumer; redis: Redis }> = [];
  const prefixes: string[] = [];
  const published = new Set<string>();

  beforeAll(async () => {
    stack = await startStack();
    customers = await startCustomers(stack.auth.url);
    notifications = await startNotifications({ AUTH_SERVICE_URL: stack.auth.url });
    mongo = connectMongo(process.env.MONGODB_URI!, process.env.MONGODB_DB!);
    redis = new Redis(process.env.REDIS_URL!);
  }, 60_000);
  afterAll(async () => {
    for (const c of consumers) {
      await c.consumer.stop();
      await c.redis.quit();
    }
    for (const prefix of prefixes) {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
    }
    await redis.quit();
    await mongo.close();
    await customers.close();
    await notifications.close();
    await stack.close();
  });

  /** Starts an audit consumer on streams of a prefix of its own (optionally with its own MongoDB handle). */
  const startConsumer = async (db = mongo.db) => {
    const prefix = `test-audit-${randomUUID().slice(0, 8)}`;
    prefixes.push(prefix);
    const consumerRedis = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
    const consumer = createAuditConsumer({ redis: consumerRedis, pool: stack.auth.svc.deps.pool, db, streamPrefix: prefix, blockMs: 100, retryDelayMs: 100, claimIdleMs: 300 });
    await consumer.start();
    consumers.push({ consumer, redis: consumerRedis });
    return { prefix, consumer };
  };

  /** This tenant's outbox rows of every service, in order per service. */
  const outboxEvents = async (tenantId: string) => {
    const out: Array<{ service: string; envelope: EventEnvelope }> = [];
    for (const [schema, service] of Object.entries(SCHEMAS)) {
      const { rows } = await stack.admin.query<{ envelope: EventEnvelope }>(`SELECT envelope FROM ${schema}.outbox WHERE tenant_id = $1 ORDER BY seq`, [tenantId]);
      out.push(...rows.map((r) => ({ service, envelope: r.envelope })));
    }
    return out;
  };

  /** XADDs this tenant's events not yet published to the prefix's streams; returns all of them. */
  const publish = async (prefix: string, tenantId: string) => {
    const events = await outboxEvents(tenantId);
    for (const { service, envelope } of events) {
      const key = `${prefix}/${envelope.id}`;
      if (published.has(key)) continue;
      await redis.xadd(eventStream(service, prefix), '*', 'event', JSON.stringify(envelope));
      published.add(key);
    }
    return events;
  };

  /** XADDs the given events again, as a redelivery (a relay publishing twice, a replay). */
  const republish = async (prefix: string, events: Array<{ service: string; envelope: EventEnvelope }>) => {
    for (const { service, envelope } of events) await redis.xadd(eventStream(service, prefix), '*', 'event', JSON.stringify(envelope));
  };

  const stored = (tenantId: string) => mongo.db.collection(AUDIT_TRAIL).find({ tenantId }).toArray();
  const waitForRecords = (tenantId: string, n: number) =>
    waitFor(async () => {
      const docs = await stored(tenantId);
      return docs.length >= n ? docs : undefined;
    }, `${n} audit records`);

  const auditPage = (token: string, query = '') => request(stack.auth.svc.app).get(`/api/v1/audit${query}`).set(bearer(token));

  describe('when owners, managers and cashiers make every kind of write', () => {
    let shop: Shop;
    let prefix: string;
    const ids: Record<string, string> = {};
    let docs: Array<Record<string, unknown>>;
    let events: Array<{ service: string; envelope: EventEnvelope }>;

    beforeAll(async () => {
      ({ prefix } = await startConsumer());
      shop = await createShop(stack.auth); // tenant, 2 stores, a manager and a cashier (with passwords)
      const auth = stack.auth.svc.app;
      // auth-service: a store update, an invitation (carries a set-password token), a user update, a password reset (reset token)
      const store = await request(auth).get(`/api/v1/stores/${shop.storeId}`).set(bearer(shop.accessToken)).expect(200);
      await request(auth).patch(`/api/v1/stores/${shop.storeId}`).set(bearer(shop.accessToken)).send({ version: store.body.version, name: 'Main Street (renamed)' }).expect(200);
      const invited = await request(auth).post('/api/v1/users').set(bearer(shop.accessToken)).send({ email: uniqueEmail('invitee'), name: 'Ivy Invitee', role: 'cashier', storeIds: [shop.storeId] }).expect(201);
      ids.invited = invited.body.id;
      await request(auth).patch(`/api/v1/users/${invited.body.id}`).set(bearer(shop.accessToken)).send({ version: invited.body.version, name: 'Ivy I.', pin: '97531864' }).expect(200);
      await request(auth).post('/api/v1/auth/password-reset').send({ email: shop.email }).expect(202);
      // inventory-service: product create + update, stock adjustment (stockedProduct receives stock)
      const product = await stockedProduct(stack, shop, 1250, 825);
      ids.product = product.id;
      await request(stack.inventory.app).patch(`/api/v1/products/${product.id}`).set(bearer(shop.accessToken)).send({ version: product.version, name: 'Audited product' }).expect(200);
      // customer-service
      const customer = await createCustomer(customers.app, shop.cashier.token);
      ids.customer = customer.id;
      // transaction + payment: a card sale, a refund of it, and a voided cash sale
      ids.cashierShift = await openShift(stack, shop.cashier.token, shop.storeId);
      ids.managerShift = await openShift(stack, shop.manager.token, shop.storeId);
      const sale = await sell(stack, shop.cashier.token, {
        storeId: shop.storeId,
        customerId: customer.id,
        lines: [{ productId: product.id, quantity: 2 }],
        tenders: [{ method: 'card', amount: usd(2706), cardToken: 'tok_visa' }],
      })
        .set('x-request-id', 'audit-test-sale-1')
        .expect(201);
      ids.sale = sale.body.id;
      await request(stack.app)
        .post(`/api/v1/transactions/${sale.body.id}/refunds`)
        .set(bearer(shop.manager.token))
        .set('Idempotency-Key', randomUUID())
        .send({ lines: [{ lineId: sale.body.lines[0].id, quantity: 1 }], restock: true, reason: 'damaged box' })
        .expect(201);
      const cash = await sell(stack, shop.cashier.token, { storeId: shop.storeId, lines: [{ productId: product.id, quantity: 1 }], tenders: [{ method: 'cash', amount: usd(5000) }] }).expect(201);
      ids.voided = cash.body.id;
      await request(stack.app).post(`/api/v1/transactions/${cash.body.id}/void`).set(bearer(shop.manager.token)).set('Idempotency-Key', randomUUID()).send({ reason: 'rang twice' }).expect(200);
      // Writes that emit no event of their own are recorded from the request (request.audited), failed ones too.
      await request(stack.app)
        .post(`/api/v1/shifts/${ids.cashierShift}/cash`)
        .set(bearer(shop.cashier.token))
        .set('Idempotency-Key', randomUUID())
        .set('user-agent', 'audit-register/1')
        .set('x-request-id', 'audit-test-cash-1')
        .send({ kind: 'paid_out', amount: usd(300), reason: 'window cleaner' })
        .expect(201);
      await request(stack.app).post(`/api/v1/shifts/${ids.managerShift}/close`).set(bearer(shop.manager.token)).send({ countedCash: usd(10_000) }).expect(200);
      await request(stack.app)
        .post(`/api/v1/shifts/${ids.managerShift}/cash`)
        .set(bearer(shop.manager.token))
        .set('Idempotency-Key', randomUUID())
        .send({ kind: 'paid_in', amount: usd(100), reason: 'too late' })
        .expect(409);
      const giftCard = await request(stack.paymentUrl).post('/api/v1/gift-cards').set(bearer(shop.manager.token)).set('Idempotency-Key', randomUUID()).send({ initialBalance: usd(2500) }).expect(201);
      ids.giftCard = giftCard.body.id;
      ids.giftCardCode = giftCard.body.code;
      await request(stack.paymentUrl).post(`/api/v1/gift-cards/${giftCard.body.code}/load`).set(bearer(shop.manager.token)).set('Idempotency-Key', randomUUID()).send({ amount: usd(1000) }).expect(200);
      await request(customers.app).put('/api/v1/loyalty/rule').set(bearer(shop.accessToken)).send({ version: 0, pointsPerUnit: 3 }).expect(200);
      await request(notifications.app).put('/api/v1/notifications/templates/receipt').set(bearer(shop.accessToken)).send({ subject: 'Receipt {{receiptNumber}}', text: 'Thanks!', version: 0 }).expect(200);
      // Sessions: a login and its logout.
      const session = await request(auth).post('/api/v1/auth/login').set('user-agent', 'audit-test-agent').send({ email: shop.email, password: PASSWORD }).expect(200);
      await request(auth).post('/api/v1/auth/logout').send({ refreshToken: session.body.refreshToken }).expect(204);
      ids.loggedOutRefresh = session.body.refreshToken;
      // security: a wrong password, and a cashier refused at auth-service and at transaction-service
      await request(auth).post('/api/v1/auth/login').send({ email: shop.email, password: 'not the password' }).set('user-agent', 'audit-test-agent').expect(401);
      await request(auth).post('/api/v1/users').set(bearer(shop.cashier.token)).send({ email: uniqueEmail('x'), name: 'X', role: 'owner', storeIds: [] }).expect(403);
      await request(stack.app).get('/api/v1/reports/sales').query({ from: '2026-01-01', to: '2026-01-02', storeId: shop.storeId }).set(bearer(shop.cashier.token)).expect(403);
      // Request records are written after the response went out: wait for all of them.
      await waitFor(async () => {
        const { rows } = await stack.admin.query<{ n: number }>(
          `SELECT (SELECT count(*) FROM auth.outbox WHERE tenant_id = $1 AND type = 'security.permission_denied')
                + (SELECT count(*) FROM sales.outbox WHERE tenant_id = $1 AND type IN ('request.audited', 'security.permission_denied'))
                + (SELECT count(*) FROM payments.outbox WHERE tenant_id = $1 AND type = 'request.audited')
                + (SELECT count(*) FROM customers.outbox WHERE tenant_id = $1 AND type = 'request.audited')
                + (SELECT count(*) FROM notifications.outbox WHERE tenant_id = $1 AND type = 'request.audited') AS n`,
          [shop.tenantId],
        );
        // 2 denials; shift opens x2, cash, close, failed cash; gift card issue + load; loyalty rule; template
        return Number(rows[0]!.n) >= 11;
      }, 'request audit events');

      events = await publish(prefix, shop.tenantId);
      docs = await waitForRecords(shop.tenantId, events.length);
    }, 90_000);

    it('then every event of every service has exactly one audit record', async () => {
      expect(docs).toHaveLength(events.length);
      expect(new Set(docs.map((d) => d.eventId))).toEqual(new Set(events.map((e) => e.envelope.id)));
      for (const d of docs) expect(d._id).toEqual(factId(String(d.eventId)));
      const actions = new Set(docs.map((d) => d.action));
      for (const action of [
        EVENTS.tenantRegistered,
        EVENTS.storeCreated,
        EVENTS.storeUpdated,
        EVENTS.userCreated,
        EVENTS.userInvited,
        EVENTS.userUpdated,
        EVENTS.userPasswordResetRequested,
        EVENTS.productCreated,
        EVENTS.productUpdated,
        EVENTS.stockChanged,
        EVENTS.customerCreated,
        EVENTS.saleCompleted,
        EVENTS.paymentCaptured,
        EVENTS.saleRefunded,
        EVENTS.paymentRefunded,
        EVENTS.saleVoided,
        EVENTS.securityLoginFailed,
        EVENTS.securityPermissionDenied,
        EVENTS.userLoggedIn,
        EVENTS.userLoggedOut,
        'shift.cash',
      ]) {
        expect({ action, recorded: actions.has(action) }).toEqual({ action, recorded: true });
      }
      expect(new Set(docs.map((d) => d.source))).toEqual(new Set(['auth-service', 'inventory-service', 'customer-service', 'transaction-service', 'payment-service', 'notification-service']));
    });

    it('then writes without an event of their own, and failed writes, are recorded from the request with its status', async () => {
      const requests = docs.filter((d) => (d.details as { route?: string }).route !== undefined && d.status !== null);
      const summary = requests.map((d) => `${d.source} ${d.action} ${d.status} ${d.outcome}`).sort();
      expect(summary).toEqual(
        [
          'auth-service security.permission_denied 403 denied',
          'transaction-service security.permission_denied 403 denied',
          'customer-service loyalty.rule_update 200 success',
          'notification-service notification.templates_update 200 success',
          'payment-service gift_card.create 201 success',
          'payment-service gift_card.load 200 success',
          'transaction-service shift.cash 201 success',
          'transaction-service shift.cash 409 failure',
          'transaction-service shift.close 200 success',
          'transaction-service shift.create 201 success',
          'transaction-service shift.create 201 success',
        ].sort(),
      );
      expect(docs.find((d) => d.action === 'shift.cash' && d.status === 201)).toMatchObject({
        tenantId: shop.tenantId,
        category: 'shift',
        outcome: 'success',
        actor: { id: shop.cashier.id, role: 'cashier' },
        resource: { type: 'shift', id: ids.cashierShift },
        source: 'transaction-service',
        requestId: 'audit-test-cash-1',
        ip: expect.stringMatching(/127\.0\.0\.1/),
        userAgent: 'audit-register/1',
        details: { method: 'POST', route: '/api/v1/shifts/:id/cash', status: 201, replayed: false, durationMs: expect.any(Number) },
      });
      expect(docs.find((d) => d.action === 'shift.cash' && d.status === 409)).toMatchObject({ actor: { id: shop.manager.id }, resource: { id: ids.managerShift }, outcome: 'failure' });
      // A create is named by what it made; a gift card by its id, never by its code.
      expect(docs.find((d) => d.action === 'gift_card.create')).toMatchObject({ resource: { type: 'gift_card', id: ids.giftCard }, actor: { id: shop.manager.id } });
      expect(docs.find((d) => d.action === 'shift.create' && (d.actor as { id: string }).id === shop.cashier.id)).toMatchObject({ storeId: shop.storeId, resource: { id: ids.cashierShift } });
      // A refused read at another service is a security event too.
      expect(docs.filter((d) => d.action === 'security.permission_denied').map((d) => `${d.source}:${(d.resource as { id: string }).id}`).sort()).toEqual([
        'auth-service:POST /api/v1/users',
        'transaction-service:GET /api/v1/reports/sales',
      ]);
      // Sessions: the login and the logout, by the user, from where.
      expect(docs.filter((d) => d.action === 'user.logged_in').map((d) => (d.actor as { id: string }).id)).toEqual(expect.arrayContaining([shop.ownerId, shop.manager.id, shop.cashier.id]));
      expect(docs.find((d) => d.action === 'user.logged_in' && d.userAgent === 'audit-test-agent')).toMatchObject({ actor: { id: shop.ownerId }, resource: { type: 'user', id: shop.ownerId }, userAgent: 'audit-test-agent', details: { method: 'password' } });
      expect(docs.find((d) => d.action === 'user.logged_out')).toMatchObject({ actor: { id: shop.ownerId }, outcome: 'success' });
    });

    it('then a record says who did what to which resource, where, when and in which request', async () => {
      const sale = docs.find((d) => d.action === 'sale.completed' && (d.resource as { id: string }).id === ids.sale)!;
      expect(sale).toMatchObject({
        tenantId: shop.tenantId,
        category: 'sale',
        outcome: 'success',
        actor: { id: shop.cashier.id },
        storeId: shop.storeId,
        resource: { type: 'sale', id: ids.sale },
        source: 'transaction-service',
        requestId: 'audit-test-sale-1',
        details: { saleId: ids.sale, total: usd(2706), tenders: [{ method: 'card', amount: usd(2706), status: 'captured' }], customerId: ids.customer },
      });
      expect(sale.occurredAt).toBeInstanceOf(Date);
      expect(docs.find((d) => d.action === 'sale.voided')).toMatchObject({ actor: { id: shop.manager.id }, resource: { type: 'sale', id: ids.voided }, details: { reason: 'rang twice' } });
      expect(docs.find((d) => d.action === 'sale.refunded')).toMatchObject({ resource: { type: 'sale', id: ids.sale }, details: { refund: { reason: 'damaged box', restock: true } } });
      expect(docs.find((d) => d.action === 'user.invited')).toMatchObject({ actor: { id: shop.ownerId }, resource: { type: 'user', id: ids.invited } });
      expect(docs.find((d) => d.action === 'product.updated')).toMatchObject({ resource: { type: 'product', id: ids.product } });
      expect(docs.find((d) => d.action === 'customer.created')).toMatchObject({ resource: { type: 'customer', id: ids.customer }, source: 'customer-service' });
      expect(docs.find((d) => d.action === 'security.login_failed')).toMatchObject({
        outcome: 'failure',
        actor: { id: shop.ownerId },
        resource: { type: 'user', id: shop.ownerId },
        ip: expect.stringMatching(/127\.0\.0\.1/),
        userAgent: 'audit-test-agent',
        details: { method: 'password', reason: 'wrong_password' },
      });
      expect(docs.find((d) => d.action === 'security.permission_denied')).toMatchObject({
        outcome: 'denied',
        actor: { id: shop.cashier.id, role: 'cashier' },
        resource: { type: 'route', id: 'POST /api/v1/users' },
      });
    });

    it('then no record holds a password, PIN, token or card number (every document scanned)', async () => {
      // An 8-digit PIN: a 4-digit one turns up by chance in the random hex of ids and emails.
      const secrets = [PASSWORD, 'not the password', '97531864', shop.accessToken, shop.refreshToken, shop.cashier.token, shop.manager.token, 'tok_visa', ids.giftCardCode!, ids.loggedOutRefresh!];
      // The one-time tokens travelled in the events (for notification-service): they must not reach the trail.
      for (const { envelope } of events) {
        const data = envelope.data as Record<string, unknown>;
        for (const key of ['setPasswordToken', 'resetToken']) if (typeof data[key] === 'string') secrets.push(data[key] as string);
      }
      expect(secrets.length).toBeGreaterThanOrEqual(10);
      const keys: string[] = [];
      const walk = (v: unknown, path: string): void => {
        if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}.${i}`));
        else if (v && typeof v === 'object' && !(v instanceof Date) && !('_bsontype' in v)) {
          for (const [k, x] of Object.entries(v)) {
            if (isSecretKey(k)) keys.push(`${path}.${k}`);
            walk(x, `${path}.${k}`);
          }
        }
      };
      for (const doc of docs) {
        const text = JSON.stringify(doc);
        for (const s of secrets) expect({ action: doc.action, leaks: text.includes(s) }).toEqual({ action: doc.action, leaks: false });
        expect({ action: doc.action, card: containsCardNumber(text) }).toEqual({ action: doc.action, card: false });
        expect(text).not.toMatch(/argon2|\$2[aby]\$/);
        walk(doc, String(doc.action));
      }
      expect(keys).toEqual([]);
    });

    it('then the owner reads them through GET /api/v1/audit, newest first, filtered and paged', async () => {
      const all = await auditPage(shop.accessToken, '?limit=200').expect(200);
      expect(all.body.data).toHaveLength(docs.length);
      expect(all.body.nextCursor).toBeNull();
      const times = all.body.data.map((r: { occurredAt: string }) => r.occurredAt);
      expect([...times].sort().reverse()).toEqual(times);
      expect(all.body.data[0]).toEqual(
        expect.objectContaining({ id: expect.any(String), action: expect.any(String), occurredAt: expect.any(String), resource: expect.any(Object), details: expect.any(Object) }),
      );

      const byActor = await auditPage(shop.accessToken, `?actor=${shop.cashier.id}&limit=200`).expect(200);
      expect(byActor.body.data.length).toBeGreaterThanOrEqual(3);
      for (const r of byActor.body.data) expect(r.actor.id).toBe(shop.cashier.id);

      const refunds = await auditPage(shop.accessToken, '?action=sale.refunded').expect(200);
      expect(refunds.body.data.map((r: { action: string }) => r.action)).toEqual(['sale.refunded']);
      const security = await auditPage(shop.accessToken, '?action=security.*').expect(200);
      expect(security.body.data.map((r: { action: string }) => r.action).sort()).toEqual(['security.login_failed', 'security.permission_denied', 'security.permission_denied']);
      const failed = await auditPage(shop.accessToken, '?action=shift.cash').expect(200);
      expect(failed.body.data.map((r: { status: number; outcome: string }) => `${r.status} ${r.outcome}`).sort()).toEqual(['201 success', '409 failure']);

      const saleTrail = await auditPage(shop.accessToken, `?resource=sale:${ids.sale}`).expect(200);
      expect(saleTrail.body.data.map((r: { action: string }) => r.action).sort()).toEqual(['sale.completed', 'sale.refunded']);
      const products = await auditPage(shop.accessToken, '?resource=product&limit=200').expect(200);
      expect(products.body.data.length).toBeGreaterThanOrEqual(2);

      const future = new Date(Date.now() + 3_600_000).toISOString();
      expect((await auditPage(shop.accessToken, `?from=${encodeURIComponent(future)}`).expect(200)).body.data).toEqual([]);
      const today = new Date().toISOString().slice(0, 10);
      expect((await auditPage(shop.accessToken, `?from=2000-01-01&to=${today}&limit=200`).expect(200)).body.data).toHaveLength(docs.length);

      // Pages of 3 cover everything exactly once.
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: request.Response = await auditPage(shop.accessToken, `?limit=3${cursor ? `&cursor=${cursor}` : ''}`).expect(200);
        expect(page.body.data.length).toBeLessThanOrEqual(3);
        seen.push(...page.body.data.map((r: { id: string }) => r.id));
        cursor = page.body.nextCursor;
      } while (cursor);
      expect(seen).toEqual(all.body.data.map((r: { id: string }) => r.id));
    });

    it('then bad filters are 400 naming the field, a manager gets 403 and another tenant sees none of it', async () => {
      const bad = await auditPage(shop.accessToken, '?action=DROP&cursor=zzz&from=yesterday&limit=1000').expect(400);
      expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['query.action', 'query.from', 'query.limit']);
      expect((await auditPage(shop.accessToken, '?cursor=zzz').expect(400)).body.errors).toEqual([expect.objectContaining({ path: 'query.cursor' })]);
      expect((await auditPage(shop.accessToken, '?from=2025-02-01&to=2025-01-01').expect(400)).body.errors).toEqual([expect.objectContaining({ path: 'query.from' })]);
      await auditPage(shop.manager.token).expect(403);
      await auditPage(shop.cashier.token).expect(403);
      await request(stack.auth.svc.app).get('/api/v1/audit').expect(401);

      const other = await registerTenant(stack.auth.svc.app, 'Other');
      const mine = await auditPage(other.accessToken, '?limit=200').expect(200);
      for (const r of mine.body.data) expect(docs.map((d) => d.eventId)).not.toContain(r.id);
      expect((await auditPage(other.accessToken, `?resource=sale:${ids.sale}`).expect(200)).body.data).toEqual([]);
      expect((await auditPage(other.accessToken, `?actor=${shop.cashier.id}`).expect(200)).body.data).toEqual([]);
    });

    it('then the same events delivered again (even past the inbox) add or change nothing', async () => {
      const before = (await stored(shop.tenantId)).filter((d) => events.some((e) => e.envelope.id === d.eventId));
      expect(before).toHaveLength(events.length);
      // Redelivery the inbox absorbs, and redelivery it cannot (inbox rows gone, as after a crash between the MongoDB write and the commit).
      await republish(prefix, events);
      await drained(prefix);
      const ids = events.map((e) => e.envelope.id);
      await stack.admin.query("DELETE FROM auth.inbox WHERE consumer = 'auth-service' AND event_id = ANY($1::uuid[])", [ids]);
      await republish(prefix, events);
      await waitFor(async () => {
        const { rows } = await stack.admin.query<{ n: number }>("SELECT count(*)::int AS n FROM auth.inbox WHERE consumer = 'auth-service' AND event_id = ANY($1::uuid[])", [ids]);
        return rows[0]!.n === events.length;
      }, 'redelivered events handled');
      await drained(prefix);
      const after = (await stored(shop.tenantId)).filter((d) => events.some((e) => e.envelope.id === d.eventId));
      expect(after).toHaveLength(before.length);
      expect(await stored(shop.tenantId)).toHaveLength(events.length);
      const key = (d: Record<string, unknown>) => String(d.eventId);
      expect(new Map(after.map((d) => [key(d), JSON.stringify(d)]))).toEqual(new Map(before.map((d) => [key(d), JSON.stringify(d)])));
    });
  });

  /** Every stream of the prefix was delivered to the group and acknowledged. */
  const drained = (prefix: string) =>
    waitFor(async () => {
      for (const service of AUDITED_SERVICES) {
        const stream = eventStream(service, prefix);
        if (!(await redis.exists(stream))) continue;
        const groups = (await redis.call('XINFO', 'GROUPS', stream)) as unknown[][];
        const info: Record<string, unknown> = {};
        const g = groups[0] ?? [];
        for (let i = 0; i + 1 < g.length; i += 2) info[String(g[i])] = g[i + 1];
        const last = (await redis.xrevrange(stream, '+', '-', 'COUNT', 1))[0]?.[0];
        if (last === undefined) continue; // created empty by the consumer group
        if (info['pending'] !== 0 || info['last-delivered-id'] !== last) return false;
      }
      return true;
    }, 'streams drained');

  it('when MongoDB is unreachable for a while, then requests still succeed, nothing is dead-lettered, and every record arrives once when it is back', async () => {
    const proxy = await TcpProxy.forUri(process.env.MONGODB_URI!).start();
    const viaProxy = connectMongo(proxy.uri(), process.env.MONGODB_DB!, { serverSelectionTimeoutMS: 300 });
    try {
      await viaProxy.ping();
      const { prefix } = await startConsumer(viaProxy.db);
      proxy.pause();

      // Writes while MongoDB is cut off: none of them waits for it or fails.
      const shop = await createShop(stack.auth);
      await openShift(stack, shop.cashier.token, shop.storeId);
      const p = await stockedProduct(stack, shop, 700, 0);
      for (let i = 0; i < 3; i++) {
        const started = Date.now();
        await sell(stack, shop.cashier.token, { storeId: shop.storeId, lines: [{ productId: p.id, quantity: 1 }], tenders: [{ method: 'cash', amount: usd(700) }] }).expect(201);
        expect(Date.now() - started).toBeLessThan(5_000);
      }
      const events = await publish(prefix, shop.tenantId);
      expect(events.length).toBeGreaterThanOrEqual(10);

      // The consumer keeps failing on the outage: the events wait in Redis, none is dead-lettered.
      await new Promise((r) => setTimeout(r, 2_000));
      expect(await stored(shop.tenantId)).toEqual([]);
      for (const service of AUDITED_SERVICES) expect(await redis.xlen(`${eventStream(service, prefix)}:dlq`)).toBe(0);
      const pending = (await redis.call('XPENDING', eventStream('auth-service', prefix), 'auth-service')) as [number, ...unknown[]];
      expect(pending[0]).toBeGreaterThan(0);

      proxy.resume();
      const docs = await waitForRecords(shop.tenantId, events.length);
      await drained(prefix);
      const after = await stored(shop.tenantId);
      expect(after).toHaveLength(events.length);
      expect(new Set(after.map((d) => d.eventId))).toEqual(new Set(events.map((e) => e.envelope.id)));
      expect(docs.filter((d) => d.action === 'sale.completed')).toHaveLength(3);
      for (const service of AUDITED_SERVICES) expect(await redis.xlen(`${eventStream(service, prefix)}:dlq`)).toBe(0);
    } finally {
      proxy.resume();
      await viaProxy.close();
      await proxy.close();
    }
  }, 60_000);

  it('when MongoDB is unreachable, then GET /api/v1/audit answers 503 problem+json quickly while logins and writes keep working', async () => {
    const proxy = await TcpProxy.forUri(process.env.MONGODB_URI!).start();
    proxy.pause();
    const svc = await startAuthService({ MONGODB_URI: proxy.uri() });
    try {
      const t = await registerTenant(svc.app, 'NoMongo');
      await request(svc.app).post('/api/v1/auth/login').send({ email: t.email, password: PASSWORD }).expect(200);
      await request(svc.app).post('/api/v1/stores').set(bearer(t.accessToken)).send({ name: 'Second', currency: 'USD', timezone: 'UTC', taxInclusive: false, allowNegativeStock: false }).expect(201);
      const started = Date.now();
      const res = await request(svc.app).get('/api/v1/audit').set(bearer(t.accessToken)).expect(503);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 503, code: 'audit_unavailable' });
    } finally {
      await svc.close();
      await proxy.close();
    }
  });

  describe('security events', () => {
    let svc: TestAuthService;
    let prefix: string;
    beforeAll(async () => {
      // No grace window, so a second use of a rotated refresh token is a reuse at once.
      svc = await startAuthService({ REFRESH_REUSE_GRACE_SECONDS: '0', LOGIN_MAX_FAILURES: '3', PIN_MAX_FAILURES: '3' });
      ({ prefix } = await startConsumer());
    });
    afterAll(() => svc.close());

    it('when a password is wrong until the account locks, a PIN is wrong until it locks, and a rotated refresh token is reused, then each is in the audit trail without the secret', async () => {
      const t = await registerTenant(svc.app, 'Secure');
      const cashierEmail = uniqueEmail('pin');
      const cashier = await request(svc.app).post('/api/v1/users').set(bearer(t.accessToken)).send({ email: cashierEmail, name: 'Pin Cashier', role: 'cashier', storeIds: [t.storeId], pin: '24681357' }).expect(201);
      for (let i = 0; i < 3; i++) await request(svc.app).post('/api/v1/auth/login').send({ email: t.email, password: `wrong-${i}-password` }).expect(401);
      await request(svc.app).post('/api/v1/auth/login').send({ email: t.email, password: PASSWORD }).expect(401); // locked
      for (let i = 0; i < 3; i++) await request(svc.app).post('/api/v1/auth/pin-login').send({ tenantId: t.tenantId, storeId: t.storeId, userId: cashier.body.id, pin: '99990000' });
      await request(svc.app).post('/api/v1/auth/pin-login').send({ tenantId: t.tenantId, storeId: t.storeId, userId: cashier.body.id, pin: '24681357' }).expect(429);
      const rotated = await request(svc.app).post('/api/v1/auth/refresh').send({ refreshToken: t.refreshToken }).expect(200);
      await request(svc.app).post('/api/v1/auth/refresh').send({ refreshToken: t.refreshToken }).expect(401);

      const events = await publish(prefix, t.tenantId);
      const docs = await waitForRecords(t.tenantId, events.length);
      const security = docs.filter((d) => d.category === 'security');
      const summary = security.map((d) => `${d.action}:${(d.details as { method?: string }).method ?? ''}:${(d.details as { reason?: string }).reason ?? ''}`).sort();
      expect(summary).toEqual(
        [
          'security.account_locked:password:',
          'security.account_locked:pin:',
          'security.login_failed:password:locked',
          'security.login_failed:password:wrong_password',
          'security.login_failed:password:wrong_password',
          'security.login_failed:password:wrong_password',
          'security.login_failed:pin:locked',
          'security.login_failed:pin:wrong_pin',
          'security.login_failed:pin:wrong_pin',
          'security.login_failed:pin:wrong_pin',
          'security.token_reused::',
        ].sort(),
      );
      expect(security.find((d) => d.action === 'security.account_locked' && (d.details as { method: string }).method === 'pin')).toMatchObject({
        actor: { id: cashier.body.id },
        storeId: t.storeId,
        details: { lockedUntil: expect.any(String) },
      });
      expect(security.find((d) => d.action === 'security.token_reused')).toMatchObject({ actor: { id: t.ownerId }, outcome: 'failure', details: { familyId: expect.any(String) } });
      const text = JSON.stringify(docs);
      for (const s of [PASSWORD, 'wrong-0-password', '99990000', '24681357', t.refreshToken, rotated.body.refreshToken, rotated.body.accessToken]) expect(text.includes(s)).toBe(false);
    });
  });
});

describe('auditRecord (pure mapping)', () => {
  const envelope = (type: string, data: Record<string, unknown>): EventEnvelope => ({
    id: randomUUID(),
    type,
    version: 1,
    tenantId: randomUUID(),
    occurredAt: '2025-05-01T12:00:00.000Z',
    requestId: 'req-1',
    data,
  });

  it('when an event carries one-time tokens or card-like numbers, then the record drops the tokens and masks the numbers', () => {
    const r = auditRecord(envelope('user.invited', { userId: randomUUID(), email: 'a@b.c', name: 'A', invitedBy: 'u1', setPasswordToken: 'spt_secret', expiresAt: 'x', note: 'card 4111111111111111' }));
    expect(r.details).not.toHaveProperty('setPasswordToken');
    expect(JSON.stringify(r)).not.toMatch(/spt_secret|4111111111111111/);
    expect(r).toMatchObject({ action: 'user.invited', category: 'user', actor: { id: 'u1', role: null }, requestId: 'req-1', occurredAt: new Date('2025-05-01T12:00:00.000Z') });
  });

  it('when an event type has no special mapping, then the resource is its entity and `<entity>Id`', () => {
    const giftCardId = randomUUID();
    const r = auditRecord(envelope('gift_card.issued', { giftCardId, storeId: 's1', actorId: 'u9', actorRole: 'manager' }));
    expect(r).toMatchObject({ resource: { type: 'gift_card', id: giftCardId }, storeId: 's1', actor: { id: 'u9', role: 'manager' }, source: 'payment-service', outcome: 'success' });
  });
});
