import { Redis } from 'ioredis';
import { createPool } from '@pos/database';
import { EventConsumer, OutboxRelay } from '@pos/events';
import { startServer } from '@pos/http';
import { createServiceLogger } from '@pos/mongo';
import { ConfigError, loadConfig } from '@pos/utils';
import { configSchema } from './config';
import { buildDeps, closeDeps } from './build-deps';
import { createApp } from './app';
import { DeliveryWorker } from './delivery-worker';
import { CONSUMED_STREAMS, CONSUMER_GROUP, notificationEventHandlers } from './events/handlers';
import { SCHEMA } from './schema';

async function main(): Promise<void> {
  const config = loadConfig(configSchema);
  const { logger, close: closeLogs } = createServiceLogger('notification-service', config);
  const deps = await buildDeps(config, logger);
  const service = createApp(deps);

  // The worker claims due deliveries of every tenant: worker role (BYPASSRLS), serves no requests.
  const workerPool = createPool({ connectionString: config.WORKER_DATABASE_URL, max: Math.max(3, config.DELIVERY_CONCURRENCY + 1), applicationName: 'notification-service-worker' });
  const consumerRedis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
  const relayRedis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2 });
  for (const r of [consumerRedis, relayRedis]) r.on('error', () => undefined);
  // Its outbox holds the audit records of its writes (templates, settings, subscriptions, sends).
  const relay = new OutboxRelay({ pool: workerPool, redis: relayRedis, schema: SCHEMA, service: 'notification-service', logger, registry: service.metrics });
  const worker = new DeliveryWorker({ pool: workerPool, config, email: deps.email, sms: deps.sms, push: deps.push, contacts: deps.contacts, logger, registry: service.metrics });
  deps.onQueued = () => worker.wake();
  const consumer = new EventConsumer({
    redis: consumerRedis,
    pool: deps.pool,
    schema: SCHEMA,
    group: CONSUMER_GROUP,
    streams: CONSUMED_STREAMS,
    handlers: notificationEventHandlers({ config, logger, onQueued: () => worker.wake() }),
    logger,
    registry: service.metrics,
  });
  worker.start();
  relay.start();
  await consumer.start();

  await startServer(service.app, {
    name: 'notification-service',
    port: config.PORT,
    logger,
    onDrain: () => service.setDraining(),
    onClose: async () => {
      await Promise.allSettled([worker.stop(), consumer.stop(), relay.stop()]);
      await Promise.allSettled([workerPool.end(), consumerRedis.quit(), relayRedis.quit()]);
      await closeDeps(deps);
      await closeLogs();
    },
  });
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(`notification-service: ${err.message}`);
  else console.error('notification-service failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
