import { Registry } from 'prom-client';
import { randomUUID } from 'node:crypto';
import { type Redis } from 'ioredis';
import { createPool, withTenant } from '@pos/database';
import { EventConsumer, OutboxRelay, dlqStream, eventStream, failuresKey, type EventConsumerOptions, type EventHandler } from '@pos/events';
import { createTempSchema, type TempSchema } from '../../../scripts/test/temp-schema';
import { EFFECTS_SQL, cleanRedis, count, newRedis, produce, uniquePrefix, waitFor } from './helpers';

const GROUP = 'loyalty';

describe('EventConsumer', () => {
  let producer: TempSchema;
  let consumerDb: TempSchema;
  let redis: Redis;
  let prefix: string;
  let stream: string;
  const connections: Redis[] = [];
  const running: EventConsumer[] = [];

  /** Records the effect in the consumer's own table, in the handler's transaction. */
  const recordEffectAs =
    (handledBy: string): EventHandler =>
    async (event, client) => {
      await client.query(`INSERT INTO ${consumerDb.schema}.effects (event_id, tenant_id, handled_by) VALUES ($1, $2, $3)`, [
        event.id,
        event.tenantId,
        handledBy,
      ]);
    };
  const recordEffect = recordEffectAs('x');

  const consumer = (extra: Partial<EventConsumerOptions> = {}) => {
    const connection = newRedis();
    connections.push(connection);
    const c = new EventConsumer({
      redis: connection,
      pool: consumerDb.appPool,
      schema: consumerDb.schema,
      group: GROUP,
      streams: ['sales'],
      streamPrefix: prefix,
      handlers: { 'test.happened': recordEffect },
      blockMs: 50,
      logger: silentLogger(),
      ...extra,
    });
    running.push(c);
    return c;
  };
  const effects = () => count(consumerDb, 'SELECT count(*)::int AS n FROM {s}.effects');
  const inbox = () => count(consumerDb, 'SELECT count(*)::int AS n FROM {s}.inbox');
  const pending = async () => ((await redis.xpending(stream, GROUP)) as [number])[0];
  const envelope = (tenantId = randomUUID()) =>
    JSON.stringify({
      id: randomUUID(),
      type: 'test.happened',
      version: 1,
      tenantId,
      occurredAt: new Date().toISOString(),
      requestId: 'req-1',
      data: {},
    });

  beforeEach(async () => {
    [producer, consumerDb] = await Promise.all([createTempSchema(), createTempSchema(EFFECTS_SQL)]);
    redis = newRedis();
    prefix = uniquePrefix();
    stream = eventStream('sales', prefix);
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((c) => c.stop()));
    await Promise.all(connections.splice(0).map((c) => c.quit()));
    await cleanRedis(redis, prefix);
    await redis.quit();
    await Promise.all([producer.drop(), consumerDb.drop()]);
  });

  it('when the consumer is down while events are produced, then after it comes back every event is handled exactly once', async () => {
    const relay = new OutboxRelay({
      pool: producer.workerPool,
      redis,
      schema: producer.schema,
      service: 'sales',
      streamPrefix: prefix,
      batchSize: 15,
      pollIntervalMs: 10,
    });
    const tenants = [randomUUID(), randomUUID(), randomUUID()];
    const written = new Set<string>();
    for (let i = 0; i < 40; i++) written.add((await produce(producer, tenants[i % 3])).id);
    while ((await relay.publishPending()) > 0);
    expect(await redis.xlen(stream)).toBe(40);

    // Two replicas of the consuming service, one group; a small batch and a slow handler interleave them.
    const slowEffect =
      (replica: string): EventHandler =>
      async (event, client) => {
        await new Promise((r) => setTimeout(r, 2));
        await recordEffectAs(replica)(event, client);
      };
    const a = consumer({ batchSize: 3, handlers: { 'test.happened': slowEffect('a') } });
    const b = consumer({ batchSize: 3, handlers: { 'test.happened': slowEffect('b') } });
    await Promise.all([a.start(), b.start()]);
    relay.start();
    for (let i = 0; i < 10; i++) written.add((await produce(producer, tenants[i % 3])).id);
    await waitFor(async () => (await inbox()) >= 50, 15_000, '50 handled events');
    await relay.stop();
    await Promise.all([a.stop(), b.stop()]);

    const { rows } = await consumerDb.adminPool.query<{ event_id: string; n: number }>(
      `SELECT event_id, count(*)::int AS n FROM ${consumerDb.schema}.effects GROUP BY event_id`,
    );
    expect(rows).toHaveLength(50);
    expect(rows.every((r) => r.n === 1)).toBe(true);
    expect(new Set(rows.map((r) => r.event_id))).toEqual(written);
    expect(await effects()).toBe(50);
    expect(await inbox()).toBe(50);
    expect(await pending()).toBe(0);
    // Both replicas took part, yet no event was handled by both.
    const byReplica = await consumerDb.adminPool.query(`SELECT DISTINCT handled_by FROM ${consumerDb.schema}.effects ORDER BY 1`);
    expect(byReplica.rows.map((r) => r.handled_by)).toEqual(['a', 'b']);
  });

  it('when a registry is given, then consumed events are counted by outcome and the group lag is exported', async () => {
    const registry = new Registry();
    const c = consumer({ registry });
    await c.ensureGroups();
    const event = envelope();
    for (const e of [event, event, envelope()]) await redis.xadd(stream, '*', 'event', e);
    expect((await c.lag())[0]).toEqual({ stream, lag: 3 });
    expect(await c.pollOnce()).toBe(3);
    const text = await registry.metrics();
    expect(text).toContain(`events_consumed_total{group="${GROUP}",outcome="handled"} 2`);
    expect(text).toContain(`events_consumed_total{group="${GROUP}",outcome="duplicate"} 1`);
    expect(text).toContain(`events_consumer_lag{group="${GROUP}",stream="${stream}"} 0`);
  });

  it('when the same event is delivered twice, then the second delivery changes nothing and is acked', async () => {
    const event = envelope();
    const c = consumer();
    await c.ensureGroups();
    await redis.xadd(stream, '*', 'event', event);
    await redis.xadd(stream, '*', 'event', event);
    expect(await c.pollOnce()).toBe(2);
    expect(await effects()).toBe(1);
    expect(await inbox()).toBe(1);
    expect(await pending()).toBe(0);
  });

  it('when a consumer dies holding unacked messages, then another consumer claims them and handles each once', async () => {
    const c = consumer({ claimIdleMs: 100 });
    await c.ensureGroups();
    for (let i = 0; i < 3; i++) await redis.xadd(stream, '*', 'event', envelope());
    // The dead replica read the messages and never acknowledged them.
    const read = (await redis.xreadgroup('GROUP', GROUP, 'dead-replica', 'COUNT', 10, 'STREAMS', stream, '>')) as [string, unknown[]][];
    expect(read[0]![1]).toHaveLength(3);
    expect(await c.pollOnce()).toBe(0);

    await c.start();
    await waitFor(async () => (await pending()) === 0, 5_000, 'claimed messages to be acked');
    expect(await effects()).toBe(3);
    expect(await inbox()).toBe(3);
  });

  it('when a consumer restarts under the same name, then it first handles its own pending messages', async () => {
    const first = consumer({ consumerName: 'pod-0', handlers: { 'test.happened': async () => Promise.reject(crash()) } });
    await first.ensureGroups();
    await redis.xadd(stream, '*', 'event', envelope());
    await first.pollOnce(); // the handler "crashes": nothing recorded, nothing acked
    expect(await pending()).toBe(1);

    const again = consumer({ consumerName: 'pod-0' });
    await again.start();
    await waitFor(async () => (await pending()) === 0, 5_000, 'own pending message to be handled');
    expect(await effects()).toBe(1);
  });

  it('when a handler always throws, then after maxDeliveries the message is in the DLQ and acked', async () => {
    let calls = 0;
    const c = consumer({
      maxDeliveries: 3,
      claimIdleMs: 30,
      handlers: {
        'test.happened': async (event, client) => {
          calls += 1;
          await recordEffect(event, client); // rolled back with the failure
          throw new Error('cannot apply this event');
        },
      },
    });
    const event = envelope();
    await c.start();
    const id = await redis.xadd(stream, '*', 'event', event);
    await waitFor(async () => (await redis.xlen(dlqStream(stream))) === 1, 5_000, 'the dead letter');
    await c.stop();

    expect(calls).toBe(3);
    expect(await pending()).toBe(0);
    expect(await effects()).toBe(0);
    expect(await inbox()).toBe(0);
    expect(await redis.hlen(failuresKey(stream, GROUP))).toBe(0);
    const [[, fields]] = (await redis.xrange(dlqStream(stream), '-', '+')) as [[string, string[]]];
    const dead = Object.fromEntries(fields.map((v, i, all) => (i % 2 ? [] : [v, all[i + 1]])).filter((p) => p.length));
    expect(dead).toMatchObject({ event, stream, messageId: id, group: GROUP, error: 'cannot apply this event', failures: '3' });
  });

  it('when a handler fails with connection errors, then those failures never count toward the DLQ', async () => {
    let calls = 0;
    const c = consumer({
      maxDeliveries: 2,
      claimIdleMs: 30,
      retryDelayMs: 5,
      handlers: {
        'test.happened': async (event, client) => {
          calls += 1;
          if (calls === 1) throw Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:5432'), { code: 'ECONNREFUSED' });
          if (calls === 2) throw Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
          if (calls === 3) throw new Error('Connection is closed.');
          if (calls === 4) throw Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' });
          await recordEffect(event, client);
        },
      },
    });
    await c.start();
    await redis.xadd(stream, '*', 'event', envelope());
    await waitFor(async () => (await effects()) === 1, 5_000, 'the event to be handled after the outage');
    await waitFor(async () => (await pending()) === 0, 5_000, 'the ack');
    expect(calls).toBe(5);
    expect(await redis.xlen(dlqStream(stream))).toBe(0);
  });

  it('when the consumer database is unreachable, then deliveries are retried without counting and handled once it is back', async () => {
    const unreachable = createPool({ connectionString: 'postgres://pos_app@127.0.0.1:1/pos_test', max: 2 });
    try {
      const down = consumer({ pool: unreachable, maxDeliveries: 1, claimIdleMs: 20, retryDelayMs: 5 });
      await down.start();
      await redis.xadd(stream, '*', 'event', envelope());
      await new Promise((r) => setTimeout(r, 300));
      await down.stop();
      expect(await redis.xlen(dlqStream(stream))).toBe(0);
      expect(await pending()).toBe(1);
      expect(await redis.hlen(failuresKey(stream, GROUP))).toBe(0);
    } finally {
      await unreachable.end();
    }
    await consumer({ claimIdleMs: 20 }).start();
    await waitFor(async () => (await pending()) === 0, 5_000, 'the event to be handled');
    expect(await effects()).toBe(1);
  });

  it('when a message is not a valid event, then it goes straight to the DLQ and is acked', async () => {
    const c = consumer();
    await c.ensureGroups();
    await redis.xadd(stream, '*', 'event', '{"id":"nope"}');
    await redis.xadd(stream, '*', 'event', 'not json');
    expect(await c.pollOnce()).toBe(2);
    expect(await redis.xlen(dlqStream(stream))).toBe(2);
    expect(await pending()).toBe(0);
    expect(await inbox()).toBe(0);
  });

  it('when no handler exists for the event type, then the message is acked without an inbox row', async () => {
    const c = consumer();
    await c.ensureGroups();
    await redis.xadd(stream, '*', 'event', envelope().replace('test.happened', 'other.happened'));
    expect(await c.pollOnce()).toBe(1);
    expect(await pending()).toBe(0);
    expect(await inbox()).toBe(0);
  });

  it('when a handler writes through its client, then it runs as the event tenant under row-level security', async () => {
    const tenantId = randomUUID();
    const seen: string[] = [];
    const c = consumer({
      handlers: {
        'test.happened': async (_event, client) => {
          const { rows } = await client.query(`SELECT tenant_id FROM ${consumerDb.schema}.inbox`);
          seen.push(...rows.map((r) => r.tenant_id));
        },
      },
    });
    await c.ensureGroups();
    // Another tenant's inbox row, which the handler must not see.
    const other = randomUUID();
    await withTenant(consumerDb.appPool, other, (cl) =>
      cl.query(`INSERT INTO ${consumerDb.schema}.inbox (consumer, event_id, tenant_id, type) VALUES ('x', $1, $2, 'a.b')`, [randomUUID(), other]),
    );
    await redis.xadd(stream, '*', 'event', envelope(tenantId));
    await c.pollOnce();
    expect(seen).toEqual([tenantId]);
  });

  it('when stopped, then the loop ends promptly and an idle consumer leaves the group', async () => {
    const c = consumer({ consumerName: 'short-lived', blockMs: 200 });
    await c.start();
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await c.stop();
    expect(Date.now() - started).toBeLessThan(1_000);
    const consumers = (await redis.xinfo('CONSUMERS', stream, GROUP)) as unknown[];
    expect(consumers).toHaveLength(0);
  });
});

function crash() {
  return new Error('process crashed');
}

function silentLogger() {
  const noop = () => undefined;
  return { error: noop, warn: noop, info: noop, debug: noop, child: () => silentLogger() } as never;
}
