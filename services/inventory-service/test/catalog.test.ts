import request from 'supertest';
import { createPool, type Pool } from '@pos/database';
import { adminPool, bearer, createProduct, createShop, productBody, startAuthServer, startInventory, type AuthServer, type InventoryUnderTest, type Shop } from './helpers';

describe('inventory-service catalog', () => {
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
    await inv.close();
    await auth.close();
    await admin.end();
  });

  it('when a manager creates a product, then it comes back whole, is stored with its barcodes and a product.created event', async () => {
    const body = productBody({ description: 'Dark roast', cost: { amount: 200, currency: 'USD' } });
    const res = await request(inv.app).post('/api/v1/products').set(bearer(shop.manager.token)).send(body).expect(201);
    expect(res.body).toMatchObject({ sku: body.sku, name: body.name, barcodes: body.barcodes, price: body.price, taxRateBps: 825, cost: { amount: 200, currency: 'USD' }, active: true, version: 1 });
    const { rows } = await admin.query('SELECT barcode FROM inventory.barcodes WHERE product_id = $1', [res.body.id]);
    expect(rows.map((r) => r.barcode)).toEqual(body.barcodes);
    const events = await admin.query("SELECT envelope FROM inventory.outbox WHERE type = 'product.created' AND envelope->'data'->>'productId' = $1", [res.body.id]);
    expect(events.rows).toHaveLength(1);
  });

  it('when the product body is wrong, then 400 names every bad field and nothing is stored', async () => {
    const res = await request(inv.app)
      .post('/api/v1/products')
      .set(bearer(shop.accessToken))
      .send({ sku: 'has space', name: '', barcodes: ['ok-1', 'ok-1'], price: { amount: 1.5, currency: 'usd' }, taxRateBps: 20000, color: 'red' })
      .expect(400);
    const paths = res.body.errors.map((e: { path: string }) => e.path).sort();
    expect(paths).toEqual(['barcodes', 'color', 'name', 'price.amount', 'price.currency', 'sku', 'taxRateBps']);
    const { rows } = await admin.query("SELECT 1 FROM inventory.products WHERE sku = 'has space'");
    expect(rows).toHaveLength(0);
  });

  it('when a cashier tries to create, change or delete a product, then 403; reading is allowed', async () => {
    const p = await createProduct(inv.app, shop.accessToken);
    await request(inv.app).post('/api/v1/products').set(bearer(shop.cashier.token)).send(productBody()).expect(403);
    await request(inv.app).patch(`/api/v1/products/${p.id}`).set(bearer(shop.cashier.token)).send({ version: 1, name: 'x' }).expect(403);
    await request(inv.app).delete(`/api/v1/products/${p.id}`).set(bearer(shop.cashier.token)).expect(403);
    await request(inv.app).get(`/api/v1/products/${p.id}`).set(bearer(shop.cashier.token)).expect(200);
  });

  it('when a SKU or barcode is already used in the tenant, then 409; another tenant may use them', async () => {
    const p = await createProduct(inv.app, shop.accessToken);
    const sameSku = await request(inv.app).post('/api/v1/products').set(bearer(shop.accessToken)).send(productBody({ sku: p.sku })).expect(409);
    expect(sameSku.body.code).toBe('sku_taken');
    const sameBarcode = await request(inv.app).post('/api/v1/products').set(bearer(shop.accessToken)).send(productBody({ barcodes: p.barcodes })).expect(409);
    expect(sameBarcode.body).toMatchObject({ code: 'barcode_taken', errors: [{ path: 'barcodes.0', message: expect.stringContaining(p.sku) }] });
    await request(inv.app).post('/api/v1/products').set(bearer(otherShop.accessToken)).send(productBody({ sku: p.sku, barcodes: p.barcodes })).expect(201);
  });

  it('when an update carries a stale version, then 409 and the product is unchanged', async () => {
    const p = await createProduct(inv.app, shop.accessToken);
    await request(inv.app).patch(`/api/v1/products/${p.id}`).set(bearer(shop.accessToken)).send({ version: 1, name: 'First' }).expect(200);
    const stale = await request(inv.app).patch(`/api/v1/products/${p.id}`).set(bearer(shop.accessToken)).send({ version: 1, name: 'Second' }).expect(409);
    expect(stale.body).toMatchObject({ code: 'version_conflict', currentVersion: 2 });
    const { rows } = await admin.query('SELECT name, version FROM inventory.products WHERE id = $1', [p.id]);
    expect(rows[0]).toEqual({ name: 'First', version: 2 });
  });

  it("when tenant A reads, changes, deletes or looks up tenant B's product, then 404 and it is untouched", async () => {
    const p = await createProduct(inv.app, otherShop.accessToken);
    await request(inv.app).get(`/api/v1/products/${p.id}`).set(bearer(shop.accessToken)).expect(404);
    await request(inv.app).patch(`/api/v1/products/${p.id}`).set(bearer(shop.accessToken)).send({ version: 1, name: 'Hijack' }).expect(404);
    await request(inv.app).delete(`/api/v1/products/${p.id}`).set(bearer(shop.accessToken)).expect(404);
    await request(inv.app).get('/api/v1/products/lookup').query({ barcode: p.barcodes[0] }).set(bearer(shop.accessToken)).expect(404);
    const { rows } = await admin.query('SELECT version, deleted_at FROM inventory.products WHERE id = $1', [p.id]);
    expect(rows[0]).toEqual({ version: 1, deleted_at: null });
  });

  it('when products are searched, then name and SKU match case- and accent-insensitively by prefix or substring', async () => {
    const tag = Date.now().toString(36);
    const creme = await createProduct(inv.app, shop.accessToken, { name: `Crème Brûlée ${tag}`, sku: `DESSERT-${tag}` });
    const cafe = await createProduct(inv.app, shop.accessToken, { name: `Café au lait ${tag}` });
    const search = async (q: string) =>
      (await request(inv.app).get('/api/v1/products').query({ q }).set(bearer(shop.cashier.token)).expect(200)).body.data.map((p: { id: string }) => p.id);
    expect(await search(`creme brulee ${tag}`)).toEqual([creme.id]);
    expect(await search(`BRÛL`)).toContain(creme.id);
    expect(await search(`cafe au`)).toContain(cafe.id);
    expect(await search(`dessert-${tag}`)).toEqual([creme.id]);
    expect(await search(`${tag}`)).toEqual(expect.arrayContaining([creme.id, cafe.id]));
    expect(await search('%')).not.toContain(creme.id);
    // Wildcards typed in full width become % and _ once normalised: still literal characters.
    expect(await search(`cr％e ${tag}`)).toEqual([]);
    expect(await search(`cr＿me ${tag}`)).toEqual([]);
    expect(await search(`c_ème`)).not.toContain(creme.id);
    const bySku = await request(inv.app).get('/api/v1/products').query({ sku: creme.sku }).set(bearer(shop.accessToken)).expect(200);
    expect(bySku.body.data.map((p: { id: string }) => p.id)).toEqual([creme.id]);
  });

  it('when another tenant has products with the same words, then a search (long or short) returns only the caller\'s', async () => {
    const tag = `tn${Date.now().toString(36)}`;
    const mine = await createProduct(inv.app, shop.accessToken, { name: `Oat milk ${tag}` });
    const theirs = await createProduct(inv.app, otherShop.accessToken, { name: `Oat milk ${tag}` });
    for (const q of [tag, 'Oat milk', 'Oa']) {
      const res = await request(inv.app).get('/api/v1/products').query({ q, limit: 200 }).set(bearer(shop.accessToken)).expect(200);
      const ids = res.body.data.map((p: { id: string }) => p.id);
      expect(ids).not.toContain(theirs.id);
      if (q !== 'Oa') expect(ids).toContain(mine.id);
    }
  });

  it('when a product is renamed or deleted, then the search follows at once: new name found, old name and deleted product not', async () => {
    const tag = `rn${Date.now().toString(36)}`;
    const p = await createProduct(inv.app, shop.accessToken, { name: `Rye bread ${tag}` });
    const search = async (q: string) =>
      (await request(inv.app).get('/api/v1/products').query({ q }).set(bearer(shop.accessToken)).expect(200)).body.data.map((x: { id: string }) => x.id);
    expect(await search(`rye bread ${tag}`)).toEqual([p.id]);
    await request(inv.app).patch(`/api/v1/products/${p.id}`).set(bearer(shop.accessToken)).send({ version: 1, name: `Spelt loaf ${tag}` }).expect(200);
    expect(await search(`rye bread ${tag}`)).toEqual([]);
    expect(await search(`spelt loaf ${tag}`)).toEqual([p.id]);
    await request(inv.app).delete(`/api/v1/products/${p.id}`).set(bearer(shop.accessToken)).expect(204);
    expect(await search(tag)).toEqual([]);
    const { rows } = await admin.query('SELECT count(*)::int AS n FROM inventory_search.product_text WHERE product_id = $1', [p.id]);
    expect(rows[0].n).toBe(0);
  });

  it('when a word matches more products than the trigram path takes (500), then the pages still hold every match once, in name order', async () => {
    const tag = `cm${Date.now().toString(36)}`;
    const rows = Array.from({ length: 520 }, (_, i) => ({ sku: `${tag}-${i}`, name: `Sock ${tag} ${String(i).padStart(3, '0')}`, price: { amount: 100, currency: 'USD' }, taxRateBps: 0 }));
    await request(inv.app).post('/api/v1/products/import').set(bearer(shop.accessToken)).send(rows).expect(200);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: request.Response = await request(inv.app).get('/api/v1/products').query({ q: `sock ${tag}`, limit: 200, ...(cursor ? { cursor } : {}) }).set(bearer(shop.accessToken)).expect(200);
      seen.push(...res.body.data.map((p: { name: string }) => p.name));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(rows.map((r) => r.name));
    const narrow = await request(inv.app).get('/api/v1/products').query({ q: `${tag} 51` }).set(bearer(shop.accessToken)).expect(200);
    expect(narrow.body.data.map((p: { name: string }) => p.name)).toEqual(Array.from({ length: 10 }, (_, i) => `Sock ${tag} 51${i}`));
    const client = await admin.connect();
    try {
      await client.query("SELECT set_config('app.tenant_id', $1, false)", [shop.tenantId]);
      const ids = async (max: number) => (await client.query('SELECT inventory.matching_product_ids($1, $2) AS ids', [`%sock ${tag}%`, max])).rows[0].ids;
      expect(await ids(500)).toBeNull();
      expect(await ids(520)).toHaveLength(520);
    } finally {
      client.release();
    }
  });

  it('when the runtime role queries the search table itself, then it is refused, and the search function without a tenant finds nothing', async () => {
    const tag = `rl${Date.now().toString(36)}`;
    await createProduct(inv.app, shop.accessToken, { name: `Plum jam ${tag}` });
    const app = createPool({ connectionString: process.env.DATABASE_URL!, max: 1 });
    try {
      await expect(app.query('SELECT * FROM inventory_search.product_text LIMIT 1')).rejects.toThrow(/permission denied/);
      const none = await app.query('SELECT inventory.matching_product_ids($1, 10) AS ids', [`%${tag}%`]);
      expect(none.rows).toEqual([{ ids: [] }]);
      const client = await app.connect();
      try {
        await client.query("SELECT set_config('app.tenant_id', $1, false)", [otherShop.tenantId]);
        expect((await client.query('SELECT inventory.matching_product_ids($1, 10) AS ids', [`%${tag}%`])).rows).toEqual([{ ids: [] }]);
        await client.query("SELECT set_config('app.tenant_id', $1, false)", [shop.tenantId]);
        expect((await client.query('SELECT inventory.matching_product_ids($1, 10) AS ids', [`%${tag}%`])).rows[0].ids).toHaveLength(1);
      } finally {
        client.release();
      }
    } finally {
      await app.end();
    }
  });

  it('when a basket asks for its products by id, then exactly those come back; bad ids are named', async () => {
    const [a, b] = [await createProduct(inv.app, shop.accessToken), await createProduct(inv.app, shop.accessToken)];
    const res = await request(inv.app).get('/api/v1/products').query({ ids: `${a.id},${b.id}` }).set(bearer(shop.cashier.token)).expect(200);
    expect(res.body.data.map((p: { id: string }) => p.id).sort()).toEqual([a.id, b.id].sort());
    const bad = await request(inv.app).get('/api/v1/products').query({ ids: `${a.id},nope` }).set(bearer(shop.accessToken)).expect(400);
    expect(bad.body.errors[0].path).toMatch(/^query\.ids/);
  });

  it('when products are paged, then the cursor visits each once, and deleted or inactive ones are filtered', async () => {
    const tag = `page${Date.now().toString(36)}`;
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await createProduct(inv.app, shop.accessToken, { name: `${tag} item ${i}`, active: i !== 4 })).id);
    await request(inv.app).delete(`/api/v1/products/${ids[3]}`).set(bearer(shop.accessToken)).expect(204);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: request.Response = await request(inv.app)
        .get('/api/v1/products')
        .query({ q: tag, limit: 2, active: 'true', ...(cursor ? { cursor } : {}) })
        .set(bearer(shop.accessToken))
        .expect(200);
      seen.push(...res.body.data.map((p: { id: string }) => p.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(ids.slice(0, 3));
  });

  it('when a product is deleted, then it is gone from reads and lookups, and its SKU and barcodes are free again', async () => {
    const p = await createProduct(inv.app, shop.accessToken);
    await request(inv.app).get('/api/v1/products/lookup').query({ barcode: p.barcodes[0] }).set(bearer(shop.accessToken)).expect(200);
    await request(inv.app).delete(`/api/v1/products/${p.id}`).set(bearer(shop.accessToken)).expect(204);
    await request(inv.app).get(`/api/v1/products/${p.id}`).set(bearer(shop.accessToken)).expect(404);
    await request(inv.app).get('/api/v1/products/lookup').query({ barcode: p.barcodes[0] }).set(bearer(shop.accessToken)).expect(404);
    await request(inv.app).post('/api/v1/products').set(bearer(shop.accessToken)).send(productBody({ sku: p.sku, barcodes: p.barcodes })).expect(201);
    const { rows } = await admin.query('SELECT deleted_at FROM inventory.products WHERE id = $1', [p.id]);
    expect(rows[0].deleted_at).not.toBeNull();
  });

  describe('barcode lookup and its cache', () => {
    it('when a product is looked up by barcode or SKU, then it is served and cached in Redis', async () => {
      const p = await createProduct(inv.app, shop.accessToken);
      const byBarcode = await request(inv.app).get('/api/v1/products/lookup').query({ barcode: p.barcodes[0] }).set(bearer(shop.cashier.token)).expect(200);
      expect(byBarcode.body.id).toBe(p.id);
      const bySku = await request(inv.app).get('/api/v1/products/lookup').query({ sku: p.sku }).set(bearer(shop.cashier.token)).expect(200);
      expect(bySku.body.id).toBe(p.id);
      expect(await inv.deps.redis.exists(`pos:inventory:lookup:${shop.tenantId}:barcode:${p.barcodes[0]}`)).toBe(1);
    });

    it('when the price changes, then the next lookup on every replica shows the new price', async () => {
      const replica = await startInventory(auth.url);
      try {
        const p = await createProduct(inv.app, shop.accessToken);
        const lookup = (app: InventoryUnderTest['app']) => request(app).get('/api/v1/products/lookup').query({ barcode: p.barcodes[0] }).set(bearer(shop.cashier.token)).expect(200);
        expect((await lookup(inv.app)).body.price.amount).toBe(499);
        expect((await lookup(replica.app)).body.price.amount).toBe(499);
        await request(inv.app).patch(`/api/v1/products/${p.id}`).set(bearer(shop.accessToken)).send({ version: 1, price: { amount: 599, currency: 'USD' } }).expect(200);
        // Pub/Sub reaches the other replica's in-process cache asynchronously; give it a moment.
        await new Promise((r) => setTimeout(r, 100));
        expect((await lookup(inv.app)).body.price.amount).toBe(599);
        expect((await lookup(replica.app)).body.price.amount).toBe(599);
      } finally {
        await replica.close();
      }
    });

    it('when a barcode moves to another product, then the old lookup no longer returns the old product', async () => {
      const a = await createProduct(inv.app, shop.accessToken);
      const code = a.barcodes[0]!;
      await request(inv.app).get('/api/v1/products/lookup').query({ barcode: code }).set(bearer(shop.accessToken)).expect(200);
      await request(inv.app).patch(`/api/v1/products/${a.id}`).set(bearer(shop.accessToken)).send({ version: 1, barcodes: [] }).expect(200);
      const b = await createProduct(inv.app, shop.accessToken, { barcodes: [code] });
      const res = await request(inv.app).get('/api/v1/products/lookup').query({ barcode: code }).set(bearer(shop.accessToken)).expect(200);
      expect(res.body.id).toBe(b.id);
    });

    it('when neither or both of barcode and sku are given, then 400', async () => {
      await request(inv.app).get('/api/v1/products/lookup').set(bearer(shop.accessToken)).expect(400);
      await request(inv.app).get('/api/v1/products/lookup').query({ barcode: '1', sku: 'x' }).set(bearer(shop.accessToken)).expect(400);
      await request(inv.app).get('/api/v1/products/lookup').query({ barcode: "1' OR 1=1" }).set(bearer(shop.accessToken)).expect(400);
    });

    it('when there is no token, then 401', async () => {
      await request(inv.app).get('/api/v1/products/lookup').query({ barcode: '123' }).expect(401);
    });
  });

  describe('categories', () => {
    it('when categories are created, renamed and used, then names are unique per tenant and products must use an existing one', async () => {
      const name = `Drinks ${Date.now()}`;
      const cat = await request(inv.app).post('/api/v1/categories').set(bearer(shop.accessToken)).send({ name }).expect(201);
      await request(inv.app).post('/api/v1/categories').set(bearer(shop.accessToken)).send({ name: name.toUpperCase() }).expect(409);
      await request(inv.app).post('/api/v1/categories').set(bearer(shop.cashier.token)).send({ name: 'x' }).expect(403);
      await request(inv.app).patch(`/api/v1/categories/${cat.body.id}`).set(bearer(shop.accessToken)).send({ version: 1, name: `${name} & more` }).expect(200);
      const p = await createProduct(inv.app, shop.accessToken, { categoryId: cat.body.id });
      const byCategory = await request(inv.app).get('/api/v1/products').query({ categoryId: cat.body.id }).set(bearer(shop.accessToken)).expect(200);
      expect(byCategory.body.data.map((x: { id: string }) => x.id)).toEqual([p.id]);
      const otherTenantCat = await request(inv.app).post('/api/v1/categories').set(bearer(otherShop.accessToken)).send({ name }).expect(201);
      const res = await request(inv.app).post('/api/v1/products').set(bearer(shop.accessToken)).send(productBody({ categoryId: otherTenantCat.body.id })).expect(400);
      expect(res.body.errors).toEqual([{ path: 'categoryId', message: expect.any(String) }]);
    });
  });
});
