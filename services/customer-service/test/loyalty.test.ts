import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { Pool } from '@pos/database';
import {
  adminPool,
  bearer,
  createCustomer,
  createShop,
  grantPoints,
  ledgerProblems,
  serviceToken,
  startAuthServer,
  startCustomers,
  type AuthServer,
  type CustomersUnderTest,
  type Shop,
} from './helpers';

describe('customer-service loyalty redemptions and ledger', () => {
  let auth: AuthServer;
  let svc: CustomersUnderTest;
  let shop: Shop;
  let admin: Pool;
  let service: string;

  beforeAll(async () => {
    auth = await startAuthServer();
    svc = await startCustomers(auth.url);
    shop = await createShop(auth);
    admin = adminPool();
    service = await serviceToken(auth, shop.tenantId);
  });
  afterAll(async () => {
    expect(await ledgerProblems(admin, shop.tenantId)).toEqual([]);
    await svc.close();
    await auth.close();
    await admin.end();
  });

  const redeem = (customerId: string, points: number, key: string = randomUUID(), token = service) =>
    request(svc.app).post(`/api/v1/customers/${customerId}/loyalty/redemptions`).set(bearer(token)).set('Idempotency-Key', key).send({ points, reference: 'sale 42 tender 0' });
  const giveBack = (customerId: string, key: string, body?: Record<string, unknown>, callKey?: string) => {
    const req = request(svc.app).post(`/api/v1/customers/${customerId}/loyalty/redemptions/${encodeURIComponent(key)}/refund`).set(bearer(service));
    if (callKey) req.set('Idempotency-Key', callKey);
    return body ? req.send(body) : req;
  };
  const balance = async (customerId: string) => (await admin.query('SELECT loyalty_balance FROM customers.customers WHERE id = $1', [customerId])).rows[0].loyalty_balance as number;

  it('when a service redeems points with a tender key, then 201 with the new balance, a redeem ledger entry and the balance moved in the same transaction', async () => {
    const c = await createCustomer(svc.app, shop.accessToken);
    await grantPoints(svc.app, shop.accessToken, c.id, 100);
    const key = `${randomUUID()}:tender:1`;
    const res = await redeem(c.id, 30, key).expect(201);
    expect(res.body).toEqual({ id: expect.any(String), customerId: c.id, key, points: 30, balanceAfter: 70, reference: 'sale 42 tender 0', createdAt: expect.any(String) });
    expect(await balance(c.id)).toBe(70);
    const { rows } = await admin.query('SELECT kind, points, balance_after, key, actor_id FROM customers.loyalty_ledger WHERE customer_id = $1 ORDER BY seq', [c.id]);
    expect(rows).toEqual([
      { kind: 'adjust', points: 100, balance_after: 100, key: expect.any(String), actor_id: shop.ownerId },
      { kind: 'redeem', points: -30, balance_after: 70, key, actor_id: 'svc:transaction-service' },
    ]);
    const loyalty = await request(svc.app).get(`/api/v1/customers/${c.id}/loyalty`).set(bearer(shop.cashier.token)).expect(200);
    expect(loyalty.body).toMatchObject({ customerId: c.id, balance: 70, ledger: [{ kind: 'redeem', points: -30, balanceAfter: 70, key }, { kind: 'adjust', points: 100, balanceAfter: 100 }], nextCursor: null });
  });

  it('when there are not enough points, then 402 insufficient_points with availablePoints and nothing is written', async () => {
    const c = await createCustomer(svc.app, shop.accessToken);
    await grantPoints(svc.app, shop.accessToken, c.id, 25);
    const res = await redeem(c.id, 26).expect(402);
    expect(res.body).toMatchObject({ code: 'insufficient_points', availablePoints: 25, status: 402 });
    expect(await balance(c.id)).toBe(25);
    expect((await admin.query("SELECT 1 FROM customers.loyalty_ledger WHERE customer_id = $1 AND kind = 'redeem'", [c.id])).rowCount).toBe(0);
  });

  it('when the Idempotency-Key is missing or the body is wrong, then 400', async () => {
    const c = await createCustomer(svc.app, shop.accessToken);
    const missing = await request(svc.app).post(`/api/v1/customers/${c.id}/loyalty/redemptions`).set(bearer(service)).send({ points: 1, reference: 'x' }).expect(400);
    expect(missing.body.code).toBe('idempotency_key_required');
    const bad = await redeem(c.id, 0).expect(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toEqual(['points']);
    const card = await request(svc.app)
      .post(`/api/v1/customers/${c.id}/loyalty/redemptions`)
      .set(bearer(service))
      .set('Idempotency-Key', randomUUID())
      .send({ points: 1, reference: 'card 4111111111111111' })
      .expect(400);
    expect(card.body.code).toBe('card_data_refused');
  });

  it('when 20 redemptions with different keys race, then the balance is never overdrawn: exactly as many succeed as the points allow', async () => {
    const c = await createCustomer(svc.app, shop.accessToken);
    await grantPoints(svc.app, shop.accessToken, c.id, 55);
    const results = await Promise.all(Array.from({ length: 20 }, () => redeem(c.id, 10)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(5);
    expect(statuses.filter((s) => s === 402)).toHaveLength(15);
    expect(results.filter((r) => r.status === 402).every((r) => r.body.availablePoints < 10)).toBe(true);
    expect(await balance(c.id)).toBe(5);
    const { rows } = await admin.query("SELECT count(*)::int AS n, min(balance_after)::int AS low FROM customers.loyalty_ledger WHERE customer_id = $1 AND kind = 'redeem'", [c.id]);
    expect(rows[0]).toEqual({ n: 5, low: 5 });
  });

  it('when the same key is sent 20 times at once and then again, then there is one redemption and the replays return it', async () => {
    const c = await createCustomer(svc.app, shop.accessToken);
    await grantPoints(svc.app, shop.accessToken, c.id, 100);
    const key = randomUUID();
    const results = await Promise.all(Array.from({ length: 20 }, () => redeem(c.id, 10, key)));
    const ok = results.filter((r) => r.status === 201 || r.status === 200);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    // The others were told the first is still running (409, retry) — never a second redemption.
    expect(results.every((r) => [200, 201].includes(r.status) || (r.status === 409 && r.body.code === 'idempotency_in_progress'))).toBe(true);
    const replay = await redeem(c.id, 10, key).expect(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body.id).toBe(ok[0]!.body.id);
    expect(await balance(c.id)).toBe(90);
    const { rows } = await admin.query("SELECT count(*)::int AS n FROM customers.loyalty_ledger WHERE tenant_id = $1 AND kind = 'redeem' AND key = $2", [shop.tenantId, key]);
    expect(rows[0].n).toBe(1);
    const different = await redeem(c.id, 11, key).expect(422);
    expect(different.body.code).toBe('idempotency_key_reused');
  });

  it('when the idempotency record has expired, then the ledger key still makes a retry return the same redemption', async () => {
    const c = await createCustomer(svc.app, shop.accessToken);
    await grantPoints(svc.app, shop.accessToken, c.id, 100);
    const key = randomUUID();
    const first = await redeem(c.id, 10, key).expect(201);
    await admin.query('DELETE FROM customers.idempotency_keys WHERE tenant_id = $1 AND key = $2', [shop.tenantId, key]);
    const again = await redeem(c.id, 10, key).expect(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body.id).toBe(first.body.id);
    expect(await balance(c.id)).toBe(90);
  });

  it('when a redemption is given back in full, then the points return once, and repeating it changes nothing', async () => {
    const c = await createCustomer(svc.app, shop.accessToken);
    await grantPoints(svc.app, shop.accessToken, c.id, 100);
    const key = `${randomUUID()}:tender:0`;
    const redeemed = await redeem(c.id, 40, key).expect(201);
    const res = await giveBack(c.id, key).expect(201);
    expect(res.body).toEqual({ redemptionId: redeemed.body.id, key, status: 'refunded', points: 40, redeemedPoints: 40, refundedPoints: 40, balance: 100, entryId: expect.any(String) });
    const again = await giveBack(c.id, key).expect(200);
    expect(again.body).toMatchObject({ status: 'refunded', refundedPoints: 40, balance: 100 });
    expect(await balance(c.id)).toBe(100);
    const { rows } = await admin.query("SELECT points, redemption_id FROM customers.loyalty_ledger WHERE customer_id = $1 AND kind = 'redeem_refund'", [c.id]);
    expect(rows).toEqual([{ points: 40, redemption_id: redeemed.body.id }]);
    const state = await request(svc.app).get(`/api/v1/customers/${c.id}/loyalty/redemptions/${encodeURIComponent(key)}`).set(bearer(service)).expect(200);
    expect(state.body).toMatchObject({ status: 'refunded', points: 40, refundedPoints: 40 });
  });

  it('when parts of a redemption are given back with their own keys, then never more than was redeemed', async () => {
    const c = await createCustomer(svc.app, shop.accessToken);
    await grantPoints(svc.app, shop.accessToken, c.id, 50);
    const key = randomUUID();
    await redeem(c.id, 30, key).expect(201);
    await giveBack(c.id, key, { points: 10 }).expect(400);
    const k1 = randomUUID();
    const first = await giveBack(c.id, key, { points: 10, reason: 'refund of line 1' }, k1).expect(201);
    expect(first.body).toMatchObject({ status: 'partially_refunded', points: 10, refundedPoints: 10, balance: 30 });
    const replay = await giveBack(c.id, key, { points: 10, reason: 'refund of line 1' }, k1).expect(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    const tooMuch = await giveBack(c.id, key, { points: 25 }, randomUUID()).expect(409);
    expect(tooMuch.body).toMatchObject({ code: 'refund_exceeds_redemption', refundablePoints: 20 });
    // Concurrent give-backs of the rest: exactly 20 more points come back.
    const rest = await Promise.all(Array.from({ length: 5 }, () => giveBack(c.id, key, { points: 10 }, randomUUID())));
    expect(rest.filter((r) => r.status === 201)).toHaveLength(2);
    expect(rest.filter((r) => r.status === 409)).toHaveLength(3);
    expect(await balance(c.id)).toBe(50);
  });

  it('when a redemption that never arrived is given back, then a tombstone refuses the late redemption with that key', async () => {
    const c = await createCustomer(svc.app, shop.accessToken);
    await grantPoints(svc.app, shop.accessToken, c.id, 50);
    const key = `${randomUUID()}:tender:2`;
    const res = await giveBack(c.id, key).expect(200);
    expect(res.body).toMatchObject({ redemptionId: null, status: 'voided', points: 0 });
    const late = await redeem(c.id, 10, key).expect(409);
    expect(late.body.code).toBe('redemption_voided');
    expect(await balance(c.id)).toBe(50);
    const state = await request(svc.app).get(`/api/v1/customers/${c.id}/loyalty/redemptions/${encodeURIComponent(key)}`).set(bearer(service)).expect(200);
    expect(state.body.status).toBe('voided');
    await request(svc.app).get(`/api/v1/customers/${c.id}/loyalty/redemptions/${randomUUID()}`).set(bearer(service)).expect(404);
  });

  it("when a redemption key is used with another customer's id, then 404 and nothing moves", async () => {
    const [a, b] = [await createCustomer(svc.app, shop.accessToken), await createCustomer(svc.app, shop.accessToken)];
    await grantPoints(svc.app, shop.accessToken, a.id, 20);
    const key = randomUUID();
    await redeem(a.id, 5, key).expect(201);
    await giveBack(b.id, key).expect(404);
    await request(svc.app).get(`/api/v1/customers/${b.id}/loyalty/redemptions/${key}`).set(bearer(service)).expect(404);
    expect([await balance(a.id), await balance(b.id)]).toEqual([15, 0]);
  });

  it('when a manager adjusts points, then the ledger records it; taking more than the balance is refused', async () => {
    const c = await createCustomer(svc.app, shop.accessToken);
    const add = await request(svc.app).post(`/api/v1/customers/${c.id}/loyalty/adjustments`).set(bearer(shop.manager.token)).set('Idempotency-Key', randomUUID()).send({ points: 12, reason: 'goodwill' }).expect(201);
    expect(add.body).toMatchObject({ kind: 'adjust', points: 12, balanceAfter: 12, reference: 'goodwill', actorId: shop.manager.id });
    const over = await request(svc.app).post(`/api/v1/customers/${c.id}/loyalty/adjustments`).set(bearer(shop.manager.token)).set('Idempotency-Key', randomUUID()).send({ points: -13, reason: 'correction' }).expect(409);
    expect(over.body).toMatchObject({ code: 'insufficient_points', availablePoints: 12 });
    await request(svc.app).post(`/api/v1/customers/${c.id}/loyalty/adjustments`).set(bearer(shop.manager.token)).set('Idempotency-Key', randomUUID()).send({ points: -12, reason: 'correction' }).expect(201);
    expect(await balance(c.id)).toBe(0);
  });

  it('when the ledger is paged, then newest first with a cursor that visits each entry once', async () => {
    const c = await createCustomer(svc.app, shop.accessToken);
    for (const p of [1, 2, 3, 4, 5]) await grantPoints(svc.app, shop.accessToken, c.id, p);
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const res: request.Response = await request(svc.app)
        .get(`/api/v1/customers/${c.id}/loyalty`)
        .query({ limit: 2, ...(cursor ? { cursor } : {}) })
        .set(bearer(shop.accessToken))
        .expect(200);
      expect(res.body.balance).toBe(15);
      seen.push(...res.body.ledger.map((e: { points: number }) => e.points));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([5, 4, 3, 2, 1]);
  });

  it('when ledger rows are changed directly in the database, then the table refuses (append-only)', async () => {
    const c = await createCustomer(svc.app, shop.accessToken);
    await grantPoints(svc.app, shop.accessToken, c.id, 5);
    await expect(admin.query('UPDATE customers.loyalty_ledger SET points = 500 WHERE customer_id = $1', [c.id])).rejects.toThrow(/immutable/);
    await expect(admin.query('DELETE FROM customers.loyalty_ledger WHERE customer_id = $1', [c.id])).rejects.toThrow(/immutable/);
  });

  it('when the owner sets the earning rule, then it is versioned per tenant; a stale version is 409 and others cannot', async () => {
    const other = await createShop(auth);
    const initial = await request(svc.app).get('/api/v1/loyalty/rule').set(bearer(shop.cashier.token)).expect(200);
    expect(initial.body).toEqual({ pointsPerUnit: 1, version: 0, source: 'default', updatedAt: null });
    const set = await request(svc.app).put('/api/v1/loyalty/rule').set(bearer(shop.accessToken)).send({ version: 0, pointsPerUnit: 5 }).expect(200);
    expect(set.body).toMatchObject({ pointsPerUnit: 5, version: 1, source: 'tenant' });
    const stale = await request(svc.app).put('/api/v1/loyalty/rule').set(bearer(shop.accessToken)).send({ version: 0, pointsPerUnit: 7 }).expect(409);
    expect(stale.body).toMatchObject({ code: 'version_conflict', currentVersion: 1 });
    await request(svc.app).put('/api/v1/loyalty/rule').set(bearer(shop.manager.token)).send({ version: 1, pointsPerUnit: 7 }).expect(403);
    const theirs = await request(svc.app).get('/api/v1/loyalty/rule').set(bearer(other.accessToken)).expect(200);
    expect(theirs.body.pointsPerUnit).toBe(1);
    await request(svc.app).put('/api/v1/loyalty/rule').set(bearer(shop.accessToken)).send({ version: 1, pointsPerUnit: 1 }).expect(200);
  });
});
