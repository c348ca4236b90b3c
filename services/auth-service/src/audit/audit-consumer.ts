import type { Registry } from 'prom-client';
import type { Redis } from 'ioredis';
import type { Pool } from '@pos/database';
import { EventConsumer, type EventHandler } from '@pos/events';
import { upsertFact, withMongoOutage, type Db } from '@pos/mongo';
import { EVENTS } from '@pos/types';
import type { Logger } from '@pos/utils';
import { SCHEMA } from '../deps';
import { AUDIT_TRAIL, AUDITED_SERVICES, auditRecord, type AuditRecord } from './audit-record';

/**
 * Handlers for every known event type: each event becomes one audit fact, written with an upsert on
 * factId(event.id) and `$setOnInsert`, so a redelivered event changes nothing. A MongoDB outage is
 * thrown as a transient error: the consumer leaves the message pending and retries it later, and it
 * never counts toward the dead-letter stream. Requests never wait for any of this.
 */
export function auditHandlers(db: Db): Record<string, EventHandler> {
  const collection = db.collection<AuditRecord>(AUDIT_TRAIL);
  const handler: EventHandler = async (event) => {
    await withMongoOutage('writing the audit trail', () => upsertFact(collection, event.id, auditRecord(event)));
  };
  return Object.fromEntries(Object.values(EVENTS).map((type) => [type, handler]));
}

export interface AuditConsumerOptions {
  /** A dedicated connection (XREADGROUP BLOCK holds it); `maxRetriesPerRequest: null`. */
  redis: Redis;
  /** auth-service's app pool: the consumer's inbox (auth.inbox) lives there. */
  pool: Pool;
  db: Db;
  logger?: Logger;
  streamPrefix?: string;
  /** Pending entries (left by an outage or a dead replica) are retried after this long idle. */
  claimIdleMs?: number;
  retryDelayMs?: number;
  blockMs?: number;
  consumerName?: string;
  /** Exports events_consumed_total and events_consumer_lag for this group. */
  registry?: Registry;
}

/** The audit consumer: auth-service's consumer group on every service's event stream. */
export function createAuditConsumer(options: AuditConsumerOptions): EventConsumer {
  return new EventConsumer({
    redis: options.redis,
    pool: options.pool,
    schema: SCHEMA,
    group: 'auth-service',
    consumerName: options.consumerName,
    streams: [...AUDITED_SERVICES],
    streamPrefix: options.streamPrefix,
    handlers: auditHandlers(options.db),
    claimIdleMs: options.claimIdleMs ?? 15_000,
    retryDelayMs: options.retryDelayMs ?? 1_000,
    blockMs: options.blockMs,
    logger: options.logger,
    registry: options.registry,
  });
}

/** Indexes for the audit queries (tenant + time, actor, action, resource). Best effort: never fails start-up. */
export async function ensureAuditIndexes(db: Db, logger?: Logger): Promise<void> {
  const c = db.collection(AUDIT_TRAIL);
  try {
    await c.createIndex({ tenantId: 1, occurredAt: -1, _id: -1 });
    await c.createIndex({ tenantId: 1, 'actor.id': 1, occurredAt: -1 });
    await c.createIndex({ tenantId: 1, action: 1, occurredAt: -1 });
    await c.createIndex({ tenantId: 1, 'resource.type': 1, 'resource.id': 1, occurredAt: -1 });
  } catch (err) {
    logger?.warn('could not create audit_trail indexes (will work without them)', { err: (err as Error).message });
  }
}
