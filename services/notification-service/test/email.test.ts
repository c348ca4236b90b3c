import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { Pool } from '@pos/database';
import {
  adminPool,
  bearer,
  createShop,
  drain,
  serviceToken,
  startAuthServer,
  startNotifications,
  startSmtpServer,
  type AuthServer,
  type NotificationsUnderTest,
  type Shop,
  type SmtpSink,
} from './helpers';
import { refusedPort } from '../../../scripts/test/ports';

describe('notification-service email over SMTP', () => {
  let auth: AuthServer;
  let smtp: SmtpSink;
  let svc: NotificationsUnderTest;
  let shop: Shop;
  let otherShop: Shop;
  let admin: Pool;

  beforeAll(async () => {
    auth = await startAuthServer();
    smtp = await startSmtpServer();
    svc = await startNotifications({ AUTH_SERVICE_URL: auth.url, SMTP_PORT: String(smtp.port), SMTP_FROM: 'Shop Alerts <alerts@shop.test>' });
    shop = await createShop(auth);
    otherShop = await createShop(auth);
    svc.tenants.push(shop.tenantId, otherShop.tenantId);
    admin = adminPool();
  });
  afterAll(async () => {
    await svc.close();
    await smtp.close();
    await auth.close();
    await admin.end();
  });

  const send = (token: string, body: Record<string, unknown>, key: string | null = randomUUID()) => {
    const req = request(svc.app).post('/api/v1/notifications/email').set(bearer(token));
    if (key) req.set('Idempotency-Key', key);
    return req.send(body);
  };
  const get = (token: string, id: string) => request(svc.app).get(`/api/v1/notifications/${id}`).set(bearer(token));
  const deliveredTo = (address: string) => smtp.messages.filter((m) => m.to.includes(address));
  const statusOf = async (id: string) => (await admin.query('SELECT status FROM notifications.deliveries WHERE id = $1', [id])).rows[0]?.status as string;

  const receiptData = {
    customerName: 'Ada',
    receiptNumber: 'R-1001',
    businessDate: '2025-11-26',
    lines: [
      { quantity: 2, name: 'Espresso beans 250 g', sku: 'COF-ESP', unitPrice: '$8.99', total: '$17.98' },
      { quantity: 1, name: 'Mug, white', sku: 'MUG-WHT', unitPrice: '$12.00', total: '$12.00' },
    ],
    subtotal: '$29.98',
    taxTotal: '$2.47',
    total: '$32.45',
    tenders: [{ method: 'card', amount: '$32.45' }],
  };

  it('when a manager sends the receipt template, then the SMTP server receives it with the lines, and the log says sent after one attempt', async () => {
    const to = `ada-${randomUUID().slice(0, 6)}@example.test`;
    const res = await send(shop.manager.token, { to, template: 'receipt', data: receiptData }).expect(202);
    expect(res.body).toMatchObject({ channel: 'email', status: 'queued', to: [to], template: 'receipt', subject: 'Your receipt R-1001', attempts: 0, source: 'api', requestedBy: shop.manager.id });

    await drain(svc.worker, async () => (await statusOf(res.body.id)) === 'sent');
    const [mail, ...more] = deliveredTo(to);
    expect(more).toEqual([]);
    expect(mail!.from).toBe('alerts@shop.test');
    expect(mail!.subject).toBe('Your receipt R-1001');
    expect(mail!.messageId).toBe(`<${res.body.id}@cloud-pos>`);
    expect(mail!.text).toContain('Hello Ada,');
    expect(mail!.text).toContain('2 x Espresso beans 250 g (COF-ESP) @ $8.99 = $17.98\n1 x Mug, white (MUG-WHT) @ $12.00 = $12.00\n');
    expect(mail!.text).toContain('Total: $32.45');
    expect(mail!.text).toContain('Paid by card: $32.45');
    expect(mail!.text).not.toContain('Discounts');
    expect(mail!.html).toContain('<td>2 x Espresso beans 250 g (COF-ESP)</td>');

    const log = await get(shop.manager.token, res.body.id).expect(200);
    expect(log.body).toMatchObject({ status: 'sent', attempts: 1, lastError: null, providerMessageId: `<${res.body.id}@cloud-pos>`, sentAt: expect.any(String), nextAttemptAt: null });
    expect(log.body.text).toContain('2 x Espresso beans');
    expect(log.body.history).toEqual([{ attempt: 1, outcome: 'sent', error: null, startedAt: expect.any(String), finishedAt: expect.any(String) }]);
  });

  it('when the same send is retried with its Idempotency-Key, then one message goes out and the first answer comes back; another body with that key is 422', async () => {
    const to = `once-${randomUUID().slice(0, 6)}@example.test`;
    const key = randomUUID();
    const body = { to, subject: 'Store closes early', text: 'We close at {{time}} today.', data: { time: '4 pm' } };
    const first = await send(shop.accessToken, body, key).expect(202);
    const again = await send(shop.accessToken, body, key).expect(202);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    await send(shop.accessToken, { ...body, subject: 'Other' }, key).expect(422);
    const missing = await send(shop.accessToken, body, null).expect(400);
    expect(missing.body.code).toBe('idempotency_key_required');

    await drain(svc.worker, async () => (await statusOf(first.body.id)) === 'sent');
    await svc.worker.runOnce();
    expect(deliveredTo(to)).toHaveLength(1);
    expect(deliveredTo(to)[0]!.text.trim()).toBe('We close at 4 pm today.');
    const { rows } = await admin.query('SELECT count(*)::int AS n FROM notifications.deliveries WHERE tenant_id = $1 AND request_key = $2', [shop.tenantId, key]);
    expect(rows[0].n).toBe(1);
  });

  it('when inline html is sent with data holding markup, then the html part carries it escaped and the text part as is', async () => {
    const to = `html-${randomUUID().slice(0, 6)}@example.test`;
    const res = await send(shop.accessToken, {
      to: [to],
      subject: 'Hi {{name}}',
      text: 'Hi {{name}}',
      html: '<p>Hi {{name}}</p>',
      data: { name: '<script>alert("x")</script>' },
    }).expect(202);
    await drain(svc.worker, async () => (await statusOf(res.body.id)) === 'sent');
    const mail = deliveredTo(to)[0]!;
    expect(mail.html).toContain('<p>Hi &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</p>');
    expect(mail.html).not.toContain('<script>');
    expect(mail.text.trim()).toBe('Hi <script>alert("x")</script>');
  });

  it('when another service sends with a service token, then it is accepted and recorded as sent by the service', async () => {
    const token = await serviceToken(auth, shop.tenantId);
    const to = `svc-${randomUUID().slice(0, 6)}@example.test`;
    const res = await send(token, { to, subject: 'From a service', text: 'Hello' }).expect(202);
    expect(res.body.requestedBy).toBe('svc:notification-service');
    await drain(svc.worker, async () => (await statusOf(res.body.id)) === 'sent');
    expect(deliveredTo(to)).toHaveLength(1);
  });

  it('when the SMTP server refuses the recipient (550), then the delivery fails at once with that error and is not retried', async () => {
    const to = `nobody-${randomUUID().slice(0, 6)}@example.test`;
    smtp.refuse.add(to);
    const res = await send(shop.accessToken, { to, subject: 'Hi', text: 'Hi' }).expect(202);
    await drain(svc.worker, async () => (await statusOf(res.body.id)) === 'failed');
    const log = await get(shop.accessToken, res.body.id).expect(200);
    expect(log.body).toMatchObject({ status: 'failed', attempts: 1, failedAt: expect.any(String), lastError: expect.stringMatching(/^SMTP: .*550/) });
    expect(deliveredTo(to)).toEqual([]);
  });

  it('when the fields are wrong, then 400 naming each; an unknown template or card data is refused; nothing is queued', async () => {
    const bad = await send(shop.accessToken, { to: 'not-an-email', template: 'receipt', text: 'x' }).expect(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['subject', 'template', 'to']);
    const unknown = await send(shop.accessToken, { to: 'a@example.test', template: 'no_such' }).expect(400);
    expect(unknown.body).toMatchObject({ code: 'unknown_template', errors: [{ path: 'template', message: expect.any(String) }] });
    const tags = await send(shop.accessToken, { to: 'a@example.test', subject: 'x', text: 'Hi {{#open}}' }).expect(400);
    expect(tags.body).toMatchObject({ code: 'invalid_template', errors: [{ path: 'text', message: expect.stringMatching(/never closed/) }] });
    const card = await send(shop.accessToken, { to: 'a@example.test', subject: 'x', text: 'card 4111 1111 1111 1111' }).expect(400);
    expect(card.body).toMatchObject({ code: 'card_data_refused', errors: [{ path: 'text', message: expect.any(String) }] });
    const { rows } = await admin.query("SELECT count(*)::int AS n FROM notifications.deliveries WHERE tenant_id = $1 AND 'a@example.test' = ANY(recipients)", [shop.tenantId]);
    expect(rows[0].n).toBe(0);
  });

  it('when a cashier tries to send or read the log, then 403', async () => {
    await send(shop.cashier.token, { to: 'a@example.test', subject: 'x', text: 'y' }).expect(403);
    await request(svc.app).get('/api/v1/notifications').set(bearer(shop.cashier.token)).expect(403);
    await get(shop.cashier.token, randomUUID()).expect(403);
  });

  it("when the log is listed, then it holds only the tenant's deliveries, newest first, filtered and paged; another tenant's delivery is 404", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await send(otherShop.accessToken, { to: `page${i}@example.test`, subject: `n${i}`, text: 'x' }).expect(202)).body.id);
    const page1 = await request(svc.app).get('/api/v1/notifications').query({ limit: 2, channel: 'email', status: 'queued' }).set(bearer(otherShop.accessToken)).expect(200);
    expect(page1.body.data.map((d: { id: string }) => d.id)).toEqual([ids[2], ids[1]]);
    expect(page1.body.nextCursor).toEqual(expect.any(String));
    const page2 = await request(svc.app).get('/api/v1/notifications').query({ limit: 2, channel: 'email', status: 'queued', cursor: page1.body.nextCursor }).set(bearer(otherShop.accessToken)).expect(200);
    expect(page2.body).toEqual({ data: [expect.objectContaining({ id: ids[0] })], nextCursor: null });
    const sms = await request(svc.app).get('/api/v1/notifications').query({ channel: 'sms' }).set(bearer(otherShop.accessToken)).expect(200);
    expect(sms.body.data).toEqual([]);

    await get(shop.accessToken, ids[0]!).expect(404);
    const mine = await request(svc.app).get('/api/v1/notifications').query({ limit: 200 }).set(bearer(shop.accessToken)).expect(200);
    expect(mine.body.data.map((d: { id: string }) => d.id)).not.toEqual(expect.arrayContaining([ids[0]]));
    const badQuery = await request(svc.app).get('/api/v1/notifications').query({ status: 'lost', cursor: 'zzz' }).set(bearer(shop.accessToken)).expect(400);
    expect(badQuery.body.errors.map((e: { path: string }) => e.path)).toContain('query.status');
  });
});

describe('notification-service email when SMTP is unreachable or needs a login', () => {
  let auth: AuthServer;
  let shop: Shop;
  let admin: Pool;
  beforeAll(async () => {
    auth = await startAuthServer();
    shop = await createShop(auth);
    admin = adminPool();
  });
  afterAll(async () => {
    await auth.close();
    await admin.end();
  });

  it('when SMTP keeps refusing connections, then after DELIVERY_MAX_ATTEMPTS the delivery is failed with lastError and every attempt is recorded', async () => {
    const svc = await startNotifications({ AUTH_SERVICE_URL: auth.url, SMTP_PORT: String(await refusedPort()), DELIVERY_MAX_ATTEMPTS: '3' });
    svc.tenants.push(shop.tenantId);
    try {
      const res = await request(svc.app).post('/api/v1/notifications/email').set(bearer(shop.accessToken)).set('Idempotency-Key', randomUUID()).send({ to: 'down@example.test', subject: 'x', text: 'y' }).expect(202);
      expect(res.body.maxAttempts).toBe(3);
      for (let i = 0; i < 2; i++) {
        await svc.worker.runOnce();
        const mid = await request(svc.app).get(`/api/v1/notifications/${res.body.id}`).set(bearer(shop.accessToken)).expect(200);
        expect(mid.body).toMatchObject({ status: 'queued', attempts: i + 1, lastError: expect.stringMatching(/ECONNREFUSED|connect/i), nextAttemptAt: expect.any(String) });
      }
      await svc.worker.runOnce();
      const done = await request(svc.app).get(`/api/v1/notifications/${res.body.id}`).set(bearer(shop.accessToken)).expect(200);
      expect(done.body).toMatchObject({ status: 'failed', attempts: 3, failedAt: expect.any(String), lastError: expect.stringMatching(/ECONNREFUSED|connect/i) });
      expect(done.body.history.map((a: { attempt: number; outcome: string }) => [a.attempt, a.outcome])).toEqual([
        [1, 'error'],
        [2, 'error'],
        [3, 'error'],
      ]);
      await svc.worker.runOnce();
      const { rows } = await admin.query('SELECT status, attempts FROM notifications.deliveries WHERE id = $1', [res.body.id]);
      expect(rows[0]).toEqual({ status: 'failed', attempts: 3 });
      const failed = await request(svc.app).get('/api/v1/notifications').query({ status: 'failed' }).set(bearer(shop.accessToken)).expect(200);
      expect(failed.body.data.map((d: { id: string }) => d.id)).toContain(res.body.id);
    } finally {
      await svc.close();
    }
  });

  it('when SMTP_USER and SMTP_PASSWORD are configured, then the message is sent after authenticating', async () => {
    const smtp = await startSmtpServer({ auth: { user: 'pos-mailer', pass: 'mail-secret-1' } });
    const svc = await startNotifications({ AUTH_SERVICE_URL: auth.url, SMTP_PORT: String(smtp.port), SMTP_USER: 'pos-mailer', SMTP_PASSWORD: 'mail-secret-1' });
    svc.tenants.push(shop.tenantId);
    try {
      const res = await request(svc.app).post('/api/v1/notifications/email').set(bearer(shop.accessToken)).set('Idempotency-Key', randomUUID()).send({ to: 'auth@example.test', subject: 'Authenticated', text: 'y' }).expect(202);
      await drain(svc.worker, async () => (await admin.query('SELECT status FROM notifications.deliveries WHERE id = $1', [res.body.id])).rows[0].status === 'sent');
      expect(smtp.messages.map((m) => [m.to, m.subject])).toEqual([[['auth@example.test'], 'Authenticated']]);
    } finally {
      await svc.close();
      await smtp.close();
    }
  });
});
