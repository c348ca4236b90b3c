import request from 'supertest';
import type { Redis } from 'ioredis';
import type { GatewayApp } from '../src/app';
import { specPath } from '../src/docs';
import { UPSTREAM_NAMES, type UpstreamName } from '../src/routes';
import { signToken, startJwksServer, type JwksServer } from '../../../scripts/test/test-keys';
import { buildGateway, startBlackhole, startUpstream, testRedis, type FakeUpstream } from './helpers';


describe('api-gateway health, docs and metrics', () => {
  let redis: Redis;
  let jwks: JwksServer;
  const upstreams = {} as Record<UpstreamName, FakeUpstream>;
  const opened: GatewayApp[] = [];
  let gateway: GatewayApp;

  beforeAll(async () => {
    redis = testRedis();
    jwks = await startJwksServer();
    for (const name of UPSTREAM_NAMES) upstreams[name] = await startUpstream(name);
    gateway = await buildGateway({ redis, jwksUrl: jwks.url, upstreams: Object.fromEntries(UPSTREAM_NAMES.map((n) => [n, upstreams[n].url])) });
    opened.push(gateway);
  });

  afterAll(async () => {
    for (const gw of opened) gw.close();
    await Promise.all(Object.values(upstreams).map((u) => u.close()));
    await jwks.close();
    await redis.quit();
  });

  describe('/health', () => {
    it('when every service is up, then status ok lists each one as up with its latency (no token needed)', async () => {
      const res = await request(gateway.app).get('/health');
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('ok');
      expect(Object.keys(res.body.services).sort()).toEqual([...UPSTREAM_NAMES].sort());
      for (const name of UPSTREAM_NAMES) {
        expect(res.body.services[name]).toEqual({ status: 'up', latencyMs: expect.any(Number) });
      }
    });

    it('when services are down, failing or hanging, then status degraded names each, within about a second', async () => {
      const blackhole = await startBlackhole();
      upstreams['payment-service'].healthy = false;
      const gw = await buildGateway({
        redis,
        jwksUrl: jwks.url,
        // customer-service stopped, notification-service not accepting, payment-service answering 503.
        upstreams: { ...Object.fromEntries(UPSTREAM_NAMES.map((n) => [n, upstreams[n].url])), 'customer-service': undefined, 'notification-service': blackhole.url },
      });
      opened.push(gw);
      try {
        const started = Date.now();
        const res = await request(gw.app).get('/health');
        expect(Date.now() - started).toBeLessThan(1_800);
        // Still 200: the gateway itself is alive, and it doubles as its own liveness probe.
        expect(res.status).toBe(200);
        expect(res.body.status).toBe('degraded');
        expect(res.body.services['customer-service']).toMatchObject({ status: 'down', error: 'unreachable' });
        expect(res.body.services['notification-service']).toMatchObject({ status: 'down', error: 'timeout' });
        expect(res.body.services['payment-service']).toMatchObject({ status: 'down', error: 'http 503' });
        expect(res.body.services['inventory-service']).toMatchObject({ status: 'up' });
      } finally {
        upstreams['payment-service'].healthy = true;
        blackhole.close();
      }
    });

    it('when Redis answers, then /ready is 200', async () => {
      const res = await request(gateway.app).get('/ready');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'ready', checks: { redis: 'up' } });
    });
  });

  describe('/api-docs', () => {
    it('when the UI is opened, then it loads without a token under a CSP that lets it run over plain http', async () => {
      const res = await request(gateway.app).get('/api-docs/');
      expect(res.status).toBe(200);
      expect(res.text).toContain('swagger-ui');
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('upgrade-insecure-requests');
      expect(csp).not.toContain("'unsafe-eval'");
    });

    it('when the UI initialises, then it lists one document per service, served by the gateway', async () => {
      const res = await request(gateway.app).get('/api-docs/swagger-ui-init.js');
      expect(res.status).toBe(200);
      for (const name of UPSTREAM_NAMES) expect(res.text).toContain(specPath(name));
    });

    it("when a service's document is requested, then the gateway fetches it from the service", async () => {
      const res = await request(gateway.app).get(specPath('inventory-service'));
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ openapi: '3.1.0', info: { title: 'inventory-service' } });
    });

    it("when the service is down, then its document is a 503 problem+json", async () => {
      const gw = await buildGateway({ redis, jwksUrl: jwks.url });
      opened.push(gw);
      const res = await request(gw.app).get(specPath('payment-service'));
      expect(res.status).toBe(503);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ code: 'service_unavailable', service: 'payment-service' });
    });

    it('when an unknown document is requested, then 404 problem+json', async () => {
      const res = await request(gateway.app).get('/api-docs/specs/secrets.json');
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    });
  });

  describe('/metrics', () => {
    it('when requests were proxied, then Prometheus metrics label them by routing-table prefix, not raw path', async () => {
      await request(gateway.app).get('/api/v1/products/8f1c0b6e').set('Authorization', `Bearer ${signToken()}`).expect(200);
      const res = await request(gateway.app).get('/metrics');
      expect(res.status).toBe(200);
      expect(res.text).toContain('http_request_duration_seconds');
      expect(res.text).toMatch(/route="\/api\/v1\/products\{\/\*rest\}"/);
      expect(res.text).not.toContain('8f1c0b6e');
      expect(res.text).toContain('service="api-gateway"');
    });
  });
});
