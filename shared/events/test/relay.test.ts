import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { withTenant } from '@pos/database';
import { OutboxRelay, eventStream, liveChannel, writeEvent } from '@pos/events';
import { createTempSchema, type TempSchema } from '../../../scripts/test/temp-schema';
import { cleanRedis, count, newRedis, produce, uniquePrefix, waitFor } from './helpers';

describe('OutboxRelay', () => {
  let db: TempSchema;
  let redis: Redis;
  let prefix: string;
  const relay = (extra: Partial<ConstructorParameters<typeof OutboxRelay>[0]> = {}) =>
    new OutboxRelay({ pool: db.workerPool, redis, schema: db.schema, service: 'sales', streamPrefix: prefix, ...extra });
  const streamIds = async () =>
    (await redis.xrange(eventStream('sales', prefix), '-', '+')).map(([, fields]) => JSON.parse(fields[1]!).id as string);

  beforeEach(async () => {
    db = await createTempSchema();
    redis = newRedis();
    prefix = uniquePrefix();
  });
  afterEach(async () => {
    await cleanRedis(redis, prefix);
    await redis.quit();
    await db.drop();
  });

  it('when two relays run on the same schema at once, then every row is published exactly once', async () => {
    const tenantId = randomUUID();
    const written = await withTenant(db.appPool, tenantId, async (c) => {
      const ids: string[] = [];
      for (let i = 0; i < 200; i++) ids.push((await writeEvent(c, { schema: db.schema, type: 'test.happened', tenantId, data: { i } })).id);
      return ids;
    });
    const [a, b] = [relay({ batchSize: 7 }), relay({ batchSize: 7 })];
    const drain = async (r: OutboxRelay) => {
      let total = 0;
      for (let n = await r.publishPending(); n > 0; n = await r.publishPending()) total += n;
      return total;
    };
    const [na, nb] = await Promise.all([drain(a), drain(b)]);
    expect(na + nb).toBe(200);
    const ids = await streamIds();
    expect(ids).toHaveLength(200);
    expect(new Set(ids)).toEqual(new Set(written));
    expect(await count(db, 'SELECT count(*)::int AS n FROM {s}.outbox WHERE published_at IS NULL')).toBe(0);
  });

  it('when relays are started, then events written later are each published once and stop() returns promptly', async () => {
    const [a, b] = [relay({ pollIntervalMs: 10 }), relay({ pollIntervalMs: 10 })];
    a.start();
    b.start();
    const written: string[] = [];
    for (let i = 0; i < 20; i++) written.push((await produce(db)).id);
    await waitFor(async () => (await redis.xlen(eventStream('sales', prefix))) >= 20, 5_000, 'publication');
    await Promise.all([a.stop(), b.stop()]);
    expect((await streamIds()).sort()).toEqual([...written].sort());
  });

  it('when an event is written in a transaction that rolls back, then it is never published', async () => {
    const tenantId = randomUUID();
    await expect(
      withTenant(db.appPool, tenantId, async (c) => {
        await writeEvent(c, { schema: db.schema, type: 'test.happened', tenantId, data: { lost: true } });
        throw new Error('business change failed');
      }),
    ).rejects.toThrow('business change failed');
    const kept = await produce(db, tenantId);
    expect(await relay().publishPending()).toBe(1);
    expect(await streamIds()).toEqual([kept.id]);
  });

  it('when an event is published, then a subscriber of the tenant live channel receives it', async () => {
    const tenantId = randomUUID();
    const subscriber = newRedis();
    try {
      const received = new Promise<string>((resolve) => subscriber.on('message', (_channel: string, message: string) => resolve(message)));
      await subscriber.subscribe(liveChannel(tenantId, prefix));
      const event = await produce(db, tenantId, { hello: 'world' });
      await relay().publishPending();
      expect(JSON.parse(await received)).toEqual(event);
    } finally {
      await subscriber.quit();
    }
  });

  it('when Redis is unreachable, then the rows stay unpublished and go out on a later tick', async () => {
    const event = await produce(db);
    // A client that gave up connecting. (A client left reconnecting keeps Jest alive after the run.)
    const down = new Redis('redis://127.0.0.1:1', { lazyConnect: true, retryStrategy: () => null });
    down.on('error', () => undefined);
    await down.connect().catch(() => undefined);
    await expect(relay({ redis: down }).publishPending()).rejects.toThrow(/not ready/);
    expect(await count(db, 'SELECT count(*)::int AS n FROM {s}.outbox WHERE published_at IS NULL')).toBe(1);
    expect(await relay().publishPending()).toBe(1);
    expect(await streamIds()).toEqual([event.id]);
  });

  it('when the relay loop meets a Redis failure, then it keeps running and publishes once Redis answers', async () => {
    const event = await produce(db);
    const flaky = newRedis();
    const exec = jest.spyOn(flaky, 'multi');
    exec.mockImplementationOnce(() => {
      throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    });
    const r = relay({ redis: flaky, pollIntervalMs: 10, retryDelayMs: 10, logger: silentLogger() });
    r.start();
    try {
      await waitFor(async () => (await streamIds()).length === 1, 5_000, 'publication after the failure');
    } finally {
      await r.stop();
      await flaky.quit();
    }
    expect(exec).toHaveBeenCalledTimes(2);
    expect(await streamIds()).toEqual([event.id]);
  });

  it('when published rows are older than the retention, then prune deletes them and keeps the rest', async () => {
    const [old, recent, unpublished] = [await produce(db), await produce(db), await produce(db)];
    await db.adminPool.query(`UPDATE ${db.schema}.outbox SET published_at = now() - interval '8 days' WHERE id = $1`, [old.id]);
    await db.adminPool.query(`UPDATE ${db.schema}.outbox SET published_at = now() - interval '1 day' WHERE id = $1`, [recent.id]);
    expect(await relay().prune()).toBe(1);
    const { rows } = await db.adminPool.query(`SELECT id FROM ${db.schema}.outbox ORDER BY seq`);
    expect(rows.map((r) => r.id)).toEqual([recent.id, unpublished.id]);
  });

  it('when a registry is given, then outbox_backlog reports the unpublished rows', async () => {
    const registry = new Registry();
    const r = relay({ registry });
    relay({ registry, service: 'other' }); // a second relay on the same registry must not throw
    await produce(db);
    await produce(db);
    expect(await registry.getSingleMetricAsString('outbox_backlog')).toContain('outbox_backlog{service="sales"} 2');
    await r.publishPending();
    expect(await registry.getSingleMetricAsString('outbox_backlog')).toContain('outbox_backlog{service="sales"} 0');
    expect(await registry.getSingleMetricAsString('events_published_total')).toMatch(/events_published_total\{service="sales",type="[a-z_]+\.[a-z_]+"\} 2/);
  });
});

function silentLogger() {
  const noop = () => undefined;
  return { error: noop, warn: noop, info: noop, debug: noop, child: () => silentLogger() } as never;
}
