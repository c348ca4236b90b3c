import { startAuthService, type TestAuthService } from './helpers';

// The declared route table is the single source of truth for who may call what; this pins it so
// a change of access is a deliberate, reviewed change.
const EXPECTED: Record<string, string> = {
  'POST /api/v1/auth/register': 'public',
  'POST /api/v1/auth/login': 'public',
  'POST /api/v1/auth/pin-login': 'public',
  'POST /api/v1/auth/refresh': 'public',
  'POST /api/v1/auth/logout': 'public',
  'GET /api/v1/auth/me': 'owner,manager,cashier',
  'POST /api/v1/auth/token': 'public',
  'POST /api/v1/auth/password-reset': 'public',
  'POST /api/v1/auth/password-reset/confirm': 'public',
  'POST /api/v1/users': 'owner,manager',
  'GET /api/v1/users': 'owner,manager,service',
  'GET /api/v1/users/:id': 'owner,manager',
  'PATCH /api/v1/users/:id': 'owner,manager',
  'DELETE /api/v1/users/:id': 'owner,manager',
  'POST /api/v1/stores': 'owner',
  'GET /api/v1/stores': 'owner,manager,cashier,service',
  'GET /api/v1/stores/:id': 'owner,manager,cashier,service',
  'PATCH /api/v1/stores/:id': 'owner,manager',
  'DELETE /api/v1/stores/:id': 'owner',
  'GET /api/v1/audit': 'owner',
};

describe('auth-service route table', () => {
  let svc: TestAuthService;
  beforeAll(async () => {
    svc = await startAuthService();
  });
  afterAll(() => svc.close());

  it('when the routes are listed, then each declares exactly the expected roles', () => {
    const actual = Object.fromEntries(
      svc.table.routes.filter((r) => !r.path.includes('/oauth/')).map((r) => [`${r.method.toUpperCase()} ${r.path}`, r.roles === 'public' ? 'public' : r.roles.join(',')]),
    );
    expect(actual).toEqual(EXPECTED);
  });

  it('when the OpenAPI document is generated, then every route is in it with its security', async () => {
    const request = (await import('supertest')).default;
    const res = await request(svc.app).get('/openapi.json').expect(200);
    for (const route of svc.table.routes) {
      const path = route.path.replace(/:([A-Za-z]+)/g, '{$1}');
      const op = res.body.paths[path]?.[route.method];
      expect(op).toBeDefined();
      expect(op.security).toEqual(route.roles === 'public' ? [] : [{ bearerAuth: [] }]);
    }
    expect(res.body.components.schemas).toHaveProperty('RegisterRequest');
    expect(res.body.components.schemas).toHaveProperty('Problem');
  });
});
