import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { Redis } from 'ioredis';
import { connectMongo, factId, type Collection, type MongoHandle } from '@pos/mongo';
import { ConfigError } from '@pos/utils';
import { API_USAGE, ApiUsageRecorder, type ApiUsageDocument } from '../src/api-usage';
import type { GatewayApp } from '../src/app';
import { loadGatewayConfig } from '../src/config';
import { ROUTES, UPSTREAM_NAMES, type UpstreamName } from '../src/routes';
import { signToken, startJwksServer, type JwksServer } from '../../../scripts/test/test-keys';
import { TcpProxy } from '../../../shared/mongo/test/tcp-proxy';
import { buildGateway, silentLogger, startUpstream, testRedis, type FakeUpstream } from './helpers';

// The Jest global setup runs a MongoDB (the in-process stand-in, or TEST_MONGODB_URI) for the run.
const uri = () => process.env.MONGODB_URI!;
const HOUR = 60 * 60_000;
/** A fixed clock inside one minute, so a test never straddles two minute buckets. */
const FIXED_NOW = Date.parse('2025-06-02T10:15:30.000Z');
const MINUTE = '2025-06-02T10:15:00.000Z';

describe('api-gateway api_usage', () => {
  const dbName = `test_api_usage_${randomUUID().slice(0, 8)}`;
  let mongo: MongoHandle;
  let redis: Redis;
  let jwks: JwksServer;
  const upstreams = {} as Record<UpstreamName, FakeUpstream>;
  const open: Array<{ gateway: GatewayApp; recorder: ApiUsageRecorder }> = [];

  beforeAll(async () => {
    mongo = connectMongo(uri(), dbName);
    redis = testRedis();
    jwks = await startJwksServer();
    for (const name of UPSTREAM_NAMES) upstreams[name] = await startUpstream(name);
  });

  afterEach(async () => {
    for (const { gateway, recorder } of open.splice(0)) {
      gateway.close();
      await recorder.close(200);
    }
    jest.restoreAllMocks();
  });

  afterAll(async () => {
    await Promise.all(Object.values(upstreams).map((u) => u.close()));
    await jwks.close();
    await redis.quit();
    await mongo.db.dropDatabase().catch(() => undefined);
    await mongo.close();
  });

  const usageOf = (handle: MongoHandle = mongo) => handle.db.collection<ApiUsageDocument>(API_USAGE);

  /** A gateway (one "replica") in front of the fake services, with its own recorder. Flushes are manual unless `flushIntervalMs` is given. */
  async function gatewayWithRecorder(options: { collection?: Collection<ApiUsageDocument>; flushIntervalMs?: number; maxKeys?: number } = {}) {
    const recorder = new ApiUsageRecorder({
      collection: options.collection ?? usageOf(),
      flushIntervalMs: options.flushIntervalMs ?? HOUR,
      maxKeys: options.maxKeys,
      logger: silentLogger(),
      reportEveryMs: 0,
      now: () => FIXED_NOW,
    });
    const gateway = await buildGateway({
      redis,
      jwksUrl: jwks.url,
      upstreams: Object.fromEntries(UPSTREAM_NAMES.map((n) => [n, upstreams[n].url])),
      env: { UPSTREAM_TIMEOUT_MS: '300' },
      deps: { usage: recorder },
    });
    open.push({ gateway, recorder });
    return { gateway, recorder };
  }

  function newUser(role: 'owner' | 'manager' | 'cashier' = 'manager') {
    const tenantId = randomUUID();
    const userId = randomUUID();
    return { tenantId, userId, role, bearer: `Bearer ${signToken({ sub: userId, tid: tenantId, role })}` };
  }

  const docsOf = (tenantId: string, handle: MongoHandle = mongo) => usageOf(handle).find({ tenantId }).sort({ route: 1, method: 1 }).toArray();
  const keyId = (tenantId: string, userId: string, method: string, route: string, statusClass: string) =>
    factId(`${API_USAGE}|${[tenantId, userId, method, route, statusClass, MINUTE].join('|')}`);

  /** Spies on every write method of a collection object. */
  function watchWrites(collection: Collection<ApiUsageDocument>) {
    return {
      bulkWrite: jest.spyOn(collection, 'bulkWrite'),
      others: (['insertOne', 'insertMany', 'updateOne', 'updateMany', 'replaceOne', 'findOneAndUpdate'] as const).map((m) => jest.spyOn(collection, m)),
    };
  }

  it('when N calls of one user go through the gateway, then nothing is written per request and ONE flush writes one document per key with count N and latency sums', async () => {
    const collection = usageOf();
    const writes = watchWrites(collection);
    const { gateway, recorder } = await gatewayWithRecorder({ collection });
    const user = newUser('manager');
    const ids: string[] = [];
    const N = 6;
    for (let i = 0; i < N; i++) {
      const id = randomUUID();
      ids.push(id);
      expect((await request(gateway.app).get(`/api/v1/products/${id}`).set('Authorization', user.bearer)).status).toBe(200);
    }
    for (let i = 0; i < 3; i++) {
      const id = randomUUID();
      ids.push(id);
      expect((await request(gateway.app).post(`/api/v1/transactions/${id}/refunds`).set('Authorization', user.bearer).send({ lines: [] })).status).toBe(200);
    }
    // An upstream slower than UPSTREAM_TIMEOUT_MS (300 ms): the gateway answers 504.
    for (let i = 0; i < 2; i++) {
      const id = randomUUID();
      ids.push(id);
      expect((await request(gateway.app).get(`/api/v1/customers/${id}`).set('Authorization', user.bearer).set('x-test-delay-ms', '2000')).status).toBe(504);
    }

    expect(recorder.pendingCalls).toBe(N + 3 + 2);
    expect(await usageOf().countDocuments({ tenantId: user.tenantId })).toBe(0);
    expect(writes.bulkWrite).not.toHaveBeenCalled();

    await recorder.flush();

    expect(writes.bulkWrite).toHaveBeenCalledTimes(1);
    for (const spy of writes.others) expect(spy).not.toHaveBeenCalled();
    const docs = await docsOf(user.tenantId);
    expect(docs.map((d) => ({ method: d.method, route: d.route, statusClass: d.statusClass, count: d.count }))).toEqual([
      { method: 'GET', route: '/api/v1/customers', statusClass: '5xx', count: 2 },
      { method: 'GET', route: '/api/v1/products', statusClass: '2xx', count: N },
      { method: 'POST', route: '/api/v1/transactions', statusClass: '2xx', count: 3 },
    ]);
    for (const d of docs) {
      expect(d).toMatchObject({ tenantId: user.tenantId, userId: user.userId, role: 'manager' });
      expect(d.minute).toBeInstanceOf(Date);
      expect(d.minute.toISOString()).toBe(MINUTE);
      expect(d._id.equals(keyId(user.tenantId, user.userId, d.method, d.route, d.statusClass))).toBe(true);
      expect(d.totalLatencyMs).toBeGreaterThan(0);
      expect(d.maxLatencyMs).toBeGreaterThan(0);
      expect(d.maxLatencyMs).toBeLessThanOrEqual(d.totalLatencyMs);
      expect(d.maxLatencyMs * d.count).toBeGreaterThanOrEqual(d.totalLatencyMs - 0.01);
    }
    // The timed-out calls waited for the gateway's 300 ms upstream timeout.
    expect(docs[0]!.totalLatencyMs).toBeGreaterThanOrEqual(2 * 290);
    // Route labels are routing-table templates: no id of any call appears anywhere.
    const prefixes = ROUTES.map((r) => r.prefix);
    for (const d of docs) expect(prefixes).toContain(d.route);
    const stored = JSON.stringify(docs);
    for (const id of ids) expect(stored).not.toContain(id);
    expect(recorder).toMatchObject({ flushes: 1, writtenCalls: N + 5, failedFlushes: 0, droppedKeys: 0, pendingKeys: 0 });

    // Nothing pending: a flush writes nothing.
    await recorder.flush();
    expect(writes.bulkWrite).toHaveBeenCalledTimes(1);
  });

  it('when two gateway replicas and later flushes record the same key, then they add up in the same document', async () => {
    const first = await gatewayWithRecorder();
    const second = await gatewayWithRecorder();
    const user = newUser('cashier');
    for (const { gateway } of [first, second, first]) {
      expect((await request(gateway.app).get(`/api/v1/inventory/${randomUUID()}`).set('Authorization', user.bearer)).status).toBe(200);
    }
    await Promise.all([first.recorder.flush(), second.recorder.flush()]);
    expect((await request(first.gateway.app).get(`/api/v1/inventory?productId=${randomUUID()}`).set('Authorization', user.bearer)).status).toBe(200);
    await first.recorder.flush();

    const docs = await docsOf(user.tenantId);
    expect(docs).toHaveLength(1);
    expect(docs[0]).toMatchObject({ method: 'GET', route: '/api/v1/inventory', statusClass: '2xx', role: 'cashier', count: 4 });
    expect(first.recorder.flushes + second.recorder.flushes).toBe(3);
  });

  it('when a call has no verified user (public route, no token, bad token) or is not an /api/v1 route, then nothing is recorded', async () => {
    const { gateway, recorder } = await gatewayWithRecorder();
    expect((await request(gateway.app).post('/api/v1/auth/login').send({ email: 'a@example.com', password: 'x' })).status).toBe(200);
    expect((await request(gateway.app).get('/api/v1/products')).status).toBe(401);
    expect((await request(gateway.app).get('/api/v1/products').set('Authorization', 'Bearer not-a-token')).status).toBe(401);
    expect((await request(gateway.app).get('/.well-known/jwks.json')).status).toBe(200);
    expect((await request(gateway.app).get('/api/v1/nothing-here').set('Authorization', newUser().bearer)).status).toBe(404);
    expect(recorder.pendingKeys).toBe(0);
  });

  it('when the flush interval passes, then the timer writes the aggregate by itself', async () => {
    const { gateway, recorder } = await gatewayWithRecorder({ flushIntervalMs: 100 });
    const user = newUser('owner');
    for (let i = 0; i < 3; i++) {
      expect((await request(gateway.app).delete(`/api/v1/customers/${randomUUID()}`).set('Authorization', user.bearer)).status).toBe(200);
    }
    await waitUntil(async () => (await docsOf(user.tenantId))[0]?.count === 3);
    const docs = await docsOf(user.tenantId);
    expect(docs).toHaveLength(1);
    expect(docs[0]).toMatchObject({ method: 'DELETE', route: '/api/v1/customers', statusClass: '2xx', role: 'owner', count: 3 });
    expect(recorder.pendingKeys).toBe(0);
  });

  describe('when MongoDB is unreachable', () => {
    let proxy: TcpProxy;
    let viaProxy: MongoHandle;

    beforeEach(async () => {
      proxy = await TcpProxy.forUri(uri()).start();
      viaProxy = connectMongo(proxy.uri(), dbName, { serverSelectionTimeoutMS: 300, socketTimeoutMS: 2_000 });
    });
    afterEach(async () => {
      await viaProxy.close();
      await proxy.close();
    });

    it('then requests still answer at once, the batch is kept through failed flushes, and a later flush writes it exactly once', async () => {
      const collection = usageOf(viaProxy);
      const writes = watchWrites(collection);
      const { gateway, recorder } = await gatewayWithRecorder({ collection });
      const user = newUser('manager');
      proxy.pause();

      for (let i = 0; i < 4; i++) {
        const started = Date.now();
        expect((await request(gateway.app).get(`/api/v1/stock/${randomUUID()}`).set('Authorization', user.bearer)).status).toBe(200);
        expect(Date.now() - started).toBeLessThan(1_000);
      }
      await recorder.flush();
      expect(writes.bulkWrite).toHaveBeenCalledTimes(1);
      expect(recorder).toMatchObject({ flushes: 0, failedFlushes: 1, pendingKeys: 1, pendingCalls: 4, droppedKeys: 0 });

      // More calls of the same key during the outage join the kept batch.
      for (let i = 0; i < 2; i++) {
        expect((await request(gateway.app).get(`/api/v1/stock/${randomUUID()}`).set('Authorization', user.bearer)).status).toBe(200);
      }
      await recorder.flush();
      expect(recorder).toMatchObject({ flushes: 0, failedFlushes: 2, pendingKeys: 1, pendingCalls: 6 });
      expect(await usageOf().countDocuments({ tenantId: user.tenantId })).toBe(0);

      proxy.resume();
      await waitUntil(async () => {
        await recorder.flush();
        return recorder.pendingKeys === 0;
      }, 10_000);

      expect(recorder.flushes).toBe(1);
      const docs = await docsOf(user.tenantId);
      expect(docs).toHaveLength(1);
      expect(docs[0]).toMatchObject({ method: 'GET', route: '/api/v1/stock', statusClass: '2xx', count: 6 });
      // Nothing is left to write again.
      await recorder.flush();
      expect((await docsOf(user.tenantId))[0]!.count).toBe(6);
      for (const spy of writes.others) expect(spy).not.toHaveBeenCalled();
    });

    it('then the kept aggregate is bounded: beyond maxKeys the oldest keys are dropped and counted', async () => {
      proxy.pause();
      const recorder = new ApiUsageRecorder({ collection: usageOf(viaProxy), flushIntervalMs: HOUR, maxKeys: 3, logger: silentLogger(), reportEveryMs: 0 });
      try {
        const tenantId = randomUUID();
        const at = new Date(FIXED_NOW);
        const call = (userId: string, latencyMs = 5) => recorder.record({ tenantId, userId, role: 'cashier', method: 'GET', route: '/api/v1/products', status: 200, latencyMs, at });
        const users = Array.from({ length: 5 }, () => randomUUID());
        call(users[0]!);
        call(users[0]!);
        for (const u of users.slice(1)) call(u);
        expect(recorder).toMatchObject({ pendingKeys: 3, pendingCalls: 3, droppedKeys: 2, droppedCalls: 3 });

        await recorder.flush();
        call(users[4]!, 9);
        expect(recorder).toMatchObject({ failedFlushes: 1, pendingKeys: 3, pendingCalls: 4, droppedKeys: 2 });

        proxy.resume();
        await waitUntil(async () => {
          await recorder.flush();
          return recorder.pendingKeys === 0;
        }, 10_000);
        const docs = await usageOf().find({ tenantId }).toArray();
        expect(docs.map((d) => [d.userId, d.count]).sort()).toEqual([[users[2], 1], [users[3], 1], [users[4], 2]].sort());
        expect(docs.find((d) => d.userId === users[4])).toMatchObject({ totalLatencyMs: 14, maxLatencyMs: 9 });
      } finally {
        await recorder.close(200);
      }
    });
  });

  describe('config', () => {
    it('when nothing is set outside production, then recording is on, flushes every 10 s, and MongoDB is the local default', () => {
      expect(loadGatewayConfig({})).toMatchObject({ API_USAGE_ENABLED: true, API_USAGE_FLUSH_MS: 10_000, MONGODB_URI: 'mongodb://127.0.0.1:27017', MONGODB_DB: 'pos' });
    });

    it('when production runs without MONGODB_URI, then loading fails naming it, unless api_usage is switched off', () => {
      const base = { NODE_ENV: 'production', REDIS_URL: 'redis://redis:6379' };
      expect(() => loadGatewayConfig(base)).toThrow(ConfigError);
      expect(() => loadGatewayConfig(base)).toThrow(/MONGODB_URI: is required in production/);
      expect(loadGatewayConfig({ ...base, API_USAGE_ENABLED: 'false' }).API_USAGE_ENABLED).toBe(false);
      expect(loadGatewayConfig({ ...base, MONGODB_URI: 'mongodb://mongo:27017', API_USAGE_FLUSH_MS: '5000' })).toMatchObject({ MONGODB_URI: 'mongodb://mongo:27017', API_USAGE_FLUSH_MS: 5000 });
    });
  });
});

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
