import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { Redis } from 'ioredis';
import type { GatewayApp } from '../src/app';
import { signToken, startJwksServer, type JwksServer } from '../../../scripts/test/test-keys';
import { buildGateway, startUpstream, testRedis, uniqueClientIp, type FakeUpstream } from './helpers';


describe('api-gateway rate limits (two replicas, one Redis)', () => {
  let redis: Redis;
  let jwks: JwksServer;
  let auth: FakeUpstream;
  let inventory: FakeUpstream;
  const opened: GatewayApp[] = [];

  /** Two gateway instances sharing one Redis and one key prefix, like two replicas of a deployment. */
  async function replicas(env: Record<string, string>): Promise<{ a: GatewayApp; b: GatewayApp; prefix: string }> {
    const prefix = `test:gw:${randomUUID()}:`;
    const options = { redis, jwksUrl: jwks.url, upstreams: { 'auth-service': auth.url, 'inventory-service': inventory.url }, env, rateLimitPrefix: prefix };
    const a = await buildGateway(options);
    const b = await buildGateway(options);
    opened.push(a, b);
    return { a, b, prefix };
  }

  function expectTooMany(res: request.Response) {
    expect(res.status).toBe(429);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 429, code: 'too_many_requests' });
    const retryAfter = Number(res.headers['retry-after']);
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
  }

  beforeAll(async () => {
    redis = testRedis();
    jwks = await startJwksServer();
    auth = await startUpstream('auth-service');
    inventory = await startUpstream('inventory-service');
  });

  afterAll(async () => {
    for (const gw of opened) gw.close();
    await Promise.all([auth.close(), inventory.close(), jwks.close()]);
    await redis.quit();
  });

  it('when one address spreads requests over both replicas, then they count together and the next is 429 with Retry-After', async () => {
    const { a, b, prefix } = await replicas({ RATE_LIMIT_PER_IP: '4' });
    const ip = uniqueClientIp();
    const token = `Bearer ${signToken()}`;
    for (const gw of [a, b, a, b]) {
      await request(gw.app).get('/api/v1/products').set('X-Forwarded-For', ip).set('Authorization', token).expect(200);
    }
    expectTooMany(await request(a.app).get('/api/v1/products').set('X-Forwarded-For', ip).set('Authorization', token));
    expectTooMany(await request(b.app).get('/api/v1/products').set('X-Forwarded-For', ip).set('Authorization', token));
    // Another address is not affected.
    await request(b.app).get('/api/v1/products').set('X-Forwarded-For', uniqueClientIp()).set('Authorization', token).expect(200);
    // The counts are in Redis under this deployment's prefix.
    expect((await redis.keys(`${prefix}ip:*`)).length).toBeGreaterThanOrEqual(2);
  });

  it('when a refused request is over the limit, then it never reaches the service', async () => {
    const { a } = await replicas({ RATE_LIMIT_PER_IP: '1' });
    const ip = uniqueClientIp();
    const token = `Bearer ${signToken()}`;
    await request(a.app).get('/api/v1/products').set('X-Forwarded-For', ip).set('Authorization', token).expect(200);
    const before = inventory.arrived;
    expectTooMany(await request(a.app).get('/api/v1/products').set('X-Forwarded-For', ip).set('Authorization', token));
    expect(inventory.arrived).toBe(before);
  });

  it('when one user calls from several addresses through both replicas, then the per-user limit applies', async () => {
    const { a, b } = await replicas({ RATE_LIMIT_PER_USER: '3', RATE_LIMIT_PER_IP: '100' });
    const user = `Bearer ${signToken({ sub: randomUUID() })}`;
    for (const gw of [a, b, a]) {
      await request(gw.app).get('/api/v1/products').set('X-Forwarded-For', uniqueClientIp()).set('Authorization', user).expect(200);
    }
    expectTooMany(await request(b.app).get('/api/v1/products').set('X-Forwarded-For', uniqueClientIp()).set('Authorization', user));
    // Another user of the same tenant, from the same kind of addresses, is not affected.
    const colleague = `Bearer ${signToken({ sub: randomUUID() })}`;
    await request(a.app).get('/api/v1/products').set('X-Forwarded-For', uniqueClientIp()).set('Authorization', colleague).expect(200);
  });

  it('when sign-in attempts from one address pass the much lower login limit, then login, pin-login and token answer 429 but other routes still work', async () => {
    const { a, b } = await replicas({ RATE_LIMIT_LOGIN_PER_IP: '2', RATE_LIMIT_PER_IP: '100' });
    const ip = uniqueClientIp();
    await request(a.app).post('/api/v1/auth/login').set('X-Forwarded-For', ip).send({ email: 'a@example.com', password: 'x' }).expect(200);
    await request(b.app).post('/api/v1/auth/pin-login').set('X-Forwarded-For', ip).send({ pin: '1234' }).expect(200);

    const login = await request(a.app).post('/api/v1/auth/login').set('X-Forwarded-For', ip).send({ email: 'a@example.com', password: 'y' });
    expectTooMany(login);
    expect(login.body.detail).toMatch(/sign-in/);
    expectTooMany(await request(b.app).post('/api/v1/auth/pin-login').set('X-Forwarded-For', ip).send({ pin: '0000' }));
    expectTooMany(await request(b.app).post('/api/v1/auth/token').set('X-Forwarded-For', ip).send({ grant_type: 'client_credentials' }));
    expectTooMany(await request(a.app).post('/api/v1/auth/password-reset').set('X-Forwarded-For', ip).send({ email: 'a@example.com' }));
    // Spelling the path differently does not get around it (Express routes ignore case and a trailing slash).
    expectTooMany(await request(a.app).post('/api/v1/auth/Login/').set('X-Forwarded-For', ip).send({}));

    await request(a.app).post('/api/v1/auth/refresh').set('X-Forwarded-For', ip).send({ refreshToken: 'r' }).expect(200);
    await request(b.app).post('/api/v1/auth/login').set('X-Forwarded-For', uniqueClientIp()).send({}).expect(200);
  });

  it('when two deployments use different prefixes, then their counts are separate', async () => {
    const first = await replicas({ RATE_LIMIT_PER_IP: '1' });
    const second = await replicas({ RATE_LIMIT_PER_IP: '1' });
    const ip = uniqueClientIp();
    const token = `Bearer ${signToken()}`;
    await request(first.a.app).get('/api/v1/products').set('X-Forwarded-For', ip).set('Authorization', token).expect(200);
    await request(second.a.app).get('/api/v1/products').set('X-Forwarded-For', ip).set('Authorization', token).expect(200);
  });

  it('when Redis is unreachable, then requests are let through instead of failing', async () => {
    // What ioredis does once its retries are used up: every command fails.
    const refused = () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' }));
    const deadRedis = { call: refused, ping: refused } as unknown as Redis;
    const gw = await buildGateway({ redis: deadRedis, jwksUrl: jwks.url, upstreams: { 'inventory-service': inventory.url } });
    try {
      const res = await request(gw.app).get('/api/v1/products').set('Authorization', `Bearer ${signToken()}`);
      expect(res.status).toBe(200);
      const ready = await request(gw.app).get('/ready');
      expect(ready.status).toBe(503);
      expect(ready.body.checks).toEqual({ redis: 'down' });
    } finally {
      gw.close();
    }
  });
});
