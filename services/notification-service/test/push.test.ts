import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { generateVAPIDKeys } from 'web-push';
import type { Pool } from '@pos/database';
import {
  adminPool,
  bearer,
  browserSubscription,
  createShop,
  drain,
  serviceToken,
  startAuthServer,
  startHttpStub,
  startNotifications,
  verifyVapid,
  type AuthServer,
  type HttpStub,
  type NotificationsUnderTest,
  type Shop,
} from './helpers';

describe('notification-service Web Push', () => {
  let auth: AuthServer;
  let pushService: HttpStub;
  let svc: NotificationsUnderTest;
  let shop: Shop;
  let otherShop: Shop;
  let admin: Pool;
  const vapid = generateVAPIDKeys();
  /** Paths of the local push service that answer 410 Gone (unsubscribed browsers). */
  const gone = new Set<string>();

  beforeAll(async () => {
    auth = await startAuthServer();
    pushService = await startHttpStub((req) => (gone.has(req.path) ? { status: 410, body: { reason: 'unsubscribed' } } : { status: 201 }));
    svc = await startNotifications({ AUTH_SERVICE_URL: auth.url, VAPID_PUBLIC_KEY: vapid.publicKey, VAPID_PRIVATE_KEY: vapid.privateKey, VAPID_SUBJECT: 'mailto:ops@shop.test' });
    shop = await createShop(auth);
    otherShop = await createShop(auth);
    svc.tenants.push(shop.tenantId, otherShop.tenantId);
    admin = adminPool();
  });
  afterAll(async () => {
    await svc.close();
    await pushService.close();
    await auth.close();
    await admin.end();
  });

  const subscribe = (token: string, sub: { endpoint: string; keys: { p256dh: string; auth: string } }, deviceId?: string) =>
    request(svc.app)
      .post('/api/v1/notifications/push/subscriptions')
      .set(bearer(token))
      .send({ subscription: { endpoint: sub.endpoint, expirationTime: null, keys: sub.keys }, ...(deviceId ? { deviceId } : {}), userAgent: 'Test browser' });
  const push = (token: string, body: Record<string, unknown>, key = randomUUID()) =>
    request(svc.app).post('/api/v1/notifications/push').set(bearer(token)).set('Idempotency-Key', key).send(body);
  const statusOf = async (id: string) => (await admin.query('SELECT status FROM notifications.deliveries WHERE id = $1', [id])).rows[0]?.status as string;
  const callsTo = (path: string) => pushService.requests.filter((r) => r.path === path);

  it('when a cashier subscribes a browser and a manager pushes to them, then the push service gets an aes128gcm-encrypted message with VAPID auth that the browser can decrypt', async () => {
    const path = `/push/${randomUUID()}`;
    const browser = browserSubscription(`${pushService.url}${path}`);
    const created = await subscribe(shop.cashier.token, browser, 'register-1').expect(201);
    expect(created.body).toMatchObject({ userId: shop.cashier.id, deviceId: 'register-1', endpointOrigin: pushService.url, userAgent: 'Test browser' });

    const res = await push(shop.manager.token, { userId: shop.cashier.id, title: 'Shift change', body: 'Please close register 1', url: '/shifts' }).expect(202);
    expect(res.body).toMatchObject({ channel: 'push', status: 'queued', to: [shop.cashier.id], subject: 'Shift change' });
    await drain(svc.worker, async () => (await statusOf(res.body.id)) === 'sent');

    const [call, ...more] = callsTo(path);
    expect(more).toEqual([]);
    expect(call!.method).toBe('POST');
    expect(call!.headers['content-encoding']).toBe('aes128gcm');
    expect(call!.headers['content-type']).toBe('application/octet-stream');
    expect(call!.headers.ttl).toBe('86400');
    expect(call!.headers.authorization).toMatch(/^vapid t=[\w-]+\.[\w-]+\.[\w-]+, k=[\w-]+$/);
    const claims = verifyVapid(call!.headers.authorization!, vapid.publicKey);
    expect(claims).toMatchObject({ aud: pushService.url, sub: 'mailto:ops@shop.test' });
    expect(claims.exp).toBeGreaterThan(Date.now() / 1000);
    // Encrypted on the wire: the plaintext is not in the body, and only the browser's keys open it.
    expect(call!.body.toString('latin1')).not.toContain('Shift change');
    expect(JSON.parse(browser.decrypt(call!.body))).toEqual({ title: 'Shift change', body: 'Please close register 1', url: '/shifts', deliveryId: res.body.id });
  });

  it('when the push service answers 410 Gone for one device, then that subscription is removed and the other device still gets the message', async () => {
    const goneUser = shop.manager;
    const deadPath = `/push/${randomUUID()}`;
    const livePath = `/push/${randomUUID()}`;
    gone.add(deadPath);
    const dead = await subscribe(goneUser.token, browserSubscription(`${pushService.url}${deadPath}`), 'old-phone').expect(201);
    await subscribe(goneUser.token, browserSubscription(`${pushService.url}${livePath}`), 'laptop').expect(201);

    const res = await push(shop.accessToken, { userId: goneUser.id, title: 'Low stock', body: 'Mugs are low' }).expect(202);
    await drain(svc.worker, async () => (await statusOf(res.body.id)) === 'sent');
    expect(callsTo(deadPath)).toHaveLength(1);
    expect(callsTo(livePath)).toHaveLength(1);
    const { rows } = await admin.query('SELECT device_id FROM notifications.push_subscriptions WHERE tenant_id = $1 AND user_id = $2 ORDER BY device_id', [shop.tenantId, goneUser.id]);
    expect(rows.map((r) => r.device_id)).toEqual(['laptop']);
    const mine = await request(svc.app).get('/api/v1/notifications/push/subscriptions').set(bearer(goneUser.token)).expect(200);
    expect(mine.body.data.map((s: { id: string }) => s.id)).not.toContain(dead.body.id);
  });

  it("when the user's only subscription is gone (410), then it is removed and the delivery fails saying so", async () => {
    const t = await createShop(auth);
    svc.tenants.push(t.tenantId);
    const path = `/push/${randomUUID()}`;
    gone.add(path);
    await subscribe(t.cashier.token, browserSubscription(`${pushService.url}${path}`)).expect(201);
    const res = await push(t.accessToken, { userId: t.cashier.id, title: 'Hi', body: 'There' }).expect(202);
    await drain(svc.worker, async () => (await statusOf(res.body.id)) === 'failed');
    const log = await request(svc.app).get(`/api/v1/notifications/${res.body.id}`).set(bearer(t.accessToken)).expect(200);
    expect(log.body).toMatchObject({ status: 'failed', attempts: 1, lastError: expect.stringMatching(/^no_subscription: every push subscription of the user is gone/) });
    const { rows } = await admin.query('SELECT count(*)::int AS n FROM notifications.push_subscriptions WHERE tenant_id = $1', [t.tenantId]);
    expect(rows[0].n).toBe(0);
    // Nothing left to push to: a new push is refused up front.
    const again = await push(t.accessToken, { userId: t.cashier.id, title: 'Hi', body: 'Again' }).expect(409);
    expect(again.body.code).toBe('no_push_subscription');
  });

  it('when the same device subscribes again, then its subscription is replaced (200), and each user lists and deletes only their own', async () => {
    const first = browserSubscription(`${pushService.url}/push/${randomUUID()}`);
    const second = browserSubscription(`${pushService.url}/push/${randomUUID()}`);
    const a = await subscribe(otherShop.cashier.token, first, 'tablet').expect(201);
    const b = await subscribe(otherShop.cashier.token, second, 'tablet').expect(200);
    expect(b.body.id).toBe(a.body.id);
    const { rows } = await admin.query('SELECT endpoint, p256dh FROM notifications.push_subscriptions WHERE id = $1', [a.body.id]);
    expect(rows[0]).toEqual({ endpoint: second.endpoint, p256dh: second.keys.p256dh });

    const managerView = await request(svc.app).get('/api/v1/notifications/push/subscriptions').set(bearer(otherShop.manager.token)).expect(200);
    expect(managerView.body.data).toEqual([]);
    await request(svc.app).delete(`/api/v1/notifications/push/subscriptions/${a.body.id}`).set(bearer(otherShop.manager.token)).expect(404);
    await request(svc.app).delete(`/api/v1/notifications/push/subscriptions/${a.body.id}`).set(bearer(shop.accessToken)).expect(404);
    await request(svc.app).delete(`/api/v1/notifications/push/subscriptions/${a.body.id}`).set(bearer(otherShop.cashier.token)).expect(204);
    const after = await request(svc.app).get('/api/v1/notifications/push/subscriptions').set(bearer(otherShop.cashier.token)).expect(200);
    expect(after.body.data).toEqual([]);
  });

  it('when the subscription is malformed or the endpoint carries credentials, then 400 naming the fields', async () => {
    const bad = await request(svc.app)
      .post('/api/v1/notifications/push/subscriptions')
      .set(bearer(shop.cashier.token))
      .send({ subscription: { endpoint: 'not a url', keys: { p256dh: 'short', auth: '' } } })
      .expect(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['subscription.endpoint', 'subscription.keys.auth', 'subscription.keys.p256dh']);
    const creds = browserSubscription('http://user:pw@127.0.0.1:9/push/x');
    const res = await subscribe(shop.cashier.token, creds).expect(400);
    expect(res.body.errors).toEqual([{ path: 'subscription.endpoint', message: 'must not carry credentials' }]);
  });

  it('when a cashier pushes, or a service subscribes, then 403; pushing to a user of another tenant finds no subscription (409)', async () => {
    await push(shop.cashier.token, { userId: shop.cashier.id, title: 'x', body: 'y' }).expect(403);
    const svcToken = await serviceToken(auth, shop.tenantId);
    await subscribe(svcToken, browserSubscription(`${pushService.url}/push/${randomUUID()}`)).expect(403);
    await push(svcToken, { userId: shop.cashier.id, title: 'From a service', body: 'ok' }).expect(202);
    const foreign = await push(otherShop.accessToken, { userId: shop.cashier.id, title: 'x', body: 'y' }).expect(409);
    expect(foreign.body.code).toBe('no_push_subscription');
  });
});

describe('notification-service Web Push without VAPID keys', () => {
  it('when push is not configured, then sending answers 503 while subscriptions are still stored', async () => {
    const auth = await startAuthServer();
    const svc = await startNotifications({ AUTH_SERVICE_URL: auth.url, PUSH_ALLOW_HTTP_ENDPOINTS: 'false' });
    try {
      const shop = await createShop(auth);
      const http = browserSubscription('http://127.0.0.1:9/push/x');
      const refused = await request(svc.app).post('/api/v1/notifications/push/subscriptions').set(bearer(shop.cashier.token)).send({ subscription: http }).expect(400);
      expect(refused.body.errors).toEqual([{ path: 'subscription.endpoint', message: 'must be https' }]);
      const https = browserSubscription('https://push.example.test/send/abc');
      await request(svc.app).post('/api/v1/notifications/push/subscriptions').set(bearer(shop.cashier.token)).send({ subscription: https }).expect(201);
      const res = await request(svc.app).post('/api/v1/notifications/push').set(bearer(shop.accessToken)).set('Idempotency-Key', randomUUID()).send({ userId: shop.cashier.id, title: 'x', body: 'y' }).expect(503);
      expect(res.body.code).toBe('push_not_configured');
    } finally {
      await svc.close();
      await auth.close();
    }
  });
});
