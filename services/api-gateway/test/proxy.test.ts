import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import type { Redis } from 'ioredis';
import { createServiceApp } from '@pos/http';
import { z } from '@pos/types';
import type { GatewayApp } from '../src/app';
import { ROUTES, UPSTREAM_NAMES, type UpstreamName } from '../src/routes';
import { signToken, startJwksServer, type JwksServer } from '../../../scripts/test/test-keys';
import { buildGateway, silentLogger, startBlackhole, startUpstream, testRedis, type Echo, type FakeUpstream } from './helpers';


const MiB = 1024 * 1024;

describe('api-gateway proxying', () => {
  let redis: Redis;
  let jwks: JwksServer;
  const upstreams = {} as Record<UpstreamName, FakeUpstream>;
  let gateway: GatewayApp;
  const token = signToken({ role: 'manager' });
  const bearer = `Bearer ${token}`;

  const lastEcho = (service: UpstreamName): Echo => upstreams[service].echoes.at(-1)!;

  beforeAll(async () => {
    redis = testRedis();
    jwks = await startJwksServer();
    for (const name of UPSTREAM_NAMES) upstreams[name] = await startUpstream(name);
    gateway = await buildGateway({
      redis,
      jwksUrl: jwks.url,
      upstreams: Object.fromEntries(UPSTREAM_NAMES.map((n) => [n, upstreams[n].url])),
      env: { CORS_ORIGINS: 'https://register.example.com, https://backoffice.example.com', UPSTREAM_TIMEOUT_MS: '400' },
    });
  });

  afterAll(async () => {
    gateway.close();
    await Promise.all(Object.values(upstreams).map((u) => u.close()));
    await jwks.close();
    await redis.quit();
  });

  describe('routing table', () => {
    it.each(ROUTES.map((r) => [r.prefix, r.service] as const))('when a request for %s arrives, then %s receives it with the path unchanged', async (prefix, service) => {
      const path = prefix === '/.well-known/jwks.json' ? prefix : `${prefix}/some/thing?limit=5&cursor=abc`;
      const before = upstreams[service].echoes.length;
      const res = await request(gateway.app).get(path).set('Authorization', bearer);
      expect(res.status).toBe(200);
      expect(res.body.service).toBe(service);
      expect(res.body.url).toBe(path);
      expect(upstreams[service].echoes).toHaveLength(before + 1);
      // No other service saw it.
      for (const other of UPSTREAM_NAMES.filter((n) => n !== service)) expect(lastEcho(other)?.url ?? '').not.toBe(path);
    });

    it('when the path is exactly a prefix, then it is routed too', async () => {
      const res = await request(gateway.app).get('/api/v1/products').set('Authorization', bearer);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ service: 'inventory-service', url: '/api/v1/products' });
    });

    it.each(['/api/v1/unknown', '/api/v1/productsx', '/api/v2/products', '/nothing-here', '/api/v1/live/stream'])(
      'when %s is requested, then the gateway answers 404 problem+json without calling a service',
      async (path) => {
        const arrivedBefore = UPSTREAM_NAMES.reduce((n, s) => n + upstreams[s].arrived, 0);
        const res = await request(gateway.app).get(path).set('Authorization', bearer);
        expect(res.status).toBe(404);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.body).toMatchObject({ status: 404, code: 'route_not_found' });
        expect(res.body.requestId).toBeTruthy();
        expect(UPSTREAM_NAMES.reduce((n, s) => n + upstreams[s].arrived, 0)).toBe(arrivedBefore);
      },
    );
  });

  describe('forwarding', () => {
    it('when a body is sent, then the service receives the exact bytes and headers, unparsed', async () => {
      const body = Buffer.concat([Buffer.from('{"name":"Cola","price":{"amount":199,"currency":"USD"}}'), Buffer.from('  \n')]);
      const res = await request(gateway.app)
        .post('/api/v1/products')
        .set('Authorization', bearer)
        .set('Content-Type', 'application/json; charset=utf-8')
        .set('Idempotency-Key', 'k-123')
        .send(body.toString('utf8'));
      expect(res.status).toBe(200);
      const echo = lastEcho('inventory-service');
      expect(echo.method).toBe('POST');
      expect(echo.bodySha256).toBe(createHash('sha256').update(body).digest('hex'));
      expect(echo.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(echo.headers['idempotency-key']).toBe('k-123');
      expect(echo.headers.authorization).toBe(bearer);
    });

    it('when a binary body just under the limit is sent, then it arrives byte for byte', async () => {
      const body = randomBytes(MiB - 10);
      const res = await request(gateway.app).put('/api/v1/products/p1/image').set('Authorization', bearer).set('Content-Type', 'application/octet-stream').send(body);
      expect(res.status).toBe(200);
      expect(res.body.bodyLength).toBe(body.length);
      expect(res.body.bodySha256).toBe(createHash('sha256').update(body).digest('hex'));
    });

    it('when no x-request-id is sent, then one is generated, returned and passed to the service', async () => {
      const res = await request(gateway.app).get('/api/v1/customers').set('Authorization', bearer);
      const id = res.headers['x-request-id'];
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(lastEcho('customer-service').headers['x-request-id']).toBe(id);
    });

    it('when an x-request-id is sent, then the same id reaches the service and comes back', async () => {
      const res = await request(gateway.app).get('/api/v1/customers').set('Authorization', bearer).set('x-request-id', 'till-7:req-42');
      expect(res.headers['x-request-id']).toBe('till-7:req-42');
      expect(lastEcho('customer-service').headers['x-request-id']).toBe('till-7:req-42');
    });

    it('when a request is forwarded, then x-forwarded-for carries the client address', async () => {
      await request(gateway.app).get('/api/v1/customers').set('Authorization', bearer).set('X-Forwarded-For', '203.0.113.9');
      const forwarded = String(lastEcho('customer-service').headers['x-forwarded-for']);
      expect(forwarded.split(',')[0]).toBe('203.0.113.9');
      expect(forwarded).toContain('127.0.0.1');
    });
  });

  describe('body size', () => {
    it('when a 1.5 MB body is sent, then 413 problem+json and the service never sees the request', async () => {
      const before = upstreams['inventory-service'].arrived;
      const res = await request(gateway.app)
        .post('/api/v1/products')
        .set('Authorization', bearer)
        .set('Content-Type', 'application/json')
        .send(`{"blob":"${'x'.repeat(1.5 * MiB)}"}`);
      expect(res.status).toBe(413);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 413, code: 'payload_too_large' });
      expect(upstreams['inventory-service'].arrived).toBe(before);
    });

    it('when a 3 MB catalog import is sent, then it reaches inventory-service whole (the import has its own, larger limit)', async () => {
      const body = Buffer.alloc(3 * MiB, 'a');
      const res = await request(gateway.app).post('/api/v1/products/import').set('Authorization', bearer).set('Content-Type', 'text/csv').send(body);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ service: 'inventory-service', bodyLength: body.length });
    });

    it('when a 2 MB body is sent, then 413 problem+json', async () => {
      const res = await request(gateway.app).post('/api/v1/transactions').set('Authorization', bearer).set('Content-Type', 'application/octet-stream').send(Buffer.alloc(2 * MiB));
      expect(res.status).toBe(413);
      expect(res.body.code).toBe('payload_too_large');
    });

    it('when a chunked body without Content-Length grows past the limit, then 413 and the service gets no complete request', async () => {
      const echoesBefore = upstreams['inventory-service'].echoes.length;
      const server = http.createServer(gateway.app);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      try {
        const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = http.request({ port, method: 'POST', path: '/api/v1/stock/adjustments', headers: { authorization: bearer, 'content-type': 'application/json' } }, (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
          });
          req.on('error', reject);
          const chunk = Buffer.alloc(64 * 1024, 'a');
          let sent = 0;
          const pump = () => {
            while (sent < 2 * MiB) {
              sent += chunk.length;
              if (!req.write(chunk)) return void req.once('drain', pump);
            }
            req.end();
          };
          pump();
        });
        expect(status).toBe(413);
        expect(JSON.parse(body)).toMatchObject({ code: 'payload_too_large' });
        expect(upstreams['inventory-service'].echoes).toHaveLength(echoesBefore);
      } finally {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });
  });

  describe('failures upstream', () => {
    it('when the service is slower than UPSTREAM_TIMEOUT_MS, then 504 problem+json naming it', async () => {
      const started = Date.now();
      const res = await request(gateway.app).get('/api/v1/reports/daily').set('Authorization', bearer).set('x-test-delay-ms', '2000');
      expect(res.status).toBe(504);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 504, code: 'upstream_timeout', service: 'transaction-service' });
      expect(Date.now() - started).toBeLessThan(1_500);
    });

    it('when the service sets its own CORS headers, then only the gateway decides', async () => {
      const res = await request(gateway.app).get('/api/v1/customers').set('Authorization', bearer).set('Origin', 'https://evil.example.com').set('x-test-cors', '1');
      expect(res.status).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    });
  });

  describe('CORS', () => {
    it('when the origin is on the allowlist, then Access-Control-Allow-Origin names it', async () => {
      const res = await request(gateway.app).get('/api/v1/customers').set('Authorization', bearer).set('Origin', 'https://register.example.com');
      expect(res.headers['access-control-allow-origin']).toBe('https://register.example.com');
    });

    it('when a preflight comes from an allowed origin, then it is answered without a token', async () => {
      const res = await request(gateway.app)
        .options('/api/v1/transactions')
        .set('Origin', 'https://backoffice.example.com')
        .set('Access-Control-Request-Method', 'POST')
        .set('Access-Control-Request-Headers', 'authorization, content-type, idempotency-key');
      expect(res.status).toBe(204);
      expect(res.headers['access-control-allow-origin']).toBe('https://backoffice.example.com');
    });

    it('when the origin is not on the allowlist, then no Access-Control-Allow-Origin is sent', async () => {
      const res = await request(gateway.app).get('/api/v1/customers').set('Authorization', bearer).set('Origin', 'https://evil.example.com');
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      const preflight = await request(gateway.app).options('/api/v1/customers').set('Origin', 'https://evil.example.com').set('Access-Control-Request-Method', 'DELETE');
      expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    });
  });
});

describe('api-gateway in front of a real service app', () => {
  let redis: Redis;
  let jwks: JwksServer;
  let server: http.Server;
  let gateway: GatewayApp;

  beforeAll(async () => {
    redis = testRedis();
    jwks = await startJwksServer();
    // A service built like every other (shared JSON parser and error handler), to show that the
    // gateway leaves body parsing, and its errors, to the service.
    const { app } = createServiceApp({
      name: 'inventory-service',
      logger: silentLogger(),
      corsOrigins: [],
      routes: ({ table }) => {
        table.add({
          method: 'post',
          path: '/api/v1/categories',
          summary: 'Create a category',
          roles: 'public',
          body: z.object({ name: z.string().min(1) }),
          responses: { 201: { description: 'Created' } },
          handler: ({ body }) => ({ id: 'c1', name: body.name }),
        });
      },
    });
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    gateway = await buildGateway({ redis, jwksUrl: jwks.url, upstreams: { 'inventory-service': `http://127.0.0.1:${port}` } });
  });

  afterAll(async () => {
    gateway.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await jwks.close();
    await redis.quit();
  });

  it('when the JSON is malformed, then the service answers 400 problem+json and the gateway relays it', async () => {
    const res = await request(gateway.app).post('/api/v1/categories').set('Authorization', `Bearer ${signToken()}`).set('Content-Type', 'application/json').send('{"name": "Drinks",');
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 400, code: 'malformed_json' });
    expect(res.body.requestId).toBe(res.headers['x-request-id']);
  });

  it('when the JSON is valid, then the service answers through the gateway', async () => {
    const res = await request(gateway.app).post('/api/v1/categories').set('Authorization', `Bearer ${signToken()}`).send({ name: 'Drinks' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ id: 'c1', name: 'Drinks' });
  });
});

describe('api-gateway when a service is down', () => {
  let redis: Redis;
  let jwks: JwksServer;
  let gateway: GatewayApp;

  beforeAll(async () => {
    redis = testRedis();
    jwks = await startJwksServer();
    gateway = await buildGateway({ redis, jwksUrl: jwks.url }); // every service points at a closed port
  });

  afterAll(async () => {
    gateway.close();
    await jwks.close();
    await redis.quit();
  });

  it('when the owning service is down, then 503 problem+json naming it comes back in under a second', async () => {
    const started = Date.now();
    const res = await request(gateway.app).post('/api/v1/payments/process').set('Authorization', `Bearer ${signToken()}`).send({ amount: 1 });
    const elapsed = Date.now() - started;
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 503, code: 'service_unavailable', service: 'payment-service' });
    expect(res.body.detail).toContain('payment-service');
    expect(res.body.requestId).toBeTruthy();
    expect(elapsed).toBeLessThan(1_000);
  });

  it('when the address does not accept connections in time, then 503 after UPSTREAM_CONNECT_TIMEOUT_MS, not a hang', async () => {
    const blackhole = await startBlackhole();
    const gw = await buildGateway({ redis, jwksUrl: jwks.url, upstreams: { 'customer-service': blackhole.url }, env: { UPSTREAM_CONNECT_TIMEOUT_MS: '300' } });
    try {
      const started = Date.now();
      const res = await request(gw.app).get('/api/v1/customers').set('Authorization', `Bearer ${signToken()}`);
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ code: 'service_unavailable', service: 'customer-service' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      gw.close();
      blackhole.close();
    }
  });
});
