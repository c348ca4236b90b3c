import { Redis } from 'ioredis';
import { createPool } from '@pos/database';
import { EventConsumer, OutboxRelay } from '@pos/events';
import { startServer } from '@pos/http';
import { createServiceLogger, describeMongoUri } from '@pos/mongo';
import { storeEventHandlers } from '@pos/stores';
import { ConfigError, loadConfig } from '@pos/utils';
import { configSchema } from './config';
import { buildDeps, closeDeps } from './build-deps';
import { createApp } from './app';
import { Checkout } from './checkout';
import { Refunds } from './refunds';
import { RecoverySweep } from './recovery-sweep';
import { SCHEMA } from './deps';
import { createAnalyticsConsumer, ensureAnalyticsIndexes } from './analytics/analytics-consumer';

async function main(): Promise<void> {
  const config = loadConfig(configSchema);
  const { logger, close: closeLogs } = createServiceLogger('transaction-service', config);
  const deps = buildDeps(config, logger);
  const checkout = new Checkout(deps);
  const refunds = new Refunds(deps);
  const service = createApp(deps, checkout, refunds);

  const workerPool = createPool({ connectionString: config.WORKER_DATABASE_URL, max: 3, applicationName: 'transaction-service-worker' });
  const relayRedis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2 });
  const consumerRedis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
  // Its own connection: while MongoDB is down it retries, and store events must not wait behind it.
  const analyticsRedis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
  for (const r of [relayRedis, consumerRedis, analyticsRedis]) r.on('error', () => undefined);
  const relay = new OutboxRelay({ pool: workerPool, redis: relayRedis, schema: SCHEMA, service: 'transaction-service', logger, registry: service.metrics });
  const consumer = new EventConsumer({ redis: consumerRedis, pool: deps.pool, schema: SCHEMA, group: 'transaction-service', streams: ['auth-service'], handlers: storeEventHandlers(SCHEMA), logger, registry: service.metrics });
  const sweep = new RecoverySweep({ workerPool, pool: deps.pool, checkout, refunds, leaseSeconds: config.SALE_LEASE_SECONDS, intervalMs: config.SWEEP_INTERVAL_MS, logger });
  const analytics = config.ANALYTICS_CONSUMER_ENABLED ? createAnalyticsConsumer({ redis: analyticsRedis, pool: deps.pool, db: deps.mongo.db, logger, registry: service.metrics }) : undefined;
  logger.info('MongoDB for sales analytics', { mongodb: describeMongoUri(config.MONGODB_URI), db: config.MONGODB_DB, analyticsConsumer: Boolean(analytics), logToMongo: config.LOG_TO_MONGO });
  void ensureAnalyticsIndexes(deps.mongo.db, logger);
  relay.start();
  await consumer.start();
  await analytics?.start();
  sweep.start();

  await startServer(service.app, {
    name: 'transaction-service',
    port: config.PORT,
    logger,
    onDrain: () => service.setDraining(),
    onClose: async () => {
      await Promise.allSettled([relay.stop(), consumer.stop(), analytics?.stop(), sweep.stop()]);
      await Promise.allSettled([workerPool.end(), relayRedis.quit(), consumerRedis.quit(), analyticsRedis.quit()]);
      await closeDeps(deps);
      await closeLogs();
    },
  });
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(`transaction-service: ${err.message}`);
  else console.error('transaction-service failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
