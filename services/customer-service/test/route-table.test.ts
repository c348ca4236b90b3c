import request from 'supertest';
import { startAuthServer, startCustomers, type AuthServer, type CustomersUnderTest } from './helpers';

// Who may call what, pinned: a change of access is a deliberate, reviewed change.
const EXPECTED: Record<string, string> = {
  'GET /api/v1/loyalty/rule': 'owner,manager,cashier,service',
  'PUT /api/v1/loyalty/rule': 'owner',
  'GET /api/v1/customers/:id/loyalty': 'owner,manager,cashier,service',
  'POST /api/v1/customers/:id/loyalty/redemptions': 'service,owner,manager,cashier',
  'GET /api/v1/customers/:id/loyalty/redemptions/:key': 'service,owner,manager,cashier',
  'POST /api/v1/customers/:id/loyalty/redemptions/:key/refund': 'service,owner,manager',
  'POST /api/v1/customers/:id/loyalty/adjustments': 'owner,manager',
  'GET /api/v1/customers': 'owner,manager,cashier,service',
  'POST /api/v1/customers': 'owner,manager,cashier',
  'GET /api/v1/customers/:id': 'owner,manager,cashier,service',
  'PATCH /api/v1/customers/:id': 'owner,manager,cashier',
  'DELETE /api/v1/customers/:id': 'owner,manager',
  'GET /api/v1/customers/:id/transactions': 'owner,manager,cashier,service',
  'GET /api/v1/customers/:id/export': 'owner,manager',
};

describe('customer-service route table', () => {
  let auth: AuthServer;
  let svc: CustomersUnderTest;
  beforeAll(async () => {
    auth = await startAuthServer();
    svc = await startCustomers(auth.url);
  });
  afterAll(async () => {
    await svc.close();
    await auth.close();
  });

  it('when the routes are listed, then each declares exactly the expected roles', () => {
    const actual = Object.fromEntries(svc.table.routes.map((r) => [`${r.method.toUpperCase()} ${r.path}`, r.roles === 'public' ? 'public' : r.roles.join(',')]));
    expect(actual).toEqual(EXPECTED);
  });

  it('when the OpenAPI document is generated, then every route is in it and redemptions document the required Idempotency-Key', async () => {
    const res = await request(svc.app).get('/openapi.json').expect(200);
    for (const route of svc.table.routes) {
      expect(res.body.paths[route.path.replace(/:([A-Za-z]+)/g, '{$1}')]?.[route.method]).toBeDefined();
    }
    for (const path of ['/api/v1/customers/{id}/loyalty/redemptions', '/api/v1/customers/{id}/loyalty/adjustments']) {
      expect(res.body.paths[path].post.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'idempotency-key', in: 'header', required: true })]));
    }
  });

  it('when the service is asked for health and readiness, then both answer', async () => {
    await request(svc.app).get('/health').expect(200);
    const ready = await request(svc.app).get('/ready').expect(200);
    expect(ready.body.checks).toEqual({ postgres: 'up', redis: 'up' });
  });
});
