import request from 'supertest';
import { startStack, type Stack } from './helpers';

// Who may call what, pinned: a change of access is a deliberate, reviewed change.
const EXPECTED: Record<string, string> = {
  'POST /api/v1/transactions': 'owner,manager,cashier',
  'GET /api/v1/transactions': 'owner,manager,cashier,service',
  'GET /api/v1/transactions/:id': 'owner,manager,cashier,service',
  'GET /api/v1/transactions/:id/receipt': 'owner,manager,cashier,service',
  'POST /api/v1/transactions/:id/void': 'owner,manager',
  'POST /api/v1/transactions/:id/refunds': 'owner,manager',
  'GET /api/v1/transactions/:id/refunds/:refundId': 'owner,manager',
  'POST /api/v1/shifts': 'owner,manager,cashier',
  'GET /api/v1/shifts': 'owner,manager,cashier',
  'GET /api/v1/shifts/:id': 'owner,manager,cashier',
  'POST /api/v1/shifts/:id/cash': 'owner,manager,cashier',
  'POST /api/v1/shifts/:id/close': 'owner,manager,cashier',
  'GET /api/v1/shifts/:id/report': 'owner,manager,cashier',
  'GET /api/v1/reports/sales': 'owner,manager',
  'GET /api/v1/reports/analytics': 'owner,manager',
  'GET /api/v1/reports/top-products': 'owner,manager',
};

describe('transaction-service route table', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.close());

  it('when the routes are listed, then each declares exactly the expected roles', () => {
    const actual = Object.fromEntries(stack.table.routes.map((r) => [`${r.method.toUpperCase()} ${r.path}`, r.roles === 'public' ? 'public' : r.roles.join(',')]));
    expect(actual).toEqual(EXPECTED);
  });

  it('when the OpenAPI document is generated, then every route is in it and money-moving writes require an Idempotency-Key', async () => {
    const res = await request(stack.app).get('/openapi.json').expect(200);
    for (const route of stack.table.routes) expect(res.body.paths[route.path.replace(/:([A-Za-z]+)/g, '{$1}')]?.[route.method]).toBeDefined();
    for (const path of ['/api/v1/transactions', '/api/v1/transactions/{id}/refunds', '/api/v1/transactions/{id}/void', '/api/v1/shifts/{id}/cash']) {
      expect(res.body.paths[path].post.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'idempotency-key', required: true })]));
    }
  });
});
