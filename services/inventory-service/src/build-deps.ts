import { Redis } from 'ioredis';
import { createPool } from '@pos/database';
import { createTokenVerifier } from '@pos/http';
import { createLogger, type Logger } from '@pos/utils';
import { jwksUrl, type InventoryConfig } from './config';
import type { InventoryDeps } from './deps';
import { LookupCache } from './lookup-cache';
import { SCHEMA } from './stock-ledger';
import { StoreDirectory } from '@pos/stores';

export interface BuiltDeps extends InventoryDeps {
  /** Dedicated connection for cache invalidations (a subscribed connection can do nothing else). */
  subscriber: Redis;
}

export async function buildDeps(config: InventoryConfig, logger: Logger = createLogger({ service: 'inventory-service', level: config.LOG_LEVEL })): Promise<BuiltDeps> {
  const pool = createPool({ connectionString: config.DATABASE_URL, applicationName: 'inventory-service', max: 20 });
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2 });
  const subscriber = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
  for (const r of [redis, subscriber]) r.on('error', (err) => logger.warn('redis error', { err: err.message }));
  const cache = new LookupCache(redis, { ttlSeconds: config.LOOKUP_CACHE_TTL_SECONDS, localTtlMs: config.LOOKUP_LOCAL_TTL_MS, logger });
  await cache.listen(subscriber);
  return {
    config,
    logger,
    pool,
    redis,
    subscriber,
    cache,
    verifier: createTokenVerifier({ issuer: config.JWT_ISSUER, jwksUrl: jwksUrl(config) }),
    stores: new StoreDirectory(pool, SCHEMA, config.AUTH_SERVICE_URL),
  };
}

export async function closeDeps(deps: BuiltDeps): Promise<void> {
  await Promise.allSettled([deps.pool.end(), deps.redis.quit(), deps.subscriber.quit()]);
}
