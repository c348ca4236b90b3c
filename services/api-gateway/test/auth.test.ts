import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { Redis } from 'ioredis';
import type { GatewayApp } from '../src/app';
import { PUBLIC_ROUTES, UPSTREAM_NAMES, type UpstreamName } from '../src/routes';
import { generateTestKey, hs256WithPublicKey, signToken, startJwksServer, testKey, unsignedToken, type JwksServer } from '../../../scripts/test/test-keys';
import { buildGateway, startUpstream, testRedis, type FakeUpstream } from './helpers';


describe('api-gateway token check', () => {
  let redis: Redis;
  let jwks: JwksServer;
  const upstreams = {} as Record<UpstreamName, FakeUpstream>;
  let gateway: GatewayApp;
  const arrived = () => UPSTREAM_NAMES.reduce((n, s) => n + upstreams[s].arrived, 0);

  beforeAll(async () => {
    redis = testRedis();
    jwks = await startJwksServer();
    for (const name of UPSTREAM_NAMES) upstreams[name] = await startUpstream(name);
    gateway = await buildGateway({ redis, jwksUrl: jwks.url, upstreams: Object.fromEntries(UPSTREAM_NAMES.map((n) => [n, upstreams[n].url])) });
  });

  afterAll(async () => {
    gateway.close();
    await Promise.all(Object.values(upstreams).map((u) => u.close()));
    await jwks.close();
    await redis.quit();
  });

  /** Asserts a 401 problem+json that never reached a service. */
  async function expectRejected(authorization: string | undefined, code = 'invalid_token') {
    const before = arrived();
    const req = request(gateway.app).get('/api/v1/products');
    if (authorization !== undefined) req.set('Authorization', authorization);
    const res = await req;
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 401, code });
    expect(arrived()).toBe(before);
    return res;
  }

  it('when the token is a valid ES256 token from the JWKS, then the request passes with Authorization untouched', async () => {
    const token = signToken({ role: 'cashier', stores: [randomUUID()] });
    const res = await request(gateway.app).get('/api/v1/products').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(res.body.headers.authorization).toBe(`Bearer ${token}`);
  });

  it('when there is no token, then 401 missing_token', async () => {
    await expectRejected(undefined, 'missing_token');
  });

  it('when the Authorization header is not a bearer token, then 401', async () => {
    await expectRejected('Basic dXNlcjpwYXNz', 'missing_token');
  });

  it('when the token has alg none, then 401', async () => {
    await expectRejected(`Bearer ${unsignedToken()}`);
  });

  it('when the token is signed with a different key under a known kid, then 401', async () => {
    const impostor = generateTestKey(testKey.kid);
    await expectRejected(`Bearer ${signToken({}, { key: impostor })}`);
  });

  it('when the token is HS256 signed with the public key, then 401', async () => {
    await expectRejected(`Bearer ${hs256WithPublicKey()}`);
  });

  it('when the token has expired, then 401 token_expired', async () => {
    await expectRejected(`Bearer ${signToken({}, { expiresIn: -60 })}`, 'token_expired');
  });

  it('when the token is for another audience, then 401', async () => {
    await expectRejected(`Bearer ${signToken({ aud: 'some-other-api' })}`);
  });

  it('when the token comes from another issuer, then 401', async () => {
    await expectRejected(`Bearer ${signToken({ iss: 'https://evil.example.com' })}`);
  });

  it('when the token has no kid, then 401', async () => {
    await expectRejected(`Bearer ${signToken({}, { kid: null })}`);
  });

  it('when the claims are not ours (tenant id not a uuid), then 401', async () => {
    await expectRejected(`Bearer ${signToken({ tid: 'tenant-1' })}`);
  });

  it('when the token is not a JWT at all, then 401', async () => {
    await expectRejected('Bearer not.a.jwt');
  });

  it('when the kid is unknown, then the JWKS is fetched again once and the token is refused with 401', async () => {
    // Warm the cache with a good token first.
    await request(gateway.app).get('/api/v1/products').set('Authorization', `Bearer ${signToken()}`).expect(200);
    const fetchesBefore = jwks.requests;
    const stranger = generateTestKey('kid-nobody-published');
    await expectRejected(`Bearer ${signToken({}, { key: stranger })}`);
    expect(jwks.requests).toBe(fetchesBefore + 1);
  });

  it('when auth-service rotates to a new key, then tokens with the new kid are accepted after one refetch', async () => {
    const next = generateTestKey(`rotated-${randomUUID()}`);
    jwks.setKeys([testKey, next]);
    try {
      const res = await request(gateway.app).get('/api/v1/products').set('Authorization', `Bearer ${signToken({}, { key: next })}`);
      expect(res.status).toBe(200);
    } finally {
      jwks.setKeys([testKey]);
    }
  });

  describe('public routes', () => {
    const samplePath = (path: string, prefix?: boolean) => (prefix ? `${path}/google/callback?code=abc&state=xyz` : path);

    it.each(PUBLIC_ROUTES.map((r) => [r.method === '*' ? 'GET' : r.method, samplePath(r.path, r.prefix)] as const))(
      'when %s %s is called without a token, then it reaches the service',
      async (method, path) => {
        const res = await request(gateway.app)[method.toLowerCase() as 'get' | 'post'](path).set('Content-Type', 'application/json').send(method === 'GET' ? undefined : '{}');
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ service: 'auth-service', method, url: path });
      },
    );

    it('when a public route is called with an expired token, then the gateway does not block it (the service decides)', async () => {
      const res = await request(gateway.app).post('/api/v1/auth/refresh').set('Authorization', `Bearer ${signToken({}, { expiresIn: -60 })}`).send({ refreshToken: 'r' });
      expect(res.status).toBe(200);
    });

    it.each([
      ['GET', '/api/v1/auth/login'],
      ['DELETE', '/api/v1/auth/logout'],
      ['GET', '/api/v1/auth/me'],
      ['POST', '/api/v1/auth/login/../../users'],
      ['POST', '/api/v1/auth/login%2f..%2f..%2fusers'],
      ['GET', '/api/v1/users'],
    ])('when %s %s is called without a token, then 401', async (method, path) => {
      const before = arrived();
      const res = await request(gateway.app)[method.toLowerCase() as 'get' | 'post' | 'delete'](path);
      expect(res.status).toBe(401);
      expect(arrived()).toBe(before);
    });
  });
});
