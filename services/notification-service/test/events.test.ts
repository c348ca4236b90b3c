import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { Pool } from '@pos/database';
import {
  PASSWORD,
  adminPool,
  bearer,
  createShop,
  drain,
  envelope,
  jwtPayload,
  saleView,
  startAuthServer,
  startCustomerStub,
  startEvents,
  startHttpStub,
  startNotifications,
  startSmtpServer,
  uniqueEmail,
  waitFor,
  type AuthServer,
  type HttpStub,
  type NotificationsUnderTest,
  type Shop,
  type SmtpSink,
  type TestEvents,
} from './helpers';
import { portBelowEphemeralRange } from '../../../scripts/test/ports';

type CustomerStub = HttpStub & { customers: Map<string, { id: string; name: string; email: string | null }> };

describe('notification-service event consumers', () => {
  let auth: AuthServer;
  let customers: CustomerStub;
  let smtp: SmtpSink;
  let svc: NotificationsUnderTest;
  let events: TestEvents;
  let shop: Shop;
  let optedOut: Shop;
  let admin: Pool;

  beforeAll(async () => {
    auth = await startAuthServer();
    customers = await startCustomerStub();
    smtp = await startSmtpServer();
    svc = await startNotifications({ AUTH_SERVICE_URL: auth.url, CUSTOMER_SERVICE_URL: customers.url, SMTP_PORT: String(smtp.port), APP_PUBLIC_URL: 'https://pos.example.test' });
    events = await startEvents(svc);
    shop = await createShop(auth);
    optedOut = await createShop(auth);
    svc.tenants.push(shop.tenantId, optedOut.tenantId);
    await request(svc.app).put('/api/v1/notifications/settings').set(bearer(shop.accessToken)).send({ receiptEmails: true }).expect(200);
    admin = adminPool();
  });
  afterAll(async () => {
    await events.close();
    await svc.close();
    await smtp.close();
    await customers.close();
    await auth.close();
    await admin.end();
  });

  const deliveriesOf = async (eventId: string) => (await admin.query('SELECT * FROM notifications.deliveries WHERE event_id = $1', [eventId])).rows;
  const handled = async (eventId: string) => (await admin.query('SELECT 1 FROM notifications.inbox WHERE event_id = $1', [eventId])).rowCount === 1;
  const statusOf = async (id: string) => (await admin.query('SELECT status FROM notifications.deliveries WHERE id = $1', [id])).rows[0]?.status as string;
  const mailTo = (address: string) => smtp.messages.filter((m) => m.to.includes(address));
  const newCustomer = (email: string | null = `cust-${randomUUID().slice(0, 8)}@example.test`) => {
    const c = { id: randomUUID(), name: 'Ada Lovelace', email };
    customers.customers.set(c.id, c);
    return c;
  };

  it('when a sale with a customer completes in an opted-in tenant, then the customer receives the receipt with every line, looked up with a service token', async () => {
    const customer = newCustomer();
    const sale = saleView(shop.storeId, customer.id);
    const event = envelope('sale.completed', shop.tenantId, sale);
    await events.publish('transaction-service', event);
    await waitFor(async () => (await deliveriesOf(event.id)).length === 1, 'receipt delivery');
    const [delivery] = await deliveriesOf(event.id);
    expect(delivery).toMatchObject({ tenant_id: shop.tenantId, channel: 'email', status: 'queued', source: 'event', event_type: 'sale.completed', template: 'receipt', request_id: event.requestId, lookup: { kind: 'customer', customerId: customer.id } });

    await drain(svc.worker, async () => (await statusOf(delivery.id)) === 'sent');
    const [mail, ...more] = mailTo(customer.email!);
    expect(more).toEqual([]);
    expect(mail!.subject).toBe('Your receipt 42');
    expect(mail!.text).toContain('Hello Ada Lovelace,');
    expect(mail!.text).toContain('Receipt 42 of 2025-11-26');
    expect(mail!.text).toContain('2 x Espresso beans 250 g (COF-ESP) @ $8.99 = $19.46\n1 x Mug, white (MUG-WHT) @ $12.00 = $11.69');
    expect(mail!.text).toContain('Total: $31.15');
    expect(mail!.text).toContain('Change: $8.85');
    expect(mail!.html).toContain('<td>1 x Mug, white (MUG-WHT)</td>');

    const lookup = customers.requests.find((r) => r.path === `/api/v1/customers/${customer.id}`)!;
    expect(jwtPayload(lookup.headers.authorization!.slice('Bearer '.length))).toMatchObject({ role: 'service', sub: 'svc:notification-service', tid: shop.tenantId });
    expect(lookup.headers['x-request-id']).toBe(event.requestId);

    const log = await request(svc.app).get(`/api/v1/notifications/${delivery.id}`).set(bearer(shop.accessToken)).expect(200);
    expect(log.body).toMatchObject({ status: 'sent', to: [customer.email], eventId: event.id, eventType: 'sale.completed', source: 'event', subject: 'Your receipt 42' });
  });

  it('when the tenant has not opted in, or the sale names no customer, then the event is handled and nothing is queued', async () => {
    const customer = newCustomer();
    const notOptedIn = envelope('sale.completed', optedOut.tenantId, saleView(optedOut.storeId, customer.id));
    const noCustomer = envelope('sale.completed', shop.tenantId, saleView(shop.storeId, null));
    await events.publish('transaction-service', notOptedIn);
    await events.publish('transaction-service', noCustomer);
    await waitFor(async () => (await handled(notOptedIn.id)) && (await handled(noCustomer.id)), 'events handled');
    expect(await deliveriesOf(notOptedIn.id)).toEqual([]);
    expect(await deliveriesOf(noCustomer.id)).toEqual([]);
  });

  it('when customer-service is briefly down, then the receipt is retried and sent; a customer without an email fails without retries', async () => {
    const customer = newCustomer();
    let outages = 2;
    const respond = customers.respond;
    customers.respond = (req) => (req.path.endsWith(customer.id) && outages-- > 0 ? { status: 503, body: { status: 503 } } : respond(req));
    try {
      const event = envelope('sale.completed', shop.tenantId, saleView(shop.storeId, customer.id));
      await events.publish('transaction-service', event);
      await waitFor(async () => (await deliveriesOf(event.id)).length === 1);
      const [delivery] = await deliveriesOf(event.id);
      await drain(svc.worker, async () => (await statusOf(delivery.id)) === 'sent');
      const log = await request(svc.app).get(`/api/v1/notifications/${delivery.id}`).set(bearer(shop.accessToken)).expect(200);
      expect(log.body.history.map((a: { outcome: string }) => a.outcome)).toEqual(['error', 'error', 'sent']);
      expect(log.body.history[0].error).toMatch(/answered 503/);
      expect(mailTo(customer.email!)).toHaveLength(1);
    } finally {
      customers.respond = respond;
    }

    const silent = newCustomer(null);
    const event = envelope('sale.completed', shop.tenantId, saleView(shop.storeId, silent.id));
    await events.publish('transaction-service', event);
    await waitFor(async () => (await deliveriesOf(event.id)).length === 1);
    const [delivery] = await deliveriesOf(event.id);
    await drain(svc.worker, async () => (await statusOf(delivery.id)) === 'failed');
    expect((await deliveriesOf(event.id))[0]).toMatchObject({ attempts: 1, last_error: 'no_recipient: the customer has no email address' });
  });

  it('when stock.low arrives twice (a redelivery), then one email goes to the store managers (from auth-service) and the configured recipients', async () => {
    const buyer = `buyer-${randomUUID().slice(0, 6)}@example.test`;
    await request(svc.app).put('/api/v1/notifications/settings').set(bearer(shop.accessToken)).send({ lowStockRecipients: [buyer] }).expect(200);
    const event = envelope('stock.low', shop.tenantId, { storeId: shop.storeId, productId: randomUUID(), sku: 'MUG-WHT', name: 'Mug, white', onHand: 3, reorderPoint: 4 });
    await events.publish('inventory-service', event);
    await events.publish('inventory-service', event);
    await waitFor(async () => (await deliveriesOf(event.id)).length === 1);
    const [delivery] = await deliveriesOf(event.id);
    await drain(svc.worker, async () => (await statusOf(delivery.id)) === 'sent');
    // Let the consumer read and acknowledge the second copy too before counting.
    await events.settled('inventory-service');
    await svc.worker.runOnce();

    expect(await deliveriesOf(event.id)).toHaveLength(1);
    const mails = smtp.messages.filter((m) => m.subject.startsWith('Low stock: Mug, white'));
    expect(mails.filter((m) => m.to.includes(buyer))).toHaveLength(1);
    const mail = mails.find((m) => m.to.includes(buyer))!;
    expect(mail.to.sort()).toEqual([buyer, shop.manager.email].sort());
    expect(mail.to).not.toContain(shop.cashier.email);
    expect(mail.subject).toBe('Low stock: Mug, white (MUG-WHT) at Main Street');
    expect(mail.text).toContain('Mug, white (SKU MUG-WHT) is down to 3 at Main Street; its reorder point is 4.');
  });

  it('when the inbox record were lost and the event came again, then the unique (tenant, event, channel) still keeps one delivery and one email', async () => {
    const event = envelope('stock.low', shop.tenantId, { storeId: shop.storeId, productId: randomUUID(), sku: 'TEA-GRN', name: 'Green tea', onHand: 1, reorderPoint: 5 });
    await events.publish('inventory-service', event);
    await waitFor(async () => (await deliveriesOf(event.id)).length === 1);
    await drain(svc.worker, async () => (await statusOf((await deliveriesOf(event.id))[0].id)) === 'sent');
    await admin.query('DELETE FROM notifications.inbox WHERE event_id = $1', [event.id]);
    await events.publish('inventory-service', event);
    await waitFor(() => handled(event.id), 'redelivered event handled');
    await svc.worker.runOnce();
    expect(await deliveriesOf(event.id)).toHaveLength(1);
    expect(smtp.messages.filter((m) => m.subject.startsWith('Low stock: Green tea'))).toHaveLength(1);
  });

  it('when auth-service invites a user, then they get an email whose link carries the real token (it sets their password), and the log never shows it', async () => {
    const email = uniqueEmail('invitee');
    await request(auth.svc.app).post('/api/v1/users').set(bearer(shop.accessToken)).send({ email, name: 'Ivy Invitee', role: 'cashier', storeIds: [shop.storeId] }).expect(201);
    const { rows } = await admin.query("SELECT envelope FROM auth.outbox WHERE tenant_id = $1 AND type = 'user.invited' AND envelope->'data'->>'email' = $2", [shop.tenantId, email]);
    const event = rows[0].envelope;
    await events.publish('auth-service', event);
    await waitFor(async () => (await deliveriesOf(event.id)).length === 1);
    const [delivery] = await deliveriesOf(event.id);
    expect(delivery).toMatchObject({ template: 'welcome', sensitive: true, recipients: [email] });
    await drain(svc.worker, async () => (await statusOf(delivery.id)) === 'sent');

    const mail = mailTo(email)[0]!;
    expect(mail.subject).toBe('You are invited to Cloud POS');
    expect(mail.text).toContain('Hello Ivy Invitee,');
    const link = /https:\/\/pos\.example\.test\/accept-invite\?token=(\S+)/.exec(mail.text);
    expect(link?.[1]).toBe(encodeURIComponent(event.data.setPasswordToken));
    await request(auth.svc.app).post('/api/v1/auth/password-reset/confirm').send({ token: decodeURIComponent(link![1]!), password: PASSWORD }).expect(204);
    await request(auth.svc.app).post('/api/v1/auth/login').send({ email, password: PASSWORD }).expect(200);

    const log = await request(svc.app).get(`/api/v1/notifications/${delivery.id}`).set(bearer(shop.accessToken)).expect(200);
    expect(log.body).toMatchObject({ status: 'sent', template: 'welcome', text: null, html: null });
    expect(JSON.stringify(log.body)).not.toContain(event.data.setPasswordToken);
    const stored = (await deliveriesOf(event.id))[0];
    expect([stored.body_text, stored.body_html, stored.data]).toEqual([null, null, null]);
  });

  it('when a password reset is requested, then the user gets the reset link, which works', async () => {
    await request(auth.svc.app).post('/api/v1/auth/password-reset').send({ email: shop.manager.email }).expect(202);
    const { rows } = await admin.query("SELECT envelope FROM auth.outbox WHERE tenant_id = $1 AND type = 'user.password_reset_requested' AND envelope->'data'->>'email' = $2", [shop.tenantId, shop.manager.email]);
    const event = rows[0].envelope;
    await events.publish('auth-service', event);
    await waitFor(async () => (await deliveriesOf(event.id)).length === 1);
    await drain(svc.worker, async () => (await statusOf((await deliveriesOf(event.id))[0].id)) === 'sent');
    const mail = mailTo(shop.manager.email).find((m) => m.subject === 'Reset your Cloud POS password')!;
    const token = /https:\/\/pos\.example\.test\/reset-password\?token=(\S+)/.exec(mail.text)![1]!;
    await request(auth.svc.app).post('/api/v1/auth/password-reset/confirm').send({ token: decodeURIComponent(token), password: 'a brand new password 1' }).expect(204);
    await request(auth.svc.app).post('/api/v1/auth/login').send({ email: shop.manager.email, password: 'a brand new password 1' }).expect(200);
  });

  it('when an event is older than EVENT_MAX_AGE_MINUTES (history read by a new group), or its link already expired, then nothing is sent', async () => {
    const customer = newCustomer();
    const old = envelope('sale.completed', shop.tenantId, saleView(shop.storeId, customer.id), { occurredAt: new Date(Date.now() - 3 * 86_400_000).toISOString() });
    const expired = envelope('user.password_reset_requested', shop.tenantId, { userId: shop.manager.id, email: shop.manager.email, name: 'M', resetToken: 'pr_old', expiresAt: new Date(Date.now() - 1000).toISOString() });
    await events.publish('transaction-service', old);
    await events.publish('auth-service', expired);
    await waitFor(async () => (await handled(old.id)) && (await handled(expired.id)));
    expect([...(await deliveriesOf(old.id)), ...(await deliveriesOf(expired.id))]).toEqual([]);
  });
});

describe('notification-service when SMTP is down while events arrive', () => {
  it('when receipts arrive while the SMTP server is down, then each email arrives once it is back, exactly once', async () => {
    const auth = await startAuthServer();
    const customers = await startCustomerStub();
    const port = await portBelowEphemeralRange();
    const svc = await startNotifications({ AUTH_SERVICE_URL: auth.url, CUSTOMER_SERVICE_URL: customers.url, SMTP_PORT: String(port) });
    const events = await startEvents(svc);
    const admin = adminPool();
    let smtp: SmtpSink | undefined;
    try {
      const shop = await createShop(auth);
      svc.tenants.push(shop.tenantId);
      await request(svc.app).put('/api/v1/notifications/settings').set(bearer(shop.accessToken)).send({ receiptEmails: true }).expect(200);
      const customer = { id: randomUUID(), name: 'Grace', email: `grace-${randomUUID().slice(0, 6)}@example.test` };
      customers.customers.set(customer.id, customer);
      const sales = [envelope('sale.completed', shop.tenantId, saleView(shop.storeId, customer.id)), envelope('sale.completed', shop.tenantId, saleView(shop.storeId, customer.id, { receiptNumber: 43 }))];
      for (const e of sales) await events.publish('transaction-service', e);
      const ids = async () => (await admin.query('SELECT id, status, attempts, last_error FROM notifications.deliveries WHERE tenant_id = $1 ORDER BY created_at', [shop.tenantId])).rows;
      await waitFor(async () => (await ids()).length === 2, 'deliveries of both sales');

      // SMTP is down: attempts fail and the deliveries wait for their next try.
      await svc.worker.runOnce();
      await svc.worker.runOnce();
      for (const d of await ids()) expect(d).toMatchObject({ status: 'queued', attempts: 2, last_error: expect.stringMatching(/ECONNREFUSED/) });
      // A redelivery of a sale meanwhile changes nothing.
      await events.publish('transaction-service', sales[0]!);

      smtp = await startSmtpServer({ port });
      await drain(svc.worker, async () => (await ids()).every((d) => d.status === 'sent'));
      await svc.worker.runOnce();
      await svc.worker.runOnce();
      expect(smtp.messages.map((m) => m.subject).sort()).toEqual(['Your receipt 42', 'Your receipt 43']);
      expect(smtp.messages.every((m) => m.to.join() === customer.email)).toBe(true);
      expect((await ids()).map((d) => [d.status, d.attempts])).toEqual([
        ['sent', 3],
        ['sent', 3],
      ]);
    } finally {
      await events.close();
      await svc.close();
      await smtp?.close();
      await customers.close();
      await auth.close();
      await admin.end();
    }
  });
});

describe('notification-service when auth-service refuses the store-manager lookup', () => {
  it('when GET /users answers 403 to the service token, then the low-stock email still goes to the configured lowStockRecipients', async () => {
    const auth = await startAuthServer();
    // An auth-service whose user listing refuses services (as it did before it allowed the `service` role).
    const strictAuth = await startHttpStub((req) =>
      req.path === '/api/v1/auth/token' ? { status: 200, body: { accessToken: 'svc-token', tokenType: 'Bearer', expiresIn: 300 } } : req.path.startsWith('/api/v1/users') ? { status: 403, body: { status: 403, code: 'forbidden' } } : { status: 404 },
    );
    const smtp = await startSmtpServer();
    const svc = await startNotifications({ AUTH_SERVICE_URL: strictAuth.url, JWKS_URL: `${auth.url}/.well-known/jwks.json`, SMTP_PORT: String(smtp.port) });
    const events = await startEvents(svc);
    const admin = adminPool();
    try {
      const shop = await createShop(auth);
      svc.tenants.push(shop.tenantId);
      const buyer = `buyer-${randomUUID().slice(0, 6)}@example.test`;
      await request(svc.app).put('/api/v1/notifications/settings').set(bearer(shop.accessToken)).send({ lowStockRecipients: [buyer] }).expect(200);
      const event = envelope('stock.low', shop.tenantId, { storeId: shop.storeId, productId: randomUUID(), sku: 'CHO-DRK', name: 'Dark chocolate', onHand: 2, reorderPoint: 5 });
      await events.publish('inventory-service', event);
      const row = async () => (await admin.query('SELECT id, status, recipients, last_error FROM notifications.deliveries WHERE event_id = $1', [event.id])).rows[0];
      await waitFor(async () => Boolean(await row()));
      await drain(svc.worker, async () => (await row()).status === 'sent');
      expect(await row()).toMatchObject({ status: 'sent', recipients: [buyer], last_error: null });
      expect(smtp.messages.map((m) => [m.to, m.subject])).toEqual([[[buyer], `Low stock: Dark chocolate (CHO-DRK) at ${shop.storeId}`]]);
      expect(strictAuth.requests.some((r) => r.path.startsWith('/api/v1/users?') && r.path.includes('role=manager'))).toBe(true);
    } finally {
      await events.close();
      await svc.close();
      await smtp.close();
      await strictAuth.close();
      await auth.close();
      await admin.end();
    }
  });
});
