import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { Pool } from '@pos/database';
import {
  adminPool,
  bearer,
  createCustomer,
  createShop,
  customerBody,
  grantPoints,
  serviceToken,
  startAuthServer,
  startCustomers,
  usPhone,
  type AuthServer,
  type CustomersUnderTest,
  type Shop,
} from './helpers';

describe('customer-service customers', () => {
  let auth: AuthServer;
  let svc: CustomersUnderTest;
  let shop: Shop;
  let otherShop: Shop;
  let admin: Pool;
  let service: string;

  beforeAll(async () => {
    auth = await startAuthServer();
    svc = await startCustomers(auth.url);
    shop = await createShop(auth);
    otherShop = await createShop(auth);
    admin = adminPool();
    service = await serviceToken(auth, shop.tenantId);
  });
  afterAll(async () => {
    await svc.close();
    await auth.close();
    await admin.end();
  });

  const outbox = async (type: string, customerId: string) =>
    (await admin.query("SELECT envelope FROM customers.outbox WHERE type = $1 AND envelope->'data'->>'customerId' = $2 ORDER BY seq", [type, customerId])).rows.map((r) => r.envelope);

  describe('create and read', () => {
    it('when a cashier creates a customer, then email is lower-cased, phone is E.164, consents are timestamped, and customer.created carries no contact details', async () => {
      const phone = usPhone();
      const res = await request(svc.app)
        .post('/api/v1/customers')
        .set(bearer(shop.cashier.token))
        .send({ name: '  Ada Lovelace ', email: ' Ada.Lovelace@Example.COM ', phone: phone.national, marketingConsent: { email: true, sms: false } })
        .expect(201);
      expect(res.body).toMatchObject({
        id: expect.any(String),
        name: 'Ada Lovelace',
        email: 'ada.lovelace@example.com',
        phone: phone.e164,
        notes: null,
        marketingConsent: { email: { granted: true, changedAt: expect.any(String) }, sms: { granted: false, changedAt: expect.any(String) } },
        loyaltyBalance: 0,
        version: 1,
        erasedAt: null,
      });
      const { rows } = await admin.query('SELECT tenant_id, email, phone, email_consent, email_consent_at, sms_consent, created_by FROM customers.customers WHERE id = $1', [res.body.id]);
      expect(rows[0]).toMatchObject({ tenant_id: shop.tenantId, email: 'ada.lovelace@example.com', phone: phone.e164, email_consent: true, sms_consent: false, created_by: shop.cashier.id });
      const consents = await admin.query('SELECT channel, granted, actor_id FROM customers.consent_changes WHERE customer_id = $1 ORDER BY channel', [res.body.id]);
      expect(consents.rows).toEqual([
        { channel: 'email', granted: true, actor_id: shop.cashier.id },
        { channel: 'sms', granted: false, actor_id: shop.cashier.id },
      ]);
      const [event] = await outbox('customer.created', res.body.id);
      expect(event.data).toEqual({ customerId: res.body.id, version: 1, hasEmail: true, hasPhone: true, marketingConsent: { email: true, sms: false } });
      expect(JSON.stringify(event)).not.toMatch(/lovelace|example\.com|\+1/i);
    });

    it('when only a name is given, then the customer has no contact details and consents were never asked', async () => {
      const res = await request(svc.app).post('/api/v1/customers').set(bearer(shop.accessToken)).send({ name: 'Walk-in' }).expect(201);
      expect(res.body).toMatchObject({ email: null, phone: null, marketingConsent: { email: { granted: false, changedAt: null }, sms: { granted: false, changedAt: null } } });
    });

    it('when the body is wrong, then 400 names every bad field and nothing is stored', async () => {
      const tag = randomUUID();
      const res = await request(svc.app)
        .post('/api/v1/customers')
        .set(bearer(shop.accessToken))
        .send({ name: '', email: `not-an-email-${tag}`, phone: 'call me maybe', marketingConsent: { email: 'yes' }, loyalty: 100 })
        .expect(400);
      expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['email', 'loyalty', 'marketingConsent.email', 'name', 'phone']);
      const { rowCount } = await admin.query('SELECT 1 FROM customers.customers WHERE email LIKE $1', [`%${tag}%`]);
      expect(rowCount).toBe(0);
    });

    it('when a name or note contains a card number, then 400 card_data_refused names the field and nothing is stored', async () => {
      const tag = randomUUID().slice(0, 8);
      const res = await request(svc.app)
        .post('/api/v1/customers')
        .set(bearer(shop.cashier.token))
        .send({ name: `Card 4111 1111 1111 1111 ${tag}`, notes: 'pays with 5555555555554444' })
        .expect(400);
      expect(res.body).toMatchObject({ code: 'card_data_refused', errors: [{ path: 'name' }, { path: 'notes' }] });
      // The whole numbers, not a fragment: the answer's request id is hex and may hold '4111' by chance.
      for (const card of ['4111 1111 1111 1111', '4111111111111111', '5555555555554444']) expect(JSON.stringify(res.body)).not.toContain(card);
      const { rowCount } = await admin.query('SELECT 1 FROM customers.customers WHERE name LIKE $1', [`%${tag}%`]);
      expect(rowCount).toBe(0);
      const c = await createCustomer(svc.app, shop.accessToken);
      const patch = await request(svc.app).patch(`/api/v1/customers/${c.id}`).set(bearer(shop.accessToken)).send({ version: 1, notes: 'card 378282246310005' }).expect(400);
      expect(patch.body.code).toBe('card_data_refused');
    });

    it('when a service token reads a customer, then it gets the contact details and consents (notification-service)', async () => {
      const c = await createCustomer(svc.app, shop.accessToken, { marketingConsent: { email: true } });
      const res = await request(svc.app).get(`/api/v1/customers/${c.id}`).set(bearer(service)).expect(200);
      expect(res.body).toMatchObject({ id: c.id, email: c.email, phone: c.phone, marketingConsent: { email: { granted: true } } });
    });
  });

  describe('duplicates', () => {
    it('when the email is already used with other letter case, then 409 customer_exists names the existing customer', async () => {
      const first = await createCustomer(svc.app, shop.accessToken, { email: `dup-${randomUUID().slice(0, 8)}@example.test` });
      const res = await request(svc.app).post('/api/v1/customers').set(bearer(shop.cashier.token)).send(customerBody({ email: first.email!.toUpperCase() })).expect(409);
      expect(res.body).toMatchObject({ code: 'customer_exists', existingCustomerId: first.id, field: 'email' });
      expect(res.body.detail).toContain(first.id);
    });

    it('when the phone is written differently but normalises to the same E.164 number, then 409 customer_exists', async () => {
      const phone = usPhone();
      const first = await createCustomer(svc.app, shop.accessToken, { phone: phone.national });
      const digits = phone.e164.slice(2);
      for (const variant of [phone.e164, `+1 ${digits.slice(0, 3)}.${digits.slice(3, 6)}.${digits.slice(6)}`, `1-${digits.slice(0, 3)}-${digits.slice(3, 6)}-${digits.slice(6)}`]) {
        const res = await request(svc.app).post('/api/v1/customers').set(bearer(shop.accessToken)).send(customerBody({ phone: variant })).expect(409);
        expect(res.body).toMatchObject({ code: 'customer_exists', existingCustomerId: first.id, field: 'phone' });
      }
      const { rows } = await admin.query('SELECT count(*)::int AS n FROM customers.customers WHERE tenant_id = $1 AND phone = $2', [shop.tenantId, phone.e164]);
      expect(rows[0].n).toBe(1);
    });

    it('when another tenant has the same email and phone, then it is not a duplicate', async () => {
      const first = await createCustomer(svc.app, shop.accessToken);
      await request(svc.app).post('/api/v1/customers').set(bearer(otherShop.accessToken)).send(customerBody({ email: first.email, phone: first.phone })).expect(201);
    });

    it('when a PATCH takes another customer’s email or phone, then 409 customer_exists and nothing changes', async () => {
      const [a, b] = [await createCustomer(svc.app, shop.accessToken), await createCustomer(svc.app, shop.accessToken)];
      const res = await request(svc.app).patch(`/api/v1/customers/${b.id}`).set(bearer(shop.accessToken)).send({ version: 1, phone: a.phone }).expect(409);
      expect(res.body).toMatchObject({ code: 'customer_exists', existingCustomerId: a.id, field: 'phone' });
      const { rows } = await admin.query('SELECT phone, version FROM customers.customers WHERE id = $1', [b.id]);
      expect(rows[0]).toEqual({ phone: b.phone, version: 1 });
    });

    it('when 10 creates with the same email race, then exactly one succeeds and the others name it', async () => {
      const email = `race-${randomUUID().slice(0, 8)}@example.test`;
      const results = await Promise.all(Array.from({ length: 10 }, () => request(svc.app).post('/api/v1/customers').set(bearer(shop.accessToken)).send(customerBody({ email }))));
      const created = results.filter((r) => r.status === 201);
      expect(created).toHaveLength(1);
      expect(results.filter((r) => r.status === 409).every((r) => r.body.existingCustomerId === created[0]!.body.id)).toBe(true);
    });
  });

  describe('search', () => {
    const search = async (query: Record<string, string | number>, token = shop.cashier.token) =>
      (await request(svc.app).get('/api/v1/customers').query(query).set(bearer(token)).expect(200)).body.data.map((c: { id: string }) => c.id);

    it('when customers are searched by part of the name, email or phone, then matches are case-insensitive', async () => {
      const tag = randomUUID().slice(0, 6);
      const phone = usPhone();
      const zoe = await createCustomer(svc.app, shop.accessToken, { name: `Zoë Quartermaine ${tag}`, email: `zq.${tag}@Mail.example`, phone: phone.national });
      const other = await createCustomer(svc.app, shop.accessToken, { name: `Other ${tag}` });
      expect(await search({ q: `zoe quarter` })).toContain(zoe.id);
      expect(await search({ q: `QUARTERMAINE ${tag}` })).toEqual([zoe.id]);
      expect(await search({ q: `ZQ.${tag.toUpperCase()}@MAIL` })).toEqual([zoe.id]);
      expect(await search({ q: phone.e164.slice(-7) })).toContain(zoe.id);
      expect(await search({ q: phone.national.slice(0, 9) })).toContain(zoe.id);
      expect(await search({ q: tag })).toEqual(expect.arrayContaining([zoe.id, other.id]));
      expect(await search({ q: '%' })).not.toContain(zoe.id);
      expect(await search({ email: `ZQ.${tag}@mail.example` })).toEqual([zoe.id]);
      expect(await search({ phone: phone.e164 }, service)).toEqual([zoe.id]);
    });

    it('when the list is paged, then the cursor visits each customer once in name order', async () => {
      const tag = `page${randomUUID().slice(0, 6)}`;
      const ids: string[] = [];
      for (const n of ['c', 'a', 'e', 'b', 'd']) ids.push((await createCustomer(svc.app, shop.accessToken, { name: `${tag} ${n}` })).id);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res: request.Response = await request(svc.app)
          .get('/api/v1/customers')
          .query({ q: tag, limit: 2, ...(cursor ? { cursor } : {}) })
          .set(bearer(shop.accessToken))
          .expect(200);
        seen.push(...res.body.data.map((c: { id: string }) => c.id));
        cursor = res.body.nextCursor;
      } while (cursor);
      expect(seen).toEqual([ids[1], ids[3], ids[0], ids[4], ids[2]]);
    });

    it('when another tenant searches, then it never sees these customers', async () => {
      const c = await createCustomer(svc.app, shop.accessToken);
      expect(await search({ q: c.name }, otherShop.accessToken)).toEqual([]);
      expect(await search({ email: c.email! }, otherShop.accessToken)).toEqual([]);
    });
  });

  describe('update', () => {
    it('when a customer is changed, then the version moves, consent changes are timestamped and logged, and customer.updated names the fields', async () => {
      const c = await createCustomer(svc.app, shop.accessToken, { marketingConsent: { email: true } });
      const before = await admin.query('SELECT email_consent_at FROM customers.customers WHERE id = $1', [c.id]);
      const res = await request(svc.app)
        .patch(`/api/v1/customers/${c.id}`)
        .set(bearer(shop.cashier.token))
        .send({ version: 1, name: 'New Name', email: null, marketingConsent: { email: false, sms: true } })
        .expect(200);
      expect(res.body).toMatchObject({ name: 'New Name', email: null, version: 2, marketingConsent: { email: { granted: false }, sms: { granted: true } } });
      const { rows } = await admin.query('SELECT email_consent, email_consent_at, sms_consent, sms_consent_at FROM customers.customers WHERE id = $1', [c.id]);
      expect(rows[0].email_consent_at.getTime()).toBeGreaterThan(before.rows[0].email_consent_at.getTime());
      expect(rows[0].sms_consent_at).not.toBeNull();
      const log = await admin.query('SELECT channel, granted FROM customers.consent_changes WHERE customer_id = $1 ORDER BY changed_at, channel', [c.id]);
      expect(log.rows).toEqual([
        { channel: 'email', granted: true },
        { channel: 'email', granted: false },
        { channel: 'sms', granted: true },
      ]);
      const events = await outbox('customer.updated', c.id);
      expect(events.map((e) => e.data)).toEqual([{ customerId: c.id, version: 2, changes: ['name', 'email', 'marketingConsent.email', 'marketingConsent.sms'], marketingConsent: { email: false, sms: true } }]);
    });

    it('when consent is sent again unchanged, then its timestamp stays', async () => {
      const c = await createCustomer(svc.app, shop.accessToken, { marketingConsent: { sms: true } });
      const before = (await admin.query('SELECT sms_consent_at FROM customers.customers WHERE id = $1', [c.id])).rows[0].sms_consent_at;
      await request(svc.app).patch(`/api/v1/customers/${c.id}`).set(bearer(shop.accessToken)).send({ version: 1, marketingConsent: { sms: true } }).expect(200);
      const after = (await admin.query('SELECT sms_consent_at FROM customers.customers WHERE id = $1', [c.id])).rows[0].sms_consent_at;
      expect(after).toEqual(before);
    });

    it('when an update carries a stale version, then 409 version_conflict and the customer is unchanged', async () => {
      const c = await createCustomer(svc.app, shop.accessToken);
      await request(svc.app).patch(`/api/v1/customers/${c.id}`).set(bearer(shop.accessToken)).send({ version: 1, name: 'First' }).expect(200);
      const stale = await request(svc.app).patch(`/api/v1/customers/${c.id}`).set(bearer(shop.accessToken)).send({ version: 1, name: 'Second' }).expect(409);
      expect(stale.body).toMatchObject({ code: 'version_conflict', currentVersion: 2 });
      const { rows } = await admin.query('SELECT name, version FROM customers.customers WHERE id = $1', [c.id]);
      expect(rows[0]).toEqual({ name: 'First', version: 2 });
    });
  });

  describe('erasure', () => {
    it('when a manager erases a customer, then personal fields are anonymised, consents cleared, loyalty kept, and customer.erased is audited without personal data', async () => {
      const c = await createCustomer(svc.app, shop.accessToken, { notes: 'likes oat milk', marketingConsent: { email: true, sms: true } });
      await grantPoints(svc.app, shop.accessToken, c.id, 40);
      await request(svc.app).delete(`/api/v1/customers/${c.id}`).set(bearer(shop.manager.token)).expect(204);
      const { rows } = await admin.query('SELECT name, email, phone, notes, email_consent, email_consent_at, sms_consent, sms_consent_at, loyalty_balance, erased_at, erased_by FROM customers.customers WHERE id = $1', [c.id]);
      expect(rows[0]).toMatchObject({ name: 'Erased customer', email: null, phone: null, notes: null, email_consent: false, email_consent_at: null, sms_consent: false, sms_consent_at: null, loyalty_balance: 40, erased_by: shop.manager.id });
      expect(rows[0].erased_at).not.toBeNull();
      expect((await admin.query('SELECT 1 FROM customers.consent_changes WHERE customer_id = $1', [c.id])).rowCount).toBe(0);
      const ledger = await admin.query('SELECT points FROM customers.loyalty_ledger WHERE customer_id = $1', [c.id]);
      expect(ledger.rows).toEqual([{ points: 40 }]);
      const events = await outbox('customer.erased', c.id);
      expect(events).toHaveLength(1);
      expect(events[0].data).toEqual({ customerId: c.id, actorId: shop.manager.id, actorRole: 'manager', erasedAt: expect.any(String) });
      expect(JSON.stringify(events[0])).not.toContain(c.email!);

      const read = await request(svc.app).get(`/api/v1/customers/${c.id}`).set(bearer(shop.accessToken)).expect(200);
      expect(read.body).toMatchObject({ name: 'Erased customer', email: null, phone: null, erasedAt: expect.any(String), loyaltyBalance: 40 });
      // Erased: gone from search, its email and phone are free again, it cannot be changed, erasing again is a no-op.
      expect((await request(svc.app).get('/api/v1/customers').query({ q: c.name }).set(bearer(shop.accessToken))).body.data).toEqual([]);
      await request(svc.app).post('/api/v1/customers').set(bearer(shop.accessToken)).send(customerBody({ email: c.email, phone: c.phone })).expect(201);
      const patch = await request(svc.app).patch(`/api/v1/customers/${c.id}`).set(bearer(shop.accessToken)).send({ version: 2, name: 'Back' }).expect(409);
      expect(patch.body.code).toBe('customer_erased');
      await request(svc.app).delete(`/api/v1/customers/${c.id}`).set(bearer(shop.accessToken)).expect(204);
      expect(await outbox('customer.erased', c.id)).toHaveLength(1);
    });
  });

  describe('access', () => {
    it("when tenant A uses tenant B's customer id on any route, then 404 and nothing changes", async () => {
      const theirs = await createCustomer(svc.app, otherShop.accessToken);
      await grantPoints(svc.app, otherShop.accessToken, theirs.id, 50);
      const redemption = await request(svc.app)
        .post(`/api/v1/customers/${theirs.id}/loyalty/redemptions`)
        .set(bearer(otherShop.accessToken))
        .set('Idempotency-Key', `theirs-${randomUUID()}`)
        .send({ points: 5, reference: 'sale' })
        .expect(201);
      const key = redemption.body.key;
      const id = theirs.id;
      const t = shop.accessToken;
      const calls: Array<[string, () => request.Test]> = [
        ['GET', () => request(svc.app).get(`/api/v1/customers/${id}`).set(bearer(t))],
        ['GET service', () => request(svc.app).get(`/api/v1/customers/${id}`).set(bearer(service))],
        ['PATCH', () => request(svc.app).patch(`/api/v1/customers/${id}`).set(bearer(t)).send({ version: 1, name: 'Hijack' })],
        ['DELETE', () => request(svc.app).delete(`/api/v1/customers/${id}`).set(bearer(t))],
        ['transactions', () => request(svc.app).get(`/api/v1/customers/${id}/transactions`).set(bearer(t))],
        ['export', () => request(svc.app).get(`/api/v1/customers/${id}/export`).set(bearer(t))],
        ['loyalty', () => request(svc.app).get(`/api/v1/customers/${id}/loyalty`).set(bearer(t))],
        ['redeem', () => request(svc.app).post(`/api/v1/customers/${id}/loyalty/redemptions`).set(bearer(t)).set('Idempotency-Key', randomUUID()).send({ points: 1, reference: 'x' })],
        ['redemption', () => request(svc.app).get(`/api/v1/customers/${id}/loyalty/redemptions/${key}`).set(bearer(t))],
        ['refund', () => request(svc.app).post(`/api/v1/customers/${id}/loyalty/redemptions/${key}/refund`).set(bearer(t))],
        ['adjust', () => request(svc.app).post(`/api/v1/customers/${id}/loyalty/adjustments`).set(bearer(t)).set('Idempotency-Key', randomUUID()).send({ points: -50, reason: 'x' })],
      ];
      for (const [name, call] of calls) {
        const res = await call();
        expect([name, res.status]).toEqual([name, 404]);
      }
      const { rows } = await admin.query('SELECT name, version, loyalty_balance, erased_at FROM customers.customers WHERE id = $1', [id]);
      expect(rows[0]).toEqual({ name: theirs.name, version: 1, loyalty_balance: 45, erased_at: null });
      expect((await admin.query("SELECT count(*)::int AS n FROM customers.outbox WHERE type = 'customer.exported' AND envelope->'data'->>'customerId' = $1", [id])).rows[0].n).toBe(0);
      // The other tenant still sees its redemption untouched.
      const state = await request(svc.app).get(`/api/v1/customers/${id}/loyalty/redemptions/${key}`).set(bearer(otherShop.accessToken)).expect(200);
      expect(state.body).toMatchObject({ status: 'redeemed', points: 5, refundedPoints: 0 });
    });

    it('when each role calls each route, then only the declared roles get through', async () => {
      const c = await createCustomer(svc.app, shop.accessToken);
      await grantPoints(svc.app, shop.accessToken, c.id, 100);
      const key = `role-${randomUUID()}`;
      await request(svc.app).post(`/api/v1/customers/${c.id}/loyalty/redemptions`).set(bearer(service)).set('Idempotency-Key', key).send({ points: 1, reference: 'r' }).expect(201);
      const tokens = { owner: shop.accessToken, manager: shop.manager.token, cashier: shop.cashier.token, service };
      type Role = keyof typeof tokens;
      const routes: Array<{ name: string; allowed: Role[]; call: (token: string) => request.Test }> = [
        { name: 'list', allowed: ['owner', 'manager', 'cashier', 'service'], call: (tk) => request(svc.app).get('/api/v1/customers').set(bearer(tk)) },
        { name: 'create', allowed: ['owner', 'manager', 'cashier'], call: (tk) => request(svc.app).post('/api/v1/customers').set(bearer(tk)).send({ name: 'Role test' }) },
        { name: 'read', allowed: ['owner', 'manager', 'cashier', 'service'], call: (tk) => request(svc.app).get(`/api/v1/customers/${c.id}`).set(bearer(tk)) },
        { name: 'patch', allowed: ['owner', 'manager', 'cashier'], call: (tk) => request(svc.app).patch(`/api/v1/customers/${randomUUID()}`).set(bearer(tk)).send({ version: 1 }) },
        { name: 'erase', allowed: ['owner', 'manager'], call: (tk) => request(svc.app).delete(`/api/v1/customers/${randomUUID()}`).set(bearer(tk)) },
        { name: 'transactions', allowed: ['owner', 'manager', 'cashier', 'service'], call: (tk) => request(svc.app).get(`/api/v1/customers/${c.id}/transactions`).set(bearer(tk)) },
        { name: 'export', allowed: ['owner', 'manager'], call: (tk) => request(svc.app).get(`/api/v1/customers/${c.id}/export`).set(bearer(tk)) },
        { name: 'loyalty', allowed: ['owner', 'manager', 'cashier', 'service'], call: (tk) => request(svc.app).get(`/api/v1/customers/${c.id}/loyalty`).set(bearer(tk)) },
        {
          name: 'redeem',
          allowed: ['owner', 'manager', 'cashier', 'service'],
          call: (tk) => request(svc.app).post(`/api/v1/customers/${c.id}/loyalty/redemptions`).set(bearer(tk)).set('Idempotency-Key', randomUUID()).send({ points: 1, reference: 'r' }),
        },
        { name: 'redemption', allowed: ['owner', 'manager', 'cashier', 'service'], call: (tk) => request(svc.app).get(`/api/v1/customers/${c.id}/loyalty/redemptions/${key}`).set(bearer(tk)) },
        { name: 'give back', allowed: ['owner', 'manager', 'service'], call: (tk) => request(svc.app).post(`/api/v1/customers/${c.id}/loyalty/redemptions/${randomUUID()}/refund`).set(bearer(tk)) },
        {
          name: 'adjust',
          allowed: ['owner', 'manager'],
          call: (tk) => request(svc.app).post(`/api/v1/customers/${c.id}/loyalty/adjustments`).set(bearer(tk)).set('Idempotency-Key', randomUUID()).send({ points: 1, reason: 'r' }),
        },
        { name: 'rule', allowed: ['owner', 'manager', 'cashier', 'service'], call: (tk) => request(svc.app).get('/api/v1/loyalty/rule').set(bearer(tk)) },
        { name: 'set rule', allowed: ['owner'], call: (tk) => request(svc.app).put('/api/v1/loyalty/rule').set(bearer(tk)).send({ version: 999, pointsPerUnit: 1 }) },
      ];
      for (const route of routes) {
        for (const [role, token] of Object.entries(tokens) as Array<[Role, string]>) {
          const res = await route.call(token);
          if (route.allowed.includes(role)) expect([route.name, role, res.status]).not.toEqual([route.name, role, 403]);
          else expect([route.name, role, res.status, res.body.code]).toEqual([route.name, role, 403, 'forbidden']);
        }
        const anonymous = await route.call('not-a-token');
        expect([route.name, anonymous.status]).toEqual([route.name, 401]);
      }
      // The cashier's refused erase and export left no trace.
      expect((await admin.query("SELECT count(*)::int AS n FROM customers.outbox WHERE type IN ('customer.exported', 'customer.erased') AND envelope->'data'->>'actorId' IN ($1, $2)", [shop.cashier.id, 'svc:transaction-service'])).rows[0].n).toBe(0);
    });
  });
});
