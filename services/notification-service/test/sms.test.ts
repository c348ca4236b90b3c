import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { Pool } from '@pos/database';
import {
  adminPool,
  bearer,
  createShop,
  drain,
  startAuthServer,
  startHttpStub,
  startNotifications,
  type AuthServer,
  type HttpStub,
  type NotificationsUnderTest,
  type Shop,
} from './helpers';

describe('notification-service SMS through the HTTP provider', () => {
  let auth: AuthServer;
  let provider: HttpStub;
  let svc: NotificationsUnderTest;
  let shop: Shop;
  let otherShop: Shop;
  let admin: Pool;
  /** Status codes the provider answers next (then 201). */
  const script: number[] = [];

  beforeAll(async () => {
    auth = await startAuthServer();
    provider = await startHttpStub((req) => {
      const status = script.shift() ?? 201;
      return status === 201 ? { status, body: { sid: `SM${req.body.length}${randomUUID().slice(0, 6)}`, status: 'queued' } } : { status, body: status === 400 ? { code: 21211, message: 'The To number is not valid', status } : { message: 'Service unavailable', status } };
    });
    svc = await startNotifications({
      AUTH_SERVICE_URL: auth.url,
      SMS_PROVIDER_URL: `${provider.url}/2010-04-01/Accounts/AC123/Messages.json`,
      SMS_ACCOUNT_SID: 'AC123',
      SMS_AUTH_TOKEN: 'sms-token-456',
      SMS_FROM: '+15005550006',
    });
    shop = await createShop(auth);
    otherShop = await createShop(auth);
    svc.tenants.push(shop.tenantId, otherShop.tenantId);
    admin = adminPool();
  });
  afterAll(async () => {
    await svc.close();
    await provider.close();
    await auth.close();
    await admin.end();
  });

  const send = (token: string, body: Record<string, unknown>, key = randomUUID()) =>
    request(svc.app).post('/api/v1/notifications/sms').set(bearer(token)).set('Idempotency-Key', key).send(body);
  const statusOf = async (id: string) => (await admin.query('SELECT status FROM notifications.deliveries WHERE id = $1', [id])).rows[0]?.status as string;
  const requestsTo = (to: string) => provider.requests.filter((r) => new URLSearchParams(r.body.toString()).get('To') === to);

  it('when a manager sends an SMS, then the provider gets a Twilio-style form POST with basic auth, and the log holds its message id', async () => {
    const to = `+1415555${String(Date.now()).slice(-4)}`;
    const res = await send(shop.manager.token, { to, text: 'Your order {{order}} is ready for pickup', data: { order: 'A-17' } }).expect(202);
    expect(res.body).toMatchObject({ channel: 'sms', status: 'queued', to: [to], subject: null });
    await drain(svc.worker, async () => (await statusOf(res.body.id)) === 'sent');

    const [call, ...more] = requestsTo(to);
    expect(more).toEqual([]);
    expect(call!.method).toBe('POST');
    expect(call!.path).toBe('/2010-04-01/Accounts/AC123/Messages.json');
    expect(call!.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(call!.headers.authorization).toBe(`Basic ${Buffer.from('AC123:sms-token-456').toString('base64')}`);
    expect(Object.fromEntries(new URLSearchParams(call!.body.toString()))).toEqual({ To: to, From: '+15005550006', Body: 'Your order A-17 is ready for pickup' });
    const log = await request(svc.app).get(`/api/v1/notifications/${res.body.id}`).set(bearer(shop.manager.token)).expect(200);
    expect(log.body).toMatchObject({ status: 'sent', attempts: 1, providerMessageId: expect.stringMatching(/^SM/), text: 'Your order A-17 is ready for pickup' });
  });

  it('when the provider is down (503) twice, then the SMS is retried with backoff and sent once it answers', async () => {
    const to = '+14155550100';
    script.push(503, 503);
    const res = await send(shop.accessToken, { to, text: 'Retry me' }).expect(202);
    await drain(svc.worker, async () => (await statusOf(res.body.id)) === 'sent');
    expect(requestsTo(to).map(() => 'call')).toHaveLength(3);
    const log = await request(svc.app).get(`/api/v1/notifications/${res.body.id}`).set(bearer(shop.accessToken)).expect(200);
    expect(log.body.history.map((a: { outcome: string; error: string | null }) => [a.outcome, a.error])).toEqual([
      ['error', 'SMS provider answered 503: Service unavailable'],
      ['error', 'SMS provider answered 503: Service unavailable'],
      ['sent', null],
    ]);
  });

  it('when the provider refuses the number (400), then the SMS fails at once with the provider message', async () => {
    script.push(400);
    const res = await send(shop.accessToken, { to: '+14155550111', text: 'Nope' }).expect(202);
    await drain(svc.worker, async () => (await statusOf(res.body.id)) === 'failed');
    const log = await request(svc.app).get(`/api/v1/notifications/${res.body.id}`).set(bearer(shop.accessToken)).expect(200);
    expect(log.body).toMatchObject({ status: 'failed', attempts: 1, lastError: 'SMS provider answered 400: The To number is not valid' });
  });

  it('when the number is not E.164 or both template and text are given, then 400 naming the fields', async () => {
    const res = await send(shop.accessToken, { to: '0049 171 1234', template: 'low_stock', text: 'x' }).expect(400);
    expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['template', 'to']);
  });

  it('when a template is used, then its text body is rendered into the SMS', async () => {
    const to = '+14155550122';
    const res = await send(shop.accessToken, { to, template: 'low_stock', data: { name: 'Mug', sku: 'MUG', onHand: 2, reorderPoint: 4, storeName: 'Main' } }).expect(202);
    await drain(svc.worker, async () => (await statusOf(res.body.id)) === 'sent');
    const body = new URLSearchParams(requestsTo(to)[0]!.body.toString()).get('Body');
    expect(body).toBe('Mug (SKU MUG) is down to 2 at Main; its reorder point is 4.\n\nTime to reorder.');
  });

  it("when a cashier sends an SMS, then 403; another tenant's SMS is 404", async () => {
    await send(shop.cashier.token, { to: '+14155550133', text: 'x' }).expect(403);
    const theirs = await send(otherShop.accessToken, { to: '+14155550144', text: 'x' }).expect(202);
    await request(svc.app).get(`/api/v1/notifications/${theirs.body.id}`).set(bearer(shop.accessToken)).expect(404);
  });

  it('when SMS is not configured, then the route answers 503 and queues nothing', async () => {
    const bare = await startNotifications({ AUTH_SERVICE_URL: auth.url });
    try {
      const res = await request(bare.app).post('/api/v1/notifications/sms').set(bearer(shop.accessToken)).set('Idempotency-Key', randomUUID()).send({ to: '+14155550155', text: 'x' }).expect(503);
      expect(res.body.code).toBe('sms_not_configured');
      const { rows } = await admin.query("SELECT count(*)::int AS n FROM notifications.deliveries WHERE tenant_id = $1 AND recipients = '{+14155550155}'", [shop.tenantId]);
      expect(rows[0].n).toBe(0);
    } finally {
      await bare.close();
    }
  });
});
