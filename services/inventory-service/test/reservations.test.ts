import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { Pool } from '@pos/database';
import { adminPool, bearer, createProduct, createShop, ledgerDrift, receive, startAuthServer, startInventory, type AuthServer, type InventoryUnderTest, type Shop } from './helpers';

describe('inventory-service reservations for checkout', () => {
  let auth: AuthServer;
  let inv: InventoryUnderTest;
  let shop: Shop;
  let otherShop: Shop;
  let admin: Pool;
  let serviceToken: string;

  beforeAll(async () => {
    auth = await startAuthServer();
    inv = await startInventory(auth.url);
    shop = await createShop(auth);
    otherShop = await createShop(auth);
    admin = adminPool();
    const token = await request(auth.svc.app)
      .post('/api/v1/auth/token')
      .send({ grant_type: 'client_credentials', client_id: 'transaction-service', client_secret: 'test-secret-123', tenantId: shop.tenantId })
      .expect(200);
    serviceToken = token.body.accessToken;
  });
  afterAll(async () => {
    expect(await ledgerDrift(admin, shop.tenantId)).toEqual([]);
    await inv.close();
    await auth.close();
    await admin.end();
  });

  const reserve = (token: string, body: Record<string, unknown>) => request(inv.app).post('/api/v1/stock/reservations').set(bearer(token)).send(body);
  const onHand = async (productId: string, storeId = shop.storeId) => {
    const { rows } = await admin.query('SELECT on_hand FROM inventory.stock_levels WHERE store_id = $1 AND product_id = $2', [storeId, productId]);
    return rows[0]?.on_hand as number | undefined;
  };

  it('when a sale reserves its lines, then all are decremented with sale movements referencing the sale', async () => {
    const [a, b] = [await createProduct(inv.app, shop.accessToken), await createProduct(inv.app, shop.accessToken)];
    await receive(inv.app, shop.accessToken, shop.storeId, a.id, 5);
    await receive(inv.app, shop.accessToken, shop.storeId, b.id, 5);
    const saleId = randomUUID();
    const res = await reserve(serviceToken, { saleId, storeId: shop.storeId, lines: [{ productId: a.id, quantity: 2 }, { productId: b.id, quantity: 1 }] }).expect(201);
    expect(res.body).toMatchObject({ saleId, storeId: shop.storeId, status: 'reserved', lines: [{ productId: a.id, quantity: 2, onHandAfter: 3 }, { productId: b.id, quantity: 1, onHandAfter: 4 }] });
    expect([await onHand(a.id), await onHand(b.id)]).toEqual([3, 4]);
    const { rows } = await admin.query("SELECT count(*)::int AS n FROM inventory.stock_movements WHERE kind = 'sale' AND reference_id = $1", [saleId]);
    expect(rows[0].n).toBe(2);
    const read = await request(inv.app).get(`/api/v1/stock/reservations/${saleId}`).set(bearer(serviceToken)).expect(200);
    expect(read.body.status).toBe('reserved');
  });

  it('when the reservation is replayed, then the same result comes back and stock is decremented once', async () => {
    const p = await createProduct(inv.app, shop.accessToken);
    await receive(inv.app, shop.accessToken, shop.storeId, p.id, 5);
    const body = { saleId: randomUUID(), storeId: shop.storeId, lines: [{ productId: p.id, quantity: 2 }] };
    const first = await reserve(serviceToken, body).expect(201);
    const again = await reserve(serviceToken, body).expect(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await onHand(p.id)).toBe(3);
    const different = await reserve(serviceToken, { ...body, lines: [{ productId: p.id, quantity: 3 }] }).expect(409);
    expect(different.body.code).toBe('reservation_mismatch');
  });

  it('when one line is short in a store that denies negative stock, then 409 names the product and nothing is reserved', async () => {
    const [a, b] = [await createProduct(inv.app, shop.accessToken), await createProduct(inv.app, shop.accessToken)];
    await receive(inv.app, shop.accessToken, shop.storeId, a.id, 5);
    await receive(inv.app, shop.accessToken, shop.storeId, b.id, 1);
    const saleId = randomUUID();
    const res = await reserve(serviceToken, { saleId, storeId: shop.storeId, lines: [{ productId: a.id, quantity: 2 }, { productId: b.id, quantity: 2 }] }).expect(409);
    expect(res.body).toMatchObject({ code: 'insufficient_stock', shortages: [{ productId: b.id, sku: b.sku, requested: 2, available: 1 }] });
    expect([await onHand(a.id), await onHand(b.id)]).toEqual([5, 1]);
    await request(inv.app).get(`/api/v1/stock/reservations/${saleId}`).set(bearer(serviceToken)).expect(404);
  });

  it('when transaction-service reserves an offline sale with allowNegative, then on-hand goes below zero in a store that denies it, and the release restores it', async () => {
    const p = await createProduct(inv.app, shop.accessToken);
    await receive(inv.app, shop.accessToken, shop.storeId, p.id, 1);
    const saleId = randomUUID();
    const res = await reserve(serviceToken, { saleId, storeId: shop.storeId, lines: [{ productId: p.id, quantity: 3 }], allowNegative: true }).expect(201);
    expect(res.body.lines).toEqual([{ productId: p.id, quantity: 3, onHandAfter: -2 }]);
    expect(await onHand(p.id)).toBe(-2);
    const { rows } = await admin.query("SELECT quantity, reason FROM inventory.stock_movements WHERE reference_type = 'sale' AND reference_id = $1", [saleId]);
    expect(rows).toEqual([{ quantity: -3, reason: 'offline sale (may go below zero)' }]);
    await request(inv.app).delete(`/api/v1/stock/reservations/${saleId}`).set(bearer(serviceToken)).expect(200);
    expect(await onHand(p.id)).toBe(1);
  });

  it('when a cashier, manager or owner asks for allowNegative, then 403 and nothing moves', async () => {
    const p = await createProduct(inv.app, shop.accessToken);
    for (const token of [shop.cashier.token, shop.manager.token, shop.accessToken]) {
      const res = await reserve(token, { saleId: randomUUID(), storeId: shop.storeId, lines: [{ productId: p.id, quantity: 1 }], allowNegative: true }).expect(403);
      expect(res.body.code).toBe('allow_negative_forbidden');
    }
    expect(await onHand(p.id)).toBeUndefined();
  });

  it('when the store allows negative stock, then the sale goes through and on-hand goes negative', async () => {
    const p = await createProduct(inv.app, shop.accessToken);
    const res = await reserve(shop.accessToken, { saleId: randomUUID(), storeId: shop.otherStoreId, lines: [{ productId: p.id, quantity: 3 }] }).expect(201);
    expect(res.body.lines[0].onHandAfter).toBe(-3);
  });

  it('when 100 reservations race for the last unit, then exactly one succeeds and on-hand ends at zero', async () => {
    const p = await createProduct(inv.app, shop.accessToken);
    await receive(inv.app, shop.accessToken, shop.storeId, p.id, 1);
    const results = await Promise.all(
      Array.from({ length: 100 }, () => reserve(serviceToken, { saleId: randomUUID(), storeId: shop.storeId, lines: [{ productId: p.id, quantity: 1 }] })),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(99);
    expect(await onHand(p.id)).toBe(0);
    const { rows } = await admin.query("SELECT count(*)::int AS n FROM inventory.stock_movements WHERE product_id = $1 AND kind = 'sale'", [p.id]);
    expect(rows[0].n).toBe(1);
  });

  it('when the same sale is reserved 20 times at once, then it is reserved once', async () => {
    const p = await createProduct(inv.app, shop.accessToken);
    await receive(inv.app, shop.accessToken, shop.storeId, p.id, 10);
    const body = { saleId: randomUUID(), storeId: shop.storeId, lines: [{ productId: p.id, quantity: 2 }] };
    const results = await Promise.all(Array.from({ length: 20 }, () => reserve(serviceToken, body)));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 200)).toHaveLength(19);
    expect(await onHand(p.id)).toBe(8);
  });

  it('when a reservation is released, then the stock comes back once, and the sale cannot be reserved again', async () => {
    const p = await createProduct(inv.app, shop.accessToken);
    await receive(inv.app, shop.accessToken, shop.storeId, p.id, 4);
    const body = { saleId: randomUUID(), storeId: shop.storeId, lines: [{ productId: p.id, quantity: 3 }] };
    await reserve(serviceToken, body).expect(201);
    const released = await request(inv.app).delete(`/api/v1/stock/reservations/${body.saleId}`).set(bearer(serviceToken)).expect(200);
    expect(released.body.status).toBe('released');
    await request(inv.app).delete(`/api/v1/stock/reservations/${body.saleId}`).set(bearer(serviceToken)).expect(200);
    expect(await onHand(p.id)).toBe(4);
    const late = await reserve(serviceToken, body).expect(409);
    expect(late.body.code).toBe('reservation_released');
    expect(await onHand(p.id)).toBe(4);
  });

  it('when a product is deleted while its sale holds a reservation, then the compensating release still brings the stock back; a new online reservation of it is 400', async () => {
    const p = await createProduct(inv.app, shop.accessToken);
    await receive(inv.app, shop.accessToken, shop.storeId, p.id, 5);
    const saleId = randomUUID();
    await reserve(serviceToken, { saleId, storeId: shop.storeId, lines: [{ productId: p.id, quantity: 2 }] }).expect(201);
    await request(inv.app).delete(`/api/v1/products/${p.id}`).set(bearer(shop.accessToken)).expect(204);
    await request(inv.app).delete(`/api/v1/stock/reservations/${saleId}`).set(bearer(serviceToken)).expect(200);
    expect(await onHand(p.id)).toBe(5);
    const online = await reserve(serviceToken, { saleId: randomUUID(), storeId: shop.storeId, lines: [{ productId: p.id, quantity: 1 }] }).expect(400);
    expect(online.body.code).toBe('unknown_product');
    const adjusted = await request(inv.app).post('/api/v1/stock/adjustments').set(bearer(shop.accessToken)).set('Idempotency-Key', randomUUID()).send({ storeId: shop.storeId, productId: p.id, quantity: 1, reason: 'receive' }).expect(400);
    expect(adjusted.body.code).toBe('unknown_product');
    // An adjustment with reason "return" is a new movement too, not a refund's restock.
    const returned = await request(inv.app).post('/api/v1/stock/adjustments').set(bearer(shop.accessToken)).set('Idempotency-Key', randomUUID()).send({ storeId: shop.storeId, productId: p.id, quantity: 5, reason: 'return' }).expect(400);
    expect(returned.body.code).toBe('unknown_product');
    expect(await onHand(p.id)).toBe(5);
  });

  it('when a release arrives before its reservation, then a tombstone makes the late reservation fail', async () => {
    const p = await createProduct(inv.app, shop.accessToken);
    await receive(inv.app, shop.accessToken, shop.storeId, p.id, 4);
    const saleId = randomUUID();
    await request(inv.app).delete(`/api/v1/stock/reservations/${saleId}`).set(bearer(serviceToken)).expect(200);
    await reserve(serviceToken, { saleId, storeId: shop.storeId, lines: [{ productId: p.id, quantity: 1 }] }).expect(409);
    expect(await onHand(p.id)).toBe(4);
  });

  it("when a cashier reserves in their store, then it works; in another store 403; another tenant's store 404", async () => {
    const p = await createProduct(inv.app, shop.accessToken);
    await receive(inv.app, shop.accessToken, shop.storeId, p.id, 4);
    await reserve(shop.cashier.token, { saleId: randomUUID(), storeId: shop.storeId, lines: [{ productId: p.id, quantity: 1 }] }).expect(201);
    await reserve(shop.cashier.token, { saleId: randomUUID(), storeId: shop.otherStoreId, lines: [{ productId: p.id, quantity: 1 }] }).expect(403);
    await reserve(shop.accessToken, { saleId: randomUUID(), storeId: otherShop.storeId, lines: [{ productId: p.id, quantity: 1 }] }).expect(404);
  });

  it('when the reservation body is wrong, then 400 names each field', async () => {
    const res = await reserve(serviceToken, { saleId: 'nope', storeId: shop.storeId, lines: [{ productId: randomUUID(), quantity: 0 }, { quantity: 2 }] }).expect(400);
    expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['lines.0.quantity', 'lines.1.productId', 'saleId']);
    await reserve(serviceToken, { saleId: randomUUID(), storeId: shop.storeId, lines: [] }).expect(400);
  });

  it('when goods are returned with restock, then a return movement puts them back (idempotent by key)', async () => {
    const p = await createProduct(inv.app, shop.accessToken);
    const key = randomUUID();
    const body = { referenceId: `refund-${key}`, storeId: shop.storeId, lines: [{ productId: p.id, quantity: 2 }] };
    const first = await request(inv.app).post('/api/v1/stock/returns').set(bearer(serviceToken)).set('Idempotency-Key', key).send(body).expect(201);
    expect(first.body.lines).toEqual([{ productId: p.id, quantity: 2, onHand: 2 }]);
    await request(inv.app).post('/api/v1/stock/returns').set(bearer(serviceToken)).set('Idempotency-Key', key).send(body).expect(201);
    expect(await onHand(p.id)).toBe(2);
    await request(inv.app).post('/api/v1/stock/returns').set(bearer(shop.cashier.token)).set('Idempotency-Key', randomUUID()).send(body).expect(403);
  });
});
