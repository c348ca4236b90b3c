import type { Redis } from 'ioredis';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Pool } from '@pos/database';
import type { Logger } from '@pos/utils';
import { defaultLogger, errorInfo } from './logger';
import { Sleeper, execAll, withDefaults, withTimeout } from './util';
import { DEFAULT_STREAM_PREFIX, eventStream, liveChannel, qualify } from './stream-names';

export interface OutboxRelayOptions {
  /** Worker-role pool (BYPASSRLS): the relay serves every tenant. */
  pool: Pool;
  redis: Redis;
  /** The producing service's schema, where its outbox table lives. */
  schema: string;
  /** Producer name; events go to `${streamPrefix}:events:${service}`. */
  service: string;
  streamPrefix?: string;
  pollIntervalMs?: number;
  /** Pause after a failed batch, so an outage is not retried (and logged) at the poll rate. */
  retryDelayMs?: number;
  batchSize?: number;
  /** Approximate stream length cap (XADD MAXLEN ~). */
  maxLen?: number;
  /** A batch whose Redis round trip takes longer is rolled back and retried. */
  publishTimeoutMs?: number;
  retentionDays?: number;
  pruneIntervalMs?: number;
  logger?: Logger;
  /** When given, an `outbox_backlog{service}` gauge is registered, computed at scrape time. */
  registry?: Registry;
}

interface OutboxRow {
  seq: number;
  tenant_id: string;
  envelope: unknown;
}

/**
 * Publishes committed outbox rows to the producer's Redis stream and the tenants' live channels.
 * Rows are claimed with FOR UPDATE SKIP LOCKED, so any number of replicas can run a relay.
 */
export class OutboxRelay {
  readonly service: string;
  readonly stream: string;
  private readonly opts: Required<Omit<OutboxRelayOptions, 'registry' | 'logger'>>;
  private readonly table: string;
  private readonly logger: Logger;
  private readonly sleeper = new Sleeper();
  private running = false;
  private loop: Promise<void> | undefined;
  private lastPruneAt = 0;
  private published: Counter<'service' | 'type'> | undefined;

  constructor(options: OutboxRelayOptions) {
    this.opts = withDefaults(
      {
        streamPrefix: DEFAULT_STREAM_PREFIX,
        pollIntervalMs: 100,
        retryDelayMs: 1_000,
        batchSize: 100,
        maxLen: 1_000_000,
        publishTimeoutMs: 5_000,
        retentionDays: 7,
        pruneIntervalMs: 5 * 60_000,
      },
      options,
    );
    this.service = options.service;
    this.stream = eventStream(options.service, this.opts.streamPrefix);
    this.table = qualify(options.schema, 'outbox');
    this.logger = options.logger ?? defaultLogger(options.service);
    if (options.registry) {
      registerBacklogGauge(options.registry, this);
      this.published = publishedCounter(options.registry);
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Resolves once the batch in flight (if any) has committed or rolled back. */
  async stop(): Promise<void> {
    this.running = false;
    this.sleeper.wake();
    await this.loop;
    this.loop = undefined;
  }

  private async run(): Promise<void> {
    while (this.running) {
      let delay = this.opts.pollIntervalMs;
      try {
        // A full batch means more rows are probably waiting.
        if ((await this.publishPending()) === this.opts.batchSize) delay = 0;
        if (Date.now() - this.lastPruneAt >= this.opts.pruneIntervalMs) {
          this.lastPruneAt = Date.now();
          await this.prune();
        }
      } catch (err) {
        // Rows stay unpublished and are retried on a later tick.
        this.logger.error('outbox relay batch failed', { stream: this.stream, ...errorInfo(err) });
        delay = this.opts.retryDelayMs;
      }
      if (this.running && delay > 0) await this.sleeper.sleep(delay);
    }
  }

  /** Publishes one batch; returns how many rows it published. Throws when Redis or Postgres fails. */
  async publishPending(): Promise<number> {
    const { pool, redis, batchSize, maxLen, streamPrefix, publishTimeoutMs } = this.opts;
    // While Redis is down ioredis would queue every batch offline and replay them all on reconnect.
    if (['reconnecting', 'close', 'end'].includes(redis.status)) {
      throw Object.assign(new Error(`Redis is not ready (${redis.status})`), { code: 'ECONNREFUSED' });
    }
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<OutboxRow>(
        `SELECT seq, tenant_id, envelope FROM ${this.table}
          WHERE published_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [batchSize],
      );
      if (rows.length === 0) {
        await client.query('COMMIT');
        return 0;
      }
      // MULTI so a batch lands in Redis whole or not at all. If the reply is lost after Redis applied
      // it, the rows are published again: consumers are idempotent, so duplicates are harmless.
      const multi = redis.multi();
      for (const row of rows) {
        const json = JSON.stringify(row.envelope);
        multi.xadd(this.stream, 'MAXLEN', '~', maxLen, '*', 'event', json);
        multi.publish(liveChannel(row.tenant_id, streamPrefix), json);
      }
      await withTimeout(execAll(multi), publishTimeoutMs, 'publishing outbox batch');

      await client.query(`UPDATE ${this.table} SET published_at = now() WHERE seq = ANY($1::bigint[])`, [rows.map((r) => r.seq)]);
      await client.query('COMMIT');
      // Business metrics come from here: sale.completed, payment.failed, stock.low… once committed and published.
      for (const row of rows) this.published?.inc({ service: this.service, type: String((row.envelope as { type?: unknown }).type) });
      return rows.length;
    } catch (err) {
      await client.query('ROLLBACK').catch((rollbackErr: Error) => {
        broken = rollbackErr;
      });
      throw err;
    } finally {
      client.release(broken);
    }
  }

  /**
   * Deletes published rows past the retention window. They are kept until then so that an event
   * replay can republish them after a Redis data loss.
   */
  async prune(): Promise<number> {
    const { rowCount } = await this.opts.pool.query(
      `DELETE FROM ${this.table} WHERE published_at < now() - make_interval(days => $1::int)`,
      [this.opts.retentionDays],
    );
    return rowCount ?? 0;
  }

  async backlog(): Promise<number> {
    const { rows } = await this.opts.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${this.table} WHERE published_at IS NULL`);
    return rows[0]?.n ?? 0;
  }
}

const publishedByRegistry = new WeakMap<Registry, Counter<'service' | 'type'>>();

function publishedCounter(registry: Registry): Counter<'service' | 'type'> {
  let counter = publishedByRegistry.get(registry);
  if (!counter) {
    counter = new Counter({ name: 'events_published_total', help: 'Events published from the outbox, by producing service and event type', labelNames: ['service', 'type'], registers: [registry] });
    publishedByRegistry.set(registry, counter);
  }
  return counter;
}

// One gauge per registry, shared by all relays registered on it (prom-client refuses duplicate names).
const relaysByRegistry = new WeakMap<Registry, Set<OutboxRelay>>();

function registerBacklogGauge(registry: Registry, relay: OutboxRelay): void {
  let relays = relaysByRegistry.get(registry);
  if (!relays) {
    const members = new Set<OutboxRelay>();
    relays = members;
    relaysByRegistry.set(registry, members);
    new Gauge({
      name: 'outbox_backlog',
      help: 'Outbox rows not yet published to Redis',
      labelNames: ['service'],
      registers: [registry],
      async collect() {
        for (const r of members) {
          // A database outage must not break the whole metrics scrape.
          const n = await r.backlog().catch(() => undefined);
          if (n !== undefined) this.set({ service: r.service }, n);
        }
      },
    });
  }
  relays.add(relay);
}
