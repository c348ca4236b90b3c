import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import type { Redis } from 'ioredis';
import type { GatewayApp } from '../src/app';
import { DEFAULT_REGISTER_DIST_DIR, loadGatewayConfig } from '../src/config';
import { IMMUTABLE, REGISTER_CSP } from '../src/register';
import { buildGateway, testRedis } from './helpers';

// The web register served by the gateway at `/`: static build, caching, CSP, single-page fallback,
// and API 404s that stay problem+json. A stand-in build in a temp folder keeps this independent of
// `npm run build:register`.
const INDEX = '<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head><body><div id="app"></div></body></html>';

describe('api-gateway serving the web register', () => {
  let redis: Redis;
  let dist: string;
  let gateway: GatewayApp;
  let missing: GatewayApp;

  beforeAll(async () => {
    redis = testRedis();
    dist = mkdtempSync(path.join(os.tmpdir(), 'register-dist-'));
    mkdirSync(path.join(dist, 'assets'));
    writeFileSync(path.join(dist, 'index.html'), INDEX);
    writeFileSync(path.join(dist, 'assets', 'index-abc123.js'), 'console.log("register")');
    writeFileSync(path.join(dist, 'sw.js'), 'self.addEventListener("fetch", () => {})');
    gateway = await buildGateway({ redis, env: { REGISTER_DIST_DIR: dist } });
    missing = await buildGateway({ redis, env: { REGISTER_DIST_DIR: path.join(dist, 'not-built') } });
  });
  afterAll(async () => {
    gateway.close();
    missing.close();
    rmSync(dist, { recursive: true, force: true });
    await redis.quit();
  });

  it('when a browser opens /, then it gets index.html, revalidated on every load, with a CSP that allows only the app itself', async () => {
    const res = await request(gateway.app).get('/').set('Accept', 'text/html').expect(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.text).toBe(INDEX);
    expect(res.headers['cache-control']).toBe('no-cache');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toBe(REGISTER_CSP);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('upgrade-insecure-requests');
    // The rest of helmet's headers stay.
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('when a hashed asset is fetched, then it is cached for a year as immutable; the service worker is revalidated', async () => {
    const asset = await request(gateway.app).get('/assets/index-abc123.js').expect(200);
    expect(asset.headers['content-type']).toMatch(/javascript/);
    expect(asset.headers['cache-control']).toBe(IMMUTABLE);
    const sw = await request(gateway.app).get('/sw.js').expect(200);
    expect(sw.headers['cache-control']).toBe('no-cache');
  });

  it('when index.html is asked for again with its ETag, then 304 comes back', async () => {
    const first = await request(gateway.app).get('/').expect(200);
    await request(gateway.app).get('/').set('If-None-Match', String(first.headers.etag)).expect(304);
  });

  it('when a browser navigates to a deep link, then the app is served (single-page fallback)', async () => {
    const res = await request(gateway.app).get('/shift/close').set('Accept', 'text/html,application/xhtml+xml,*/*;q=0.8').expect(200);
    expect(res.text).toBe(INDEX);
    expect(res.headers['content-security-policy']).toBe(REGISTER_CSP);
  });

  it('when the same unknown path is asked for by an API client, or is a missing file, then 404 problem+json', async () => {
    for (const [url, accept] of [
      ['/shift/close', 'application/json'],
      ['/shift/close', '*/*'],
      ['/assets/gone-123.js', 'text/html'],
    ]) {
      const res = await request(gateway.app).get(url!).set('Accept', accept!).expect(404);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    }
  });

  it('when an unknown API path is opened in a browser, then it stays a problem+json 404, never the app', async () => {
    for (const url of ['/api/v1/nothing-here', '/api', '/api/', '/.well-known/other', '/api-docs/specs/nope.json']) {
      const res = await request(gateway.app).get(url).set('Accept', 'text/html');
      expect({ url, status: res.status }).toEqual({ url, status: 404 });
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    }
  });

  it('when a write is sent to /, then it is not the app', async () => {
    const res = await request(gateway.app).post('/').set('Accept', 'text/html').send({}).expect(404);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
  });

  it('when the gateway routes are used, then they are untouched by the register', async () => {
    const health = await request(gateway.app).get('/health').set('Accept', 'text/html');
    expect(health.headers['content-type']).toMatch(/json/);
    const api = await request(gateway.app).get('/api/v1/products').set('Accept', 'text/html').expect(401);
    expect(api.headers['content-type']).toMatch(/application\/problem\+json/);
  });

  it('when the register is not built, then the gateway still starts and / answers 404 problem+json saying how to build it', async () => {
    const res = await request(missing.app).get('/').set('Accept', 'text/html').expect(404);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body.code).toBe('register_not_built');
    expect(res.body.detail).toMatch(/npm run build:register/);
    expect(res.body.detail).toMatch(/REGISTER_DIST_DIR/);
    const deep = await request(missing.app).get('/sell').set('Accept', 'text/html').expect(404);
    expect(deep.body.code).toBe('register_not_built');
    await request(missing.app).get('/health').expect((r) => expect([200, 503]).toContain(r.status));
  });

  it('when REGISTER_DIST_DIR is not set, then apps/register/dist of this repository is served; a relative one is made absolute', () => {
    expect(DEFAULT_REGISTER_DIST_DIR).toBe(path.resolve(__dirname, '..', '..', '..', 'apps', 'register', 'dist'));
    expect(loadGatewayConfig({}).REGISTER_DIST_DIR).toBe(DEFAULT_REGISTER_DIST_DIR);
    expect(loadGatewayConfig({ REGISTER_DIST_DIR: 'some/where' }).REGISTER_DIST_DIR).toBe(path.resolve('some/where'));
  });
});
