import type { Registry } from 'prom-client';
import type { Redis } from 'ioredis';
import type { Pool } from '@pos/database';
import { EventConsumer, type EventHandler } from '@pos/events';
import { upsertFact, withMongoOutage, type Db } from '@pos/mongo';
import { findStore } from '@pos/stores';
import { EVENTS } from '@pos/types';
import type { Logger } from '@pos/utils';
import { SCHEMA } from '../deps';
import { SALES_ANALYTICS, saleEventStoreId, salesFact, type SalesFact } from './sales-facts';

/**
 * sale.completed / sale.refunded / sale.voided -> one fact each in `sales_analytics`, written with an
 * upsert on factId(event.id) and `$setOnInsert`: a redelivered event is counted once. The store's time
 * zone comes from this service's store projection (same transaction as the inbox row). A MongoDB
 * outage is a transient error: the event stays pending and is retried, never dead-lettered.
 */
export function analyticsHandlers(db: Db, logger?: Logger): Record<string, EventHandler> {
  const collection = db.collection<SalesFact>(SALES_ANALYTICS);
  const handler: EventHandler = async (event, client) => {
    const storeId = saleEventStoreId(event);
    const store = storeId ? await findStore(client, SCHEMA, event.tenantId, storeId) : undefined;
    if (!store) logger?.warn('store not in the projection; sales fact uses UTC for its hour', { storeId, eventId: event.id });
    const fact = salesFact(event, store?.timezone ?? 'UTC');
    if (!fact) return;
    await withMongoOutage('writing sales analytics', () => upsertFact(collection, event.id, fact));
  };
  return { [EVENTS.saleCompleted]: handler, [EVENTS.saleRefunded]: handler, [EVENTS.saleVoided]: handler };
}

export interface AnalyticsConsumerOptions {
  /** A dedicated connection (XREADGROUP BLOCK holds it); `maxRetriesPerRequest: null`. */
  redis: Redis;
  pool: Pool;
  db: Db;
  logger?: Logger;
  streamPrefix?: string;
  claimIdleMs?: number;
  retryDelayMs?: number;
  blockMs?: number;
  consumerName?: string;
  /** Exports events_consumed_total and events_consumer_lag for this group. */
  registry?: Registry;
}

/** transaction-service's consumer group on its own stream, feeding `sales_analytics`. */
export function createAnalyticsConsumer(options: AnalyticsConsumerOptions): EventConsumer {
  return new EventConsumer({
    redis: options.redis,
    pool: options.pool,
    schema: SCHEMA,
    group: 'transaction-service',
    consumerName: options.consumerName,
    streams: ['transaction-service'],
    streamPrefix: options.streamPrefix,
    handlers: analyticsHandlers(options.db, options.logger),
    claimIdleMs: options.claimIdleMs ?? 15_000,
    retryDelayMs: options.retryDelayMs ?? 1_000,
    blockMs: options.blockMs,
    logger: options.logger,
    registry: options.registry,
  });
}

/** Indexes for the report queries. Best effort: never fails start-up. */
export async function ensureAnalyticsIndexes(db: Db, logger?: Logger): Promise<void> {
  try {
    await db.collection(SALES_ANALYTICS).createIndex({ tenantId: 1, storeId: 1, businessDate: 1 });
    await db.collection(SALES_ANALYTICS).createIndex({ tenantId: 1, businessDate: 1 });
  } catch (err) {
    logger?.warn('could not create sales_analytics indexes (will work without them)', { err: (err as Error).message });
  }
}
