import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo, Server } from 'node:net';
import request from 'supertest';
import jwt from 'jsonwebtoken';
import { Redis } from 'ioredis';
import { createLogger } from '@pos/utils';
import { createGatewayApp, type GatewayApp } from '../src/app';
import { loadGatewayConfig } from '../src/config';
import { PASSWORD, startAuthService, type TestAuthService } from '../../auth-service/test/helpers';

// The gateway in front of the real auth-service: keys come from auth-service's JWKS, tokens are
// checked at both, and the request id travels through.
describe('api-gateway in front of the real auth-service', () => {
  let auth: TestAuthService;
  let server: Server;
  let gateway: GatewayApp;
  let redis: Redis;

  beforeAll(async () => {
    auth = await startAuthService();
    server = auth.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const authUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    redis = new Redis(process.env.REDIS_URL!);
    gateway = createGatewayApp({
      config: loadGatewayConfig({ ...process.env, AUTH_SERVICE_URL: authUrl, INVENTORY_SERVICE_URL: 'http://127.0.0.1:9' }),
      logger: createLogger({ service: 'api-gateway', level: 'error' }),
      redis,
      rateLimitPrefix: `test:rl:${Date.now()}:`,
    });
  });
  afterAll(async () => {
    gateway.close();
    await new Promise((r) => server.close(r));
    await redis.quit();
    await auth.close();
  });

  it('when a business registers and logs in through the gateway, then the token works at the gateway and at the service', async () => {
    const email = `gw-${Date.now()}@test.pos`;
    await request(gateway.app)
      .post('/api/v1/auth/register')
      .send({ tenantName: 'Gateway Shop', storeName: 'Front', email, password: PASSWORD, name: 'Gia' })
      .expect(201);
    const login = await request(gateway.app).post('/api/v1/auth/login').set('x-request-id', 'e2e-req-1').send({ email, password: PASSWORD }).expect(200);
    expect(login.headers['x-request-id']).toBe('e2e-req-1');
    const me = await request(gateway.app).get('/api/v1/auth/me').set('Authorization', `Bearer ${login.body.accessToken}`).expect(200);
    expect(me.body.user.email).toBe(email);
    await request(auth.app).get('/api/v1/auth/me').set('Authorization', `Bearer ${login.body.accessToken}`).expect(200);

    const jwks = await request(gateway.app).get('/.well-known/jwks.json').expect(200);
    expect(jwks.body.keys.length).toBeGreaterThanOrEqual(1);
  });

  it('when a token is forged with an unknown kid, then both the gateway and the service answer 401', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const forged = jwt.sign({ tid: '00000000-0000-4000-8000-000000000000', role: 'owner', stores: [] }, privateKey, {
      algorithm: 'ES256',
      keyid: 'forged-kid',
      issuer: 'cloud-pos-auth',
      audience: 'pos-api',
      subject: 'someone',
      expiresIn: 60,
    });
    await request(gateway.app).get('/api/v1/users').set('Authorization', `Bearer ${forged}`).expect(401);
    await request(auth.app).get('/api/v1/users').set('Authorization', `Bearer ${forged}`).expect(401);
  });

  it('when a service behind a route is not running, then 503 problem+json comes back fast', async () => {
    const email = `gw2-${Date.now()}@test.pos`;
    const reg = await request(gateway.app).post('/api/v1/auth/register').send({ tenantName: 'G2', storeName: 'F', email, password: PASSWORD, name: 'G' }).expect(201);
    const started = Date.now();
    const res = await request(gateway.app).get('/api/v1/products').set('Authorization', `Bearer ${reg.body.accessToken}`).expect(503);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
  });
});
