import request from 'supertest';
import { startAuthServer, startInventory, type AuthServer, type InventoryUnderTest } from './helpers';

// Who may call what, pinned: a change of access is a deliberate, reviewed change.
const EXPECTED: Record<string, string> = {
  'GET /api/v1/products/lookup': 'owner,manager,cashier,service',
  'GET /api/v1/products': 'owner,manager,cashier,service',
  'GET /api/v1/products/:id': 'owner,manager,cashier,service',
  'POST /api/v1/products': 'owner,manager',
  'PATCH /api/v1/products/:id': 'owner,manager',
  'DELETE /api/v1/products/:id': 'owner,manager',
  'POST /api/v1/products/import': 'owner,manager',
  'GET /api/v1/categories': 'owner,manager,cashier,service',
  'POST /api/v1/categories': 'owner,manager',
  'PATCH /api/v1/categories/:id': 'owner,manager',
  'DELETE /api/v1/categories/:id': 'owner,manager',
  'GET /api/v1/inventory': 'owner,manager,cashier,service',
  'GET /api/v1/inventory/:id': 'owner,manager,cashier,service',
  'GET /api/v1/inventory/:id/movements': 'owner,manager',
  'PUT /api/v1/inventory/:id': 'owner,manager',
  'POST /api/v1/stock/adjustments': 'owner,manager',
  'POST /api/v1/stock/transfers': 'owner,manager',
  'POST /api/v1/stock/reservations': 'owner,manager,cashier,service',
  'GET /api/v1/stock/reservations/:saleId': 'owner,manager,cashier,service',
  'DELETE /api/v1/stock/reservations/:saleId': 'owner,manager,cashier,service',
  'POST /api/v1/stock/returns': 'owner,manager,service',
};

describe('inventory-service route table', () => {
  let auth: AuthServer;
  let inv: InventoryUnderTest;
  beforeAll(async () => {
    auth = await startAuthServer();
    inv = await startInventory(auth.url);
  });
  afterAll(async () => {
    await inv.close();
    await auth.close();
  });

  it('when the routes are listed, then each declares exactly the expected roles', () => {
    const actual = Object.fromEntries(inv.table.routes.map((r) => [`${r.method.toUpperCase()} ${r.path}`, r.roles === 'public' ? 'public' : r.roles.join(',')]));
    expect(actual).toEqual(EXPECTED);
  });

  it('when the OpenAPI document is generated, then every route is in it and stock writes document the Idempotency-Key', async () => {
    const res = await request(inv.app).get('/openapi.json').expect(200);
    for (const route of inv.table.routes) {
      expect(res.body.paths[route.path.replace(/:([A-Za-z]+)/g, '{$1}')]?.[route.method]).toBeDefined();
    }
    const params = res.body.paths['/api/v1/stock/adjustments'].post.parameters;
    expect(params).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'idempotency-key', in: 'header', required: true })]));
  });
});
