import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { Counter, Gauge, type Registry } from 'prom-client';
import { withTenant, type Pool, type PoolClient } from '@pos/database';
import { EventEnvelopeSchema, type EventEnvelope } from '@pos/types';
import { runWithContext, type Logger } from '@pos/utils';
import { InvalidEventError, isTransientError } from './errors';
import { defaultLogger, errorInfo } from './logger';
import { dataSchemaFor } from './outbox';
import { Sleeper, execAll, withDefaults } from './util';
import { DEFAULT_STREAM_PREFIX, dlqStream, eventStream, failuresKey, qualify } from './stream-names';

/** Runs inside the transaction that records the event in the inbox, as the event's tenant (RLS). */
export type EventHandler = (event: EventEnvelope, client: PoolClient) => Promise<void>;

export interface EventConsumerOptions {
  /** A dedicated connection: XREADGROUP BLOCK holds it while waiting. */
  redis: Redis;
  /** App-role pool; handlers run as the event's tenant. */
  pool: Pool;
  /** The consuming service's schema, where its inbox lives. */
  schema: string;
  /** Consumer group: the consuming service's name. Also the inbox `consumer` value. */
  group: string;
  consumerName?: string;
  /** Producer service names to read from. */
  streams: string[];
  streamPrefix?: string;
  handlers: Record<string, EventHandler>;
  /** Counted handler failures before a message goes to the dead-letter stream. */
  maxDeliveries?: number;
  /** Pending entries idle this long are taken over (XAUTOCLAIM): their consumer died or failed them. */
  claimIdleMs?: number;
  claimIntervalMs?: number;
  /** Keep short: stop() waits for the blocking read to return. */
  blockMs?: number;
  batchSize?: number;
  /** Pause after an outage-type failure or a loop error before reading again. */
  retryDelayMs?: number;
  logger?: Logger;
  /** When given: `events_consumed_total{group,outcome}` and `events_consumer_lag{group,stream}`. */
  registry?: Registry;
}

export type ConsumeOutcome = 'handled' | 'duplicate' | 'ignored' | 'failed' | 'retry' | 'dead-lettered';

type Entry = [id: string, fields: string[] | null];
type ReadReply = [stream: string, entries: Entry[]][] | null;

/**
 * A member of a Redis Streams consumer group. Every replica of a service runs one with the same
 * group, so each event is handled by one of them; the inbox row written in the handler's transaction
 * makes redeliveries (crashes before XACK, claims, duplicate publishes) change nothing.
 */
export class EventConsumer {
  readonly consumerName: string;
  readonly streams: string[];
  private readonly opts: Required<Omit<EventConsumerOptions, 'logger' | 'consumerName' | 'streams' | 'registry'>>;
  private readonly consumed: Counter<'group' | 'outcome'> | undefined;
  private readonly inbox: string;
  private readonly logger: Logger;
  private readonly sleeper = new Sleeper();
  private running = false;
  private loop: Promise<void> | undefined;
  private lastClaimAt = 0;

  constructor(options: EventConsumerOptions) {
    const claimIdleMs = options.claimIdleMs ?? 30_000;
    this.opts = withDefaults(
      {
        streamPrefix: DEFAULT_STREAM_PREFIX,
        maxDeliveries: 5,
        claimIdleMs,
        // Often enough that an entry is retried soon after it becomes claimable.
        claimIntervalMs: Math.min(Math.max(claimIdleMs / 2, 50), 10_000),
        blockMs: 1_000,
        batchSize: 20,
        retryDelayMs: 1_000,
      },
      options,
    );
    this.consumerName = options.consumerName ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.streams = options.streams.map((producer) => eventStream(producer, this.opts.streamPrefix));
    this.inbox = qualify(options.schema, 'inbox');
    this.logger = options.logger ?? defaultLogger(options.group);
    this.consumed = options.registry ? consumerMetrics(options.registry, this) : undefined;
  }

  get group(): string {
    return this.opts.group;
  }

  /** Entries of each stream not yet delivered to this group (Redis 7 `XINFO GROUPS` lag). */
  async lag(): Promise<Array<{ stream: string; lag: number }>> {
    const out: Array<{ stream: string; lag: number }> = [];
    for (const stream of this.streams) {
      const groups = (await this.redis.call('XINFO', 'GROUPS', stream).catch(() => [])) as unknown[][];
      for (const g of groups) {
        const info = Object.fromEntries(Array.from({ length: g.length / 2 }, (_, i) => [String(g[2 * i]), g[2 * i + 1]]));
        if (info.name === this.opts.group && typeof info.lag === 'number') out.push({ stream, lag: info.lag });
      }
    }
    return out;
  }

  async start(): Promise<void> {
    if (this.running) return;
    await this.ensureGroups();
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.sleeper.wake();
    await this.loop;
    this.loop = undefined;
    await this.forgetSelfIfIdle();
  }

  /** Groups start at id 0, so events published before the consumer first ran are not skipped. */
  async ensureGroups(): Promise<void> {
    for (const stream of this.streams) {
      try {
        await this.redis.call('XGROUP', 'CREATE', stream, this.opts.group, '0', 'MKSTREAM');
      } catch (err) {
        if (!/BUSYGROUP/.test(errorInfo(err).error)) throw err;
      }
    }
  }

  private get redis(): Redis {
    return this.opts.redis;
  }

  private async run(): Promise<void> {
    let ownPendingDone = false;
    while (this.running) {
      try {
        // Entries this consumer name read but never acked in a previous life (stable pod names).
        if (!ownPendingDone) {
          await this.processOwnPending();
          ownPendingDone = true;
        }
        if (Date.now() - this.lastClaimAt >= this.opts.claimIntervalMs) {
          this.lastClaimAt = Date.now();
          await this.claimIdle();
        }
        await this.pollOnce(this.opts.blockMs);
      } catch (err) {
        this.logger.error('event consumer loop failed', { group: this.opts.group, consumer: this.consumerName, ...errorInfo(err) });
        // After a Redis data loss the streams and groups are gone; recreate them from id 0.
        if (/NOGROUP/.test(errorInfo(err).error)) await this.ensureGroups().catch(() => undefined);
        if (this.running) await this.sleeper.sleep(this.opts.retryDelayMs);
      }
    }
  }

  /** Reads new entries once (blocking up to blockMs when > 0) and handles them; returns how many. */
  async pollOnce(blockMs = 0): Promise<number> {
    const block = blockMs > 0 ? ['BLOCK', blockMs] : [];
    const reply = (await this.redis.call(
      'XREADGROUP',
      'GROUP',
      this.opts.group,
      this.consumerName,
      'COUNT',
      this.opts.batchSize,
      ...block,
      'STREAMS',
      ...this.streams,
      ...this.streams.map(() => '>'),
    )) as ReadReply;
    let n = 0;
    for (const [stream, entries] of reply ?? []) n += await this.handleEntries(stream, entries);
    return n;
  }

  async processOwnPending(): Promise<number> {
    let n = 0;
    for (const stream of this.streams) {
      let after = '0';
      for (;;) {
        const { group, batchSize } = this.opts;
        const reply = await this.redis.call('XREADGROUP', 'GROUP', group, this.consumerName, 'COUNT', batchSize, 'STREAMS', stream, after);
        const entries = (reply as ReadReply)?.[0]?.[1] ?? [];
        if (entries.length === 0) break;
        const handled = await this.handleEntries(stream, entries);
        n += handled;
        if (handled < entries.length) return n;
        after = entries[entries.length - 1]![0];
      }
    }
    return n;
  }

  /** Takes over entries idle longer than claimIdleMs (dead consumers, earlier failures) and handles them. */
  async claimIdle(): Promise<number> {
    let n = 0;
    for (const stream of this.streams) {
      let cursor = '0-0';
      do {
        const { group, claimIdleMs, batchSize } = this.opts;
        const reply = await this.redis.call('XAUTOCLAIM', stream, group, this.consumerName, claimIdleMs, cursor, 'COUNT', batchSize);
        const [next, entries] = reply as [string, Entry[]];
        const handled = await this.handleEntries(stream, entries);
        n += handled;
        if (handled < entries.length) return n;
        cursor = next;
      } while (cursor !== '0-0');
    }
    return n;
  }

  /** Handles entries in order; stops early (returning the count done) after an outage-type failure. */
  private async handleEntries(stream: string, entries: Entry[]): Promise<number> {
    let n = 0;
    for (const [id, fields] of entries) {
      const outcome = await this.handleEntry(stream, id, fields);
      this.consumed?.inc({ group: this.opts.group, outcome });
      if (outcome === 'retry') {
        // The rest stay pending and come back through XAUTOCLAIM once the outage is over.
        if (this.running) await this.sleeper.sleep(this.opts.retryDelayMs);
        return n;
      }
      n += 1;
    }
    return n;
  }

  async handleEntry(stream: string, id: string, fields: string[] | null): Promise<ConsumeOutcome> {
    // A pending entry whose message was trimmed from the stream: nothing left to handle.
    if (!fields) {
      await this.ack(stream, id);
      return 'ignored';
    }
    const raw = fieldValue(fields, 'event');
    let event: EventEnvelope;
    try {
      event = parseEnvelope(raw);
    } catch (err) {
      await this.deadLetter(stream, id, raw ?? '', err, 0);
      this.logger.error('invalid event sent to the dead-letter stream', { stream, messageId: id, ...errorInfo(err) });
      return 'dead-lettered';
    }
    const handler = Object.hasOwn(this.opts.handlers, event.type) ? this.opts.handlers[event.type] : undefined;
    if (!handler) {
      await this.ack(stream, id);
      return 'ignored';
    }

    const log = this.logger.child({
      requestId: event.requestId ?? undefined,
      eventId: event.id,
      eventType: event.type,
      tenantId: event.tenantId,
      stream,
      messageId: id,
    });
    let handled: boolean;
    try {
      handled = await runWithContext({ requestId: event.requestId ?? event.id, tenantId: event.tenantId }, () =>
        withTenant(this.opts.pool, event.tenantId, async (client) => {
          const { rowCount } = await client.query(
            `INSERT INTO ${this.inbox} (consumer, event_id, tenant_id, type) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
            [this.opts.group, event.id, event.tenantId, event.type],
          );
          if (rowCount === 0) return false;
          await handler(event, client);
          return true;
        }),
      );
    } catch (err) {
      return this.onFailure(stream, id, raw!, err, log);
    }
    // Acked only after the commit: a crash in between means a redelivery, which the inbox absorbs.
    await this.ack(stream, id);
    if (handled) log.debug('event handled');
    else log.info('duplicate event skipped');
    return handled ? 'handled' : 'duplicate';
  }

  private async onFailure(stream: string, id: string, raw: string, err: unknown, log: Logger): Promise<ConsumeOutcome> {
    if (isTransientError(err)) {
      log.warn('event handler hit an outage; will retry', errorInfo(err));
      return 'retry';
    }
    const failures = await this.redis.hincrby(failuresKey(stream, this.opts.group), id, 1);
    if (failures >= this.opts.maxDeliveries) {
      await this.deadLetter(stream, id, raw, err, failures);
      log.error('event handler failed; sent to the dead-letter stream', { failures, ...errorInfo(err) });
      return 'dead-lettered';
    }
    log.warn('event handler failed; will retry', { failures, ...errorInfo(err) });
    return 'failed';
  }

  private async ack(stream: string, id: string): Promise<void> {
    await execAll(this.redis.multi().xack(stream, this.opts.group, id).hdel(failuresKey(stream, this.opts.group), id));
  }

  private async deadLetter(stream: string, id: string, raw: string, err: unknown, failures: number): Promise<void> {
    const { group } = this.opts;
    const fields = {
      event: raw,
      stream,
      messageId: id,
      group,
      consumer: this.consumerName,
      error: errorInfo(err).error,
      failures: String(failures),
      failedAt: new Date().toISOString(),
    };
    // One MULTI, so a message is never both dead-lettered and still pending, nor acked and lost.
    await execAll(
      this.redis
        .multi()
        .xadd(dlqStream(stream), '*', ...Object.entries(fields).flat())
        .xack(stream, group, id)
        .hdel(failuresKey(stream, group), id),
    );
  }

  // Consumer names are random per process, so without this the group collects dead names forever.
  private async forgetSelfIfIdle(): Promise<void> {
    try {
      for (const stream of this.streams) {
        const pending = (await this.redis.call('XPENDING', stream, this.opts.group, '-', '+', 1, this.consumerName)) as unknown[];
        if (pending.length === 0) await this.redis.call('XGROUP', 'DELCONSUMER', stream, this.opts.group, this.consumerName);
      }
    } catch (err) {
      this.logger.warn('could not remove consumer from its group', errorInfo(err));
    }
  }
}

function fieldValue(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

function parseEnvelope(raw: string | undefined): EventEnvelope {
  if (raw === undefined) throw new InvalidEventError('stream entry has no "event" field');
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new InvalidEventError('event is not JSON');
  }
  const envelope = EventEnvelopeSchema.safeParse(json);
  if (!envelope.success) throw new InvalidEventError('invalid event envelope', envelope.error.issues);
  const dataSchema = dataSchemaFor(envelope.data.type);
  const data = dataSchema?.safeParse(envelope.data.data);
  if (data && !data.success) throw new InvalidEventError(`data of ${envelope.data.type} event does not match its schema`, data.error.issues);
  // The handler gets the event as published, not the schema's stripped copy.
  return envelope.data;
}

// One set of metrics per registry, shared by the consumers registered on it (names must be unique).
const consumersByRegistry = new WeakMap<Registry, { counter: Counter<'group' | 'outcome'>; members: Set<EventConsumer> }>();

function consumerMetrics(registry: Registry, consumer: EventConsumer): Counter<'group' | 'outcome'> {
  let entry = consumersByRegistry.get(registry);
  if (!entry) {
    const members = new Set<EventConsumer>();
    const counter = new Counter({ name: 'events_consumed_total', help: 'Events read from the streams, by consumer group and outcome', labelNames: ['group', 'outcome'], registers: [registry] });
    new Gauge({
      name: 'events_consumer_lag',
      help: 'Stream entries not yet delivered to the consumer group',
      labelNames: ['group', 'stream'],
      registers: [registry],
      async collect() {
        for (const c of members) {
          for (const { stream, lag } of await c.lag().catch(() => [])) this.set({ group: c.group, stream }, lag);
        }
      },
    });
    entry = { counter, members };
    consumersByRegistry.set(registry, entry);
  }
  entry.members.add(consumer);
  return entry.counter;
}
