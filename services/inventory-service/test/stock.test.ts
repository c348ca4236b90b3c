import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { Pool } from '@pos/database';
import { adminPool, bearer, createProduct, createShop, ledgerDrift, receive, startAuthServer, startInventory, type AuthServer, type InventoryUnderTest, type Shop } from './helpers';

describe('inventory-service stock ledger', () => {
  let auth: AuthServer;
  let inv: InventoryUnderTest;
  let shop: Shop;
  let otherShop: Shop;
  let admin: Pool;

  beforeAll(async () => {
    auth = await startAuthServer();
    inv = await startInventory(auth.url);
    shop = await createShop(auth);
    otherShop = await createShop(auth);
    admin = adminPool();
  });
  afterAll(async () => {
    expect(await ledgerDrift(admin, shop.tenantId)).toEqual([]);
    await inv.close();
    await auth.close();
    await admin.end();
  });

  const adjust = (token: string, body: Record<string, unknown>, key = randomUUID()) =>
    request(inv.app).post('/api/v1/stock/adjustments').set(bearer(token)).set('Idempotency-Key', key).send(body);
  const level = async (productId: string, storeId = shop.storeId) => {
    const res = await request(inv.app).get('/api/v1/inventory').query({ storeId, productId }).set(bearer(shop.accessToken)).expect(200);
    return res.body.data[0] as { id: string; onHand: number; version: number; reorderPoint: number } | undefined;
  };

  it('when stock is received, then the movement and the level come back and on-hand equals the ledger', async () => {
    const p = await createProduct(inv.app, shop.accessToken);
    const res = await adjust(shop.manager.token, { storeId: shop.storeId, productId: p.id, quantity: 12, reason: 'receive' }).expect(201);
    expect(res.body.movement).toMatchObject({ kind: 'receive', quantity: 12, onHandAfter: 12, actorId: shop.manager.id });
    expect(res.body.level).toMatchObject({ productId: p.id, storeId: shop.storeId, onHand: 12 });
    const damaged = await adjust(shop.manager.token, { storeId: shop.storeId, productId: p.id, quantity: -2, reason: 'damage', note: 'dropped' }).expect(201);
    expect(damaged.body.movement).toMatchObject({ kind: 'damage', quantity: -2, onHandAfter: 10, reason: 'damage: dropped' });
    const events = await admin.query("SELECT envelope->'data' AS data FROM inventory.outbox WHERE type = 'stock.changed' AND envelope->'data'->'changes'->0->>'productId' = $1 ORDER BY seq", [p.id]);
    expect(events.rows.map((r) => r.data.changes[0].onHand)).toEqual([12, 10]);
    expect(await ledgerDrift(admin, shop.tenantId)).toEqual([]);
  });

  it('when the same adjustment is replayed with its Idempotency-Key, then it is applied once and the first answer comes back', async () => {
    const p = await createProduct(inv.app, shop.accessToken);
    const key = randomUUID();
    const body = { storeId: shop.storeId, productId: p.id, quantity: 5, reason: 'receive' };
    const first = await adjust(shop.accessToken, body, key).expect(201);
    const again = await adjust(shop.accessToken, body, key).expect(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    await adjust(shop.accessToken, { ...body, quantity: 6 }, key).expect(422);
    expect((await level(p.id))!.onHand).toBe(5);
    await request(inv.app).post('/api/v1/stock/adjustments').set(bearer(shop.accessToken)).send(body).expect(400);
  });

  it('when the quantity sign does not fit the reason, or fields are wrong, then 400 naming them', async () => {
    const p = await createProduct(inv.app, shop.accessToken);
    const sign = await adjust(shop.accessToken, { storeId: shop.storeId, productId: p.id, quantity: -3, reason: 'receive' }).expect(400);
    expect(sign.body.errors).toEqual([{ path: 'quantity', message: expect.stringMatching(/positive/) }]);
    const bad = await adjust(shop.accessToken, { storeId: 'x', productId: p.id, quantity: 1.5, reason: 'gift' }).expect(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['quantity', 'reason', 'storeId']);
  });

  it('when a cashier tries to adjust stock, then 403 and nothing moves', async () => {
    const p = await createProduct(inv.app, shop.accessToken);
    await adjust(shop.cashier.token, { storeId: shop.storeId, productId: p.id, quantity: 5, reason: 'receive' }).expect(403);
    expect(await level(p.id)).toBeUndefined();
  });

  it("when a manager adjusts a store that is not theirs, then 403; another tenant's store or product, then 404/400", async () => {
    const p = await createProduct(inv.app, shop.accessToken);
    await adjust(shop.manager.token, { storeId: shop.otherStoreId, productId: p.id, quantity: 5, reason: 'receive' }).expect(403);
    await adjust(shop.accessToken, { storeId: otherShop.storeId, productId: p.id, quantity: 5, reason: 'receive' }).expect(404);
    const foreign = await createProduct(inv.app, otherShop.accessToken);
    const res = await adjust(shop.accessToken, { storeId: shop.storeId, productId: foreign.id, quantity: 5, reason: 'receive' }).expect(400);
    expect(res.body.code).toBe('unknown_product');
    const { rows } = await admin.query('SELECT count(*)::int AS n FROM inventory.stock_movements WHERE product_id = $1', [foreign.id]);
    expect(rows[0].n).toBe(0);
  });

  it('when a write-off would go below zero in a store that denies negative stock, then 409; in one that allows it, on-hand goes negative', async () => {
    const p = await createProduct(inv.app, shop.accessToken);
    await receive(inv.app, shop.accessToken, shop.storeId, p.id, 1);
    const denied = await adjust(shop.accessToken, { storeId: shop.storeId, productId: p.id, quantity: -2, reason: 'damage' }).expect(409);
    expect(denied.body).toMatchObject({ code: 'insufficient_stock', shortages: [{ productId: p.id, requested: 2, available: 1, sku: p.sku }] });
    await adjust(shop.accessToken, { storeId: shop.otherStoreId, productId: p.id, quantity: -2, reason: 'damage' }).expect(201);
    expect((await level(p.id, shop.otherStoreId))!.onHand).toBe(-2);
  });

  it('when 50 adjustments run concurrently on one product, then none is lost and on-hand equals the sum of movements', async () => {
    const p = await createProduct(inv.app, shop.accessToken);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => adjust(shop.accessToken, { storeId: shop.storeId, productId: p.id, quantity: i % 5 === 0 ? -1 : 3, reason: i % 5 === 0 ? 'correction' : 'receive' })),
    );
    const ok = results.filter((r) => r.status === 201).length;
    const conflicts = results.filter((r) => r.status === 409).length;
    expect(ok + conflicts).toBe(50);
    const { rows } = await admin.query('SELECT l.on_hand, (SELECT sum(quantity)::int FROM inventory.stock_movements m WHERE m.level_id = l.id) AS sum, (SELECT count(*)::int FROM inventory.stock_movements m WHERE m.level_id = l.id) AS n FROM inventory.stock_levels l WHERE product_id = $1', [p.id]);
    expect(rows[0].on_hand).toBe(rows[0].sum);
    expect(rows[0].n).toBe(ok);
    expect(rows[0].on_hand).toBeGreaterThanOrEqual(0);
  });

  it('when a physical count is recorded, then a count movement of the difference is written; a stale version is refused', async () => {
    const p = await createProduct(inv.app, shop.accessToken);
    await receive(inv.app, shop.accessToken, shop.storeId, p.id, 10);
    const l = (await level(p.id))!;
    const res = await request(inv.app).put(`/api/v1/inventory/${l.id}`).set(bearer(shop.manager.token)).send({ version: l.version, countedQuantity: 7, reorderPoint: 3 }).expect(200);
    expect(res.body).toMatchObject({ onHand: 7, reorderPoint: 3 });
    await request(inv.app).put(`/api/v1/inventory/${l.id}`).set(bearer(shop.manager.token)).send({ version: l.version, countedQuantity: 1 }).expect(409);
    await request(inv.app).put(`/api/v1/inventory/${l.id}`).set(bearer(shop.cashier.token)).send({ version: res.body.version, countedQuantity: 1 }).expect(403);
    const movements = await request(inv.app).get(`/api/v1/inventory/${l.id}/movements`).set(bearer(shop.manager.token)).expect(200);
    expect(movements.body.data.map((m: { kind: string; quantity: number }) => [m.kind, m.quantity])).toEqual([
      ['receive', 10],
      ['count', -3],
    ]);
    await request(inv.app).get(`/api/v1/inventory/${l.id}`).set(bearer(otherShop.accessToken)).expect(404);
  });

  it('when someone tries to edit or delete a movement, then the database refuses: the ledger is append-only', async () => {
    const p = await createProduct(inv.app, shop.accessToken);
    await receive(inv.app, shop.accessToken, shop.storeId, p.id, 4);
    await expect(admin.query('UPDATE inventory.stock_movements SET quantity = 400 WHERE product_id = $1', [p.id])).rejects.toThrow(/immutable/);
    await expect(admin.query('DELETE FROM inventory.stock_movements WHERE product_id = $1', [p.id])).rejects.toThrow(/immutable/);
  });

  describe('stock.low', () => {
    it('when on-hand crosses the reorder point downwards, then stock.low fires once per crossing', async () => {
      const p = await createProduct(inv.app, shop.accessToken);
      await receive(inv.app, shop.accessToken, shop.storeId, p.id, 10);
      const l = (await level(p.id))!;
      await request(inv.app).put(`/api/v1/inventory/${l.id}`).set(bearer(shop.accessToken)).send({ version: l.version, reorderPoint: 5 }).expect(200);
      const sell = (q: number) => adjust(shop.accessToken, { storeId: shop.storeId, productId: p.id, quantity: -q, reason: 'damage' }).expect(201);
      await sell(4); // 6: above
      await sell(1); // 5: crosses
      await sell(1); // 4: still low, no new alert
      await receive(inv.app, shop.accessToken, shop.storeId, p.id, 10); // 14: back above
      await sell(10); // 4: crosses again
      const { rows } = await admin.query("SELECT envelope->'data' AS data FROM inventory.outbox WHERE type = 'stock.low' AND envelope->'data'->>'productId' = $1 ORDER BY seq", [p.id]);
      expect(rows.map((r) => r.data.onHand)).toEqual([5, 4]);
      expect(rows[0].data).toMatchObject({ storeId: shop.storeId, sku: p.sku, reorderPoint: 5 });
      const low = await request(inv.app).get('/api/v1/inventory').query({ storeId: shop.storeId, lowStock: 'true' }).set(bearer(shop.manager.token)).expect(200);
      expect(low.body.data.map((x: { productId: string }) => x.productId)).toContain(p.id);
    });
  });

  describe('transfers', () => {
    it('when stock is transferred, then both stores change in one step with transfer movements', async () => {
      const p = await createProduct(inv.app, shop.accessToken);
      await receive(inv.app, shop.accessToken, shop.storeId, p.id, 8);
      const res = await request(inv.app)
        .post('/api/v1/stock/transfers')
        .set(bearer(shop.accessToken))
        .set('Idempotency-Key', randomUUID())
        .send({ fromStoreId: shop.storeId, toStoreId: shop.otherStoreId, lines: [{ productId: p.id, quantity: 3 }] })
        .expect(201);
      expect(res.body.lines).toEqual([{ productId: p.id, quantity: 3, fromOnHand: 5, toOnHand: 3 }]);
      const { rows } = await admin.query('SELECT kind, quantity, reference_id FROM inventory.stock_movements WHERE product_id = $1 ORDER BY created_at, kind', [p.id]);
      expect(rows.filter((r) => r.kind.startsWith('transfer')).map((r) => [r.kind, r.quantity, r.reference_id])).toEqual(
        expect.arrayContaining([
          ['transfer_out', -3, res.body.id],
          ['transfer_in', 3, res.body.id],
        ]),
      );
    });

    it('when the source lacks stock, then 409 and neither store changes', async () => {
      const p = await createProduct(inv.app, shop.accessToken);
      await receive(inv.app, shop.accessToken, shop.storeId, p.id, 1);
      await request(inv.app)
        .post('/api/v1/stock/transfers')
        .set(bearer(shop.accessToken))
        .set('Idempotency-Key', randomUUID())
        .send({ fromStoreId: shop.storeId, toStoreId: shop.otherStoreId, lines: [{ productId: p.id, quantity: 2 }] })
        .expect(409);
      expect((await level(p.id))!.onHand).toBe(1);
      expect(await level(p.id, shop.otherStoreId)).toBeUndefined();
    });

    it('when writing the destination side fails, then the source is not decremented either (atomic)', async () => {
      const p = await createProduct(inv.app, shop.accessToken);
      await receive(inv.app, shop.accessToken, shop.storeId, p.id, 6);
      // Make the destination insert fail for this product only, as a crash or constraint would.
      const fn = `fail_${p.id.replace(/-/g, '')}`;
      await admin.query(`CREATE FUNCTION inventory.${fn}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
          IF NEW.kind = 'transfer_in' AND NEW.product_id = '${p.id}' THEN RAISE EXCEPTION 'destination write failed'; END IF; RETURN NEW; END $$`);
      await admin.query(`CREATE TRIGGER ${fn} BEFORE INSERT ON inventory.stock_movements FOR EACH ROW EXECUTE FUNCTION inventory.${fn}()`);
      try {
        const res = await request(inv.app)
          .post('/api/v1/stock/transfers')
          .set(bearer(shop.accessToken))
          .set('Idempotency-Key', randomUUID())
          .send({ fromStoreId: shop.storeId, toStoreId: shop.otherStoreId, lines: [{ productId: p.id, quantity: 4 }] });
        expect(res.status).toBe(500);
        expect(JSON.stringify(res.body)).not.toContain('destination write failed');
      } finally {
        await admin.query(`DROP TRIGGER ${fn} ON inventory.stock_movements`);
        await admin.query(`DROP FUNCTION inventory.${fn}()`);
      }
      expect((await level(p.id))!.onHand).toBe(6);
      const { rows } = await admin.query("SELECT count(*)::int AS n FROM inventory.stock_movements WHERE product_id = $1 AND kind LIKE 'transfer%'", [p.id]);
      expect(rows[0].n).toBe(0);
      const transfers = await admin.query("SELECT count(*)::int AS n FROM inventory.transfers WHERE lines->0->>'productId' = $1", [p.id]);
      expect(transfers.rows[0].n).toBe(0);
    });

    it('when transfers run in opposite directions at once, then none deadlocks or is lost', async () => {
      const p = await createProduct(inv.app, shop.accessToken);
      await receive(inv.app, shop.accessToken, shop.storeId, p.id, 50);
      await receive(inv.app, shop.accessToken, shop.otherStoreId, p.id, 50);
      const transfer = (from: string, to: string) =>
        request(inv.app)
          .post('/api/v1/stock/transfers')
          .set(bearer(shop.accessToken))
          .set('Idempotency-Key', randomUUID())
          .send({ fromStoreId: from, toStoreId: to, lines: [{ productId: p.id, quantity: 1 }] });
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? transfer(shop.storeId, shop.otherStoreId) : transfer(shop.otherStoreId, shop.storeId))));
      expect(results.map((r) => r.status)).toEqual(Array(20).fill(201));
      expect((await level(p.id))!.onHand + (await level(p.id, shop.otherStoreId))!.onHand).toBe(100);
    });
  });
});
