import request from 'supertest';
import { z } from '@pos/types';
import { conflict, createLogger, unauthorized } from '@pos/utils';
import { createServiceApp, type TokenVerifier } from '../src';

const logger = createLogger({ service: 'test', level: 'error' });
const verifier: TokenVerifier = {
  verify: async (token) => {
    if (token !== 'good') throw unauthorized('bad token', 'invalid_token');
    return { userId: 'u', tenantId: '00000000-0000-4000-8000-000000000001', role: 'cashier', stores: [], tokenId: 'j', token };
  },
};

function build(readyOk = true) {
  return createServiceApp({
    name: 'demo-service',
    logger,
    corsOrigins: ['https://register.example.com'],
    verifier,
    readinessChecks: { db: async () => (readyOk ? 1 : Promise.reject(new Error('down'))) },
    routes: ({ table }) => {
      table.add({
        method: 'post',
        path: '/api/v1/things/:id',
        summary: 'Make a thing',
        roles: ['manager'],
        params: z.object({ id: z.string().uuid() }),
        body: z.object({ name: z.string().min(1), count: z.number().int() }).strict(),
        responses: { 201: { description: 'made' } },
        handler: ({ body }) => body,
      });
      table.add({ method: 'get', path: '/api/v1/public', summary: 'Public', roles: 'public', responses: { 200: { description: 'ok' } }, handler: () => ({ ok: true }) });
      table.add({
        method: 'get',
        path: '/api/v1/boom',
        summary: 'Fails',
        roles: 'public',
        responses: { 200: { description: 'never' } },
        handler: () => {
          throw new Error('secret internals at /srv/app.ts:42');
        },
      });
      table.add({ method: 'get', path: '/api/v1/conflict', summary: 'Conflict', roles: 'public', responses: { 200: { description: 'never' } }, handler: () => Promise.reject(conflict('busy')) });
    },
  });
}

describe('createServiceApp', () => {
  it('when /health, /ready and /metrics are called, then they report the service and its dependencies', async () => {
    const { app } = build();
    const health = await request(app).get('/health').expect(200);
    expect(health.body).toEqual({ status: 'ok', service: 'demo-service', uptimeSeconds: expect.any(Number) });
    const ready = await request(app).get('/ready').expect(200);
    expect(ready.body.checks).toEqual({ db: 'up' });
    await request(app).get('/api/v1/public').expect(200);
    const metrics = await request(app).get('/metrics').expect(200);
    expect(metrics.text).toContain('http_request_duration_seconds_bucket');
    expect(metrics.text).toMatch(/route="\/api\/v1\/public"/);
    expect(metrics.text).toContain('process_cpu_user_seconds_total');
  });

  it('when a dependency is down or the service drains, then /ready answers 503', async () => {
    const down = build(false);
    const res = await request(down.app).get('/ready').expect(503);
    expect(res.body.checks).toEqual({ db: 'down' });
    const draining = build();
    draining.setDraining();
    await request(draining.app).get('/ready').expect(503);
  });

  it('when the route is unknown, then 404 problem+json with the request id', async () => {
    const res = await request(build().app).get('/api/v1/nothing').set('x-request-id', 'abc-123').expect(404);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.headers['x-request-id']).toBe('abc-123');
    expect(res.body).toMatchObject({ status: 404, code: 'route_not_found', requestId: 'abc-123' });
  });

  it('when an incoming request id is unsafe, then a fresh one is generated', async () => {
    const res = await request(build().app).get('/health').set('x-request-id', 'bad id; with spaces');
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('when a handler crashes, then 500 problem without internals or stack', async () => {
    const res = await request(build().app).get('/api/v1/boom').expect(500);
    expect(JSON.stringify(res.body)).not.toMatch(/secret internals|app\.ts|at /);
    expect(res.body.code).toBe('internal_error');
  });

  it('when a handler throws a problem, then that status and code are sent', async () => {
    const res = await request(build().app).get('/api/v1/conflict').expect(409);
    expect(res.body).toMatchObject({ code: 'conflict', detail: 'busy' });
  });

  it('when the token is missing or bad, then 401; when the role is wrong, then 403', async () => {
    const { app } = build();
    await request(app).post('/api/v1/things/x').send({}).expect(401);
    await request(app).post('/api/v1/things/x').set('Authorization', 'Bearer nope').send({}).expect(401);
    const res = await request(app).post('/api/v1/things/x').set('Authorization', 'Bearer good').send({}).expect(403);
    expect(res.body.code).toBe('forbidden');
  });

  it('when CORS is checked, then only allowlisted origins are granted', async () => {
    const { app } = build();
    const ok = await request(app).get('/health').set('Origin', 'https://register.example.com');
    expect(ok.headers['access-control-allow-origin']).toBe('https://register.example.com');
    const bad = await request(app).get('/health').set('Origin', 'https://evil.example.com');
    expect(bad.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('when the OpenAPI document is requested, then it is generated from the route schemas', async () => {
    const res = await request(build().app).get('/openapi.json').expect(200);
    const op = res.body.paths['/api/v1/things/{id}'].post;
    expect(op.security).toEqual([{ bearerAuth: [] }]);
    expect(op.requestBody.content['application/json'].schema.required).toEqual(['name', 'count']);
    expect(op.responses).toHaveProperty('400');
    expect(op.responses).toHaveProperty('403');
  });
});
