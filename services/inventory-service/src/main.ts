import { Redis } from 'ioredis';
import { createPool } from '@pos/database';
import { EventConsumer, OutboxRelay } from '@pos/events';
import { startServer } from '@pos/http';
import { createServiceLogger } from '@pos/mongo';
import { ConfigError, loadConfig } from '@pos/utils';
import { configSchema } from './config';
import { buildDeps, closeDeps } from './build-deps';
import { createApp } from './app';
import { SCHEMA } from './stock-ledger';
import { storeEventHandlers } from '@pos/stores';

async function main(): Promise<void> {
  const config = loadConfig(configSchema);
  const { logger, close: closeLogs } = createServiceLogger('inventory-service', config);
  const deps = await buildDeps(config, logger);
  const service = createApp(deps);

  const workerPool = createPool({ connectionString: config.WORKER_DATABASE_URL, max: 2, applicationName: 'inventory-service-relay' });
  const relayRedis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2 });
  const consumerRedis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
  for (const r of [relayRedis, consumerRedis]) r.on('error', () => undefined);
  const relay = new OutboxRelay({ pool: workerPool, redis: relayRedis, schema: SCHEMA, service: 'inventory-service', logger, registry: service.metrics });
  const consumer = new EventConsumer({ redis: consumerRedis, pool: deps.pool, schema: SCHEMA, group: 'inventory-service', streams: ['auth-service'], handlers: storeEventHandlers(SCHEMA), logger, registry: service.metrics });
  relay.start();
  await consumer.start();

  await startServer(service.app, {
    name: 'inventory-service',
    port: config.PORT,
    logger,
    onDrain: () => service.setDraining(),
    onClose: async () => {
      await Promise.allSettled([relay.stop(), consumer.stop()]);
      await Promise.allSettled([workerPool.end(), relayRedis.quit(), consumerRedis.quit()]);
      await closeDeps(deps);
      await closeLogs();
    },
  });
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(`inventory-service: ${err.message}`);
  else console.error('inventory-service failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
