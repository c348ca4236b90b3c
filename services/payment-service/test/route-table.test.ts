import request from 'supertest';
import { startAuthServer, startPayments, type AuthServer, type PaymentsUnderTest } from './helpers';

// Who may call what, pinned: a change of access is a deliberate, reviewed change.
const EXPECTED: Record<string, string> = {
  'POST /api/v1/payments/process': 'owner,manager,cashier,service',
  'GET /api/v1/payments': 'owner,manager,cashier,service',
  'GET /api/v1/payments/:id': 'owner,manager,cashier,service',
  'POST /api/v1/payments/:id/refunds': 'owner,manager,service',
  'POST /api/v1/payments/:id/void': 'owner,manager,service',
  'POST /api/v1/payments/void-by-key': 'owner,manager,service',
  'POST /api/v1/gift-cards': 'owner,manager',
  'GET /api/v1/gift-cards/:code': 'owner,manager,cashier,service',
  'POST /api/v1/gift-cards/:code/load': 'owner,manager',
};

const IDEMPOTENT = ['/api/v1/payments/process', '/api/v1/payments/{id}/refunds', '/api/v1/payments/{id}/void', '/api/v1/gift-cards', '/api/v1/gift-cards/{code}/load'];

describe('payment-service route table', () => {
  let auth: AuthServer;
  let pay: PaymentsUnderTest;
  beforeAll(async () => {
    auth = await startAuthServer();
    pay = await startPayments(auth.url);
  });
  afterAll(async () => {
    await pay.close();
    await auth.close();
  });

  it('when the routes are listed, then each declares exactly the expected roles', () => {
    const actual = Object.fromEntries(pay.table.routes.map((r) => [`${r.method.toUpperCase()} ${r.path}`, r.roles === 'public' ? 'public' : r.roles.join(',')]));
    expect(actual).toEqual(EXPECTED);
  });

  it('when the OpenAPI document is generated, then every route is in it and money-moving writes require the Idempotency-Key', async () => {
    const res = await request(pay.app).get('/openapi.json').expect(200);
    for (const route of pay.table.routes) {
      expect(res.body.paths[route.path.replace(/:([A-Za-z]+)/g, '{$1}')]?.[route.method]).toBeDefined();
    }
    for (const path of IDEMPOTENT) {
      expect(res.body.paths[path].post.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'idempotency-key', in: 'header', required: true })]));
    }
  });

  it('when the service is asked about its health, then it reports Postgres and Redis', async () => {
    await request(pay.app).get('/health').expect(200);
    const ready = await request(pay.app).get('/ready').expect(200);
    expect(ready.body.checks).toEqual({ postgres: 'up', redis: 'up' });
  });
});
