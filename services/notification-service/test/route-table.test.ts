import request from 'supertest';
import { bearer, createShop, serviceToken, startAuthServer, startNotifications, type AuthServer, type NotificationsUnderTest } from './helpers';

// Who may call what, pinned: a change of access is a deliberate, reviewed change.
const EXPECTED: Record<string, string> = {
  'POST /api/v1/notifications/email': 'owner,manager,service',
  'POST /api/v1/notifications/sms': 'owner,manager,service',
  'POST /api/v1/notifications/push': 'owner,manager,service',
  'POST /api/v1/notifications/push/subscriptions': 'owner,manager,cashier',
  'GET /api/v1/notifications/push/subscriptions': 'owner,manager,cashier',
  'DELETE /api/v1/notifications/push/subscriptions/:id': 'owner,manager,cashier',
  'GET /api/v1/notifications/templates': 'owner,manager',
  'GET /api/v1/notifications/templates/:name': 'owner,manager',
  'PUT /api/v1/notifications/templates/:name': 'owner',
  'GET /api/v1/notifications/settings': 'owner,manager',
  'PUT /api/v1/notifications/settings': 'owner',
  'GET /api/v1/notifications': 'owner,manager,service',
  'GET /api/v1/notifications/:id': 'owner,manager,service',
};

describe('notification-service route table', () => {
  let auth: AuthServer;
  let svc: NotificationsUnderTest;
  beforeAll(async () => {
    auth = await startAuthServer();
    svc = await startNotifications({ AUTH_SERVICE_URL: auth.url });
  });
  afterAll(async () => {
    await svc.close();
    await auth.close();
  });

  it('when the routes are listed, then each declares exactly the expected roles', () => {
    const actual = Object.fromEntries(svc.table.routes.map((r) => [`${r.method.toUpperCase()} ${r.path}`, r.roles === 'public' ? 'public' : r.roles.join(',')]));
    expect(actual).toEqual(EXPECTED);
  });

  it('when the OpenAPI document is generated, then every route is in it and the sends document the Idempotency-Key', async () => {
    const res = await request(svc.app).get('/openapi.json').expect(200);
    for (const route of svc.table.routes) {
      expect(res.body.paths[route.path.replace(/:([A-Za-z]+)/g, '{$1}')]?.[route.method]).toBeDefined();
    }
    for (const path of ['/api/v1/notifications/email', '/api/v1/notifications/sms', '/api/v1/notifications/push']) {
      expect(res.body.paths[path].post.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'idempotency-key', in: 'header', required: true })]));
    }
  });

  it('when a route is called without a token, then 401 problem+json', async () => {
    for (const route of svc.table.routes) {
      const path = route.path.replace(':id', '00000000-0000-4000-8000-000000000000').replace(':name', 'receipt');
      const res = await request(svc.app)[route.method](path).send({});
      expect({ route: `${route.method} ${route.path}`, status: res.status }).toEqual({ route: `${route.method} ${route.path}`, status: 401 });
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    }
  });

  it('when each role calls each route it is not allowed on, then 403 and nothing runs', async () => {
    const shop = await createShop(auth);
    const tokens: Record<string, string> = { owner: shop.accessToken, manager: shop.manager.token, cashier: shop.cashier.token, service: await serviceToken(auth, shop.tenantId) };
    const refused: string[] = [];
    for (const route of svc.table.routes) {
      if (route.roles === 'public') continue;
      const path = route.path.replace(':id', '00000000-0000-4000-8000-000000000000').replace(':name', 'receipt');
      for (const role of Object.keys(tokens).filter((r) => !(route.roles as readonly string[]).includes(r))) {
        const res = await request(svc.app)[route.method](path).set(bearer(tokens[role]!)).set('Idempotency-Key', 'k-1').send({});
        refused.push(`${role} ${route.method} ${route.path} ${res.status}`);
        expect(res.status).toBe(403);
      }
    }
    // Every route is closed to someone: cashiers to sending and the log, services to people's own things.
    expect(refused).toHaveLength(20);
  });
});
