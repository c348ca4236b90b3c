import request from 'supertest';
import type { Pool } from '@pos/database';
import { adminPool, bearer, createProduct, createShop, startAuthServer, startInventory, type AuthServer, type InventoryUnderTest, type Shop } from './helpers';

describe('inventory-service bulk import', () => {
  let auth: AuthServer;
  let inv: InventoryUnderTest;
  let shop: Shop;
  let admin: Pool;

  beforeAll(async () => {
    auth = await startAuthServer();
    inv = await startInventory(auth.url);
    shop = await createShop(auth);
    admin = adminPool();
  });
  afterAll(async () => {
    await inv.close();
    await auth.close();
    await admin.end();
  });

  const importCsv = (csv: string, token = shop.accessToken) => request(inv.app).post('/api/v1/products/import').set(bearer(token)).set('Content-Type', 'text/csv').send(csv);
  const count = async () => (await admin.query('SELECT count(*)::int AS n FROM inventory.products WHERE tenant_id = $1', [shop.tenantId])).rows[0].n as number;

  it('when a valid CSV is imported, then every row becomes a product with exact prices and barcodes', async () => {
    const csv = ['sku,name,price,currency,tax_rate_bps,barcodes,description', 'CSV-1,Espresso,2.50,USD,825,400000000001|400000000002,Strong', 'CSV-2,"Tea, green",1.99,USD,0,,'].join('\n');
    const res = await importCsv(csv).expect(200);
    expect(res.body).toEqual({ total: 2, created: 2, updated: 0 });
    const { rows } = await admin.query("SELECT sku, name, price_amount, tax_rate_bps FROM inventory.products WHERE tenant_id = $1 AND sku LIKE 'CSV-%' ORDER BY sku", [shop.tenantId]);
    expect(rows).toEqual([
      { sku: 'CSV-1', name: 'Espresso', price_amount: 250, tax_rate_bps: 825 },
      { sku: 'CSV-2', name: 'Tea, green', price_amount: 199, tax_rate_bps: 0 },
    ]);
    const lookup = await request(inv.app).get('/api/v1/products/lookup').query({ barcode: '400000000002' }).set(bearer(shop.cashier.token)).expect(200);
    expect(lookup.body.sku).toBe('CSV-1');
  });

  it('when the same file is imported again with changes, then products are updated, not duplicated, and cached lookups see it', async () => {
    await importCsv('sku,name,price,currency,tax_rate_bps,barcodes\nRE-1,Bagel,1.00,USD,0,500000000001').expect(200);
    await request(inv.app).get('/api/v1/products/lookup').query({ barcode: '500000000001' }).set(bearer(shop.accessToken)).expect(200);
    const before = await count();
    const res = await importCsv('sku,name,price,currency,tax_rate_bps,barcodes\nRE-1,Bagel (sesame),1.25,USD,0,500000000001').expect(200);
    expect(res.body).toEqual({ total: 1, created: 0, updated: 1 });
    expect(await count()).toBe(before);
    const lookup = await request(inv.app).get('/api/v1/products/lookup').query({ barcode: '500000000001' }).set(bearer(shop.accessToken)).expect(200);
    expect(lookup.body).toMatchObject({ name: 'Bagel (sesame)', price: { amount: 125 }, version: 2 });
  });

  it('when some rows are bad, then nothing is imported and every bad row is named by line and field', async () => {
    const existing = await createProduct(inv.app, shop.accessToken);
    const before = await count();
    const csv = [
      'sku,name,price,currency,tax_rate_bps,barcodes',
      'BAD-1,Good row,1.00,USD,0,',
      'BAD-2,,1.00,USD,0,', // line 3: no name
      'BAD-3,Too precise,1.005,USD,0,', // line 4: price decimals
      'BAD-1,Duplicate sku,1.00,USD,0,', // line 5: repeats line 2
      `BAD-5,Taken barcode,1.00,USD,0,${existing.barcodes[0]}`, // line 6
      'BAD-6,Bad tax,1.00,usd,abc,', // line 7: currency and tax
    ].join('\n');
    const res = await importCsv(csv).expect(400);
    expect(res.body.code).toBe('import_rejected');
    const found = res.body.errors.map((e: { line: number; field: string }) => `${e.line}:${e.field}`).sort();
    expect(found).toEqual(['3:name', '4:price', '5:sku', '7:currency', '7:taxRateBps'].sort());
    expect(await count()).toBe(before);
    // The taken barcode is found once the file itself is clean.
    const second = await importCsv(['sku,name,price,currency,tax_rate_bps,barcodes', `BAD-5,Taken barcode,1.00,USD,0,${existing.barcodes[0]}`].join('\n')).expect(400);
    expect(second.body.errors).toEqual([expect.objectContaining({ line: 2, field: 'barcodes', message: expect.stringContaining(existing.sku) })]);
    expect(await count()).toBe(before);
  });

  it('when a JSON array is imported, then Money objects are taken as minor units; JPY has no decimals', async () => {
    const res = await request(inv.app)
      .post('/api/v1/products/import')
      .set(bearer(shop.accessToken))
      .send([
        { sku: 'JSON-1', name: 'Onigiri', price: { amount: 180, currency: 'JPY' }, taxRateBps: 800, barcodes: ['600000000001'] },
        { sku: 'JSON-2', name: 'Mochi', price: '250', currency: 'JPY', taxRateBps: 800 },
        { sku: 'JSON-3', name: 'Bad yen', price: '2.50', currency: 'JPY', taxRateBps: 800 },
      ])
      .expect(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ line: 3, field: 'price' })]);
    await request(inv.app)
      .post('/api/v1/products/import')
      .set(bearer(shop.accessToken))
      .send([
        { sku: 'JSON-1', name: 'Onigiri', price: { amount: 180, currency: 'JPY' }, taxRateBps: 800, barcodes: ['600000000001'] },
        { sku: 'JSON-2', name: 'Mochi', price: '250', currency: 'JPY', taxRateBps: 800 },
      ])
      .expect(200);
    const { rows } = await admin.query("SELECT sku, price_amount, currency FROM inventory.products WHERE tenant_id = $1 AND sku LIKE 'JSON-%' ORDER BY sku", [shop.tenantId]);
    expect(rows).toEqual([
      { sku: 'JSON-1', price_amount: 180, currency: 'JPY' },
      { sku: 'JSON-2', price_amount: 250, currency: 'JPY' },
    ]);
  });

  it('when the file has more than 10,000 rows or is not CSV/JSON, then it is refused whole', async () => {
    const rows = Array.from({ length: 10_001 }, (_, i) => `MAX-${i},Item ${i},1.00,USD,0,`);
    const res = await importCsv(['sku,name,price,currency,tax_rate_bps,barcodes', ...rows].join('\n')).expect(400);
    expect(res.body.errors[0].message).toMatch(/10001 rows; at most 10000/);
    await request(inv.app).post('/api/v1/products/import').set(bearer(shop.accessToken)).send({ not: 'an array' }).expect(400);
    await importCsv('sku,name\n"unterminated,quote').expect(400);
  });

  it('when 10,000 rows are imported, then all land in one go', async () => {
    const rows = Array.from({ length: 10_000 }, (_, i) => `BULK-${i},Bulk item ${i},${(i % 100) + 1}.99,USD,825,${String(700000000000 + i)}`);
    const res = await importCsv(['sku,name,price,currency,tax_rate_bps,barcodes', ...rows].join('\n')).expect(200);
    expect(res.body).toEqual({ total: 10_000, created: 10_000, updated: 0 });
    const { rows: counted } = await admin.query("SELECT count(*)::int AS n FROM inventory.barcodes WHERE tenant_id = $1 AND barcode LIKE '7000%'", [shop.tenantId]);
    expect(counted[0].n).toBe(10_000);
  }, 60_000);

  it('when a cashier imports, then 403', async () => {
    await importCsv('sku,name,price,currency,tax_rate_bps\nX-1,X,1.00,USD,0', shop.cashier.token).expect(403);
  });
});
