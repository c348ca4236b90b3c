import { Redis } from 'ioredis';
import { createPool } from '@pos/database';
import { OutboxRelay } from '@pos/events';
import { startServer } from '@pos/http';
import { createServiceLogger } from '@pos/mongo';
import { ConfigError, loadConfig } from '@pos/utils';
import { configSchema } from './config';
import { buildDeps, closeDeps } from './build-deps';
import { createApp } from './app';
import { SCHEMA } from './data/schema';

async function main(): Promise<void> {
  const config = loadConfig(configSchema);
  const { logger, close: closeLogs } = createServiceLogger('payment-service', config);
  const deps = await buildDeps(config, logger);
  const service = createApp(deps);

  // payment.captured / payment.refunded / payment.failed leave through the outbox.
  const workerPool = createPool({ connectionString: config.WORKER_DATABASE_URL, max: 2, applicationName: 'payment-service-relay' });
  const relayRedis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2 });
  relayRedis.on('error', () => undefined);
  const relay = new OutboxRelay({ pool: workerPool, redis: relayRedis, schema: SCHEMA, service: 'payment-service', logger, registry: service.metrics });
  relay.start();

  await startServer(service.app, {
    name: 'payment-service',
    port: config.PORT,
    logger,
    onDrain: () => service.setDraining(),
    onClose: async () => {
      await Promise.allSettled([relay.stop()]);
      await Promise.allSettled([workerPool.end(), relayRedis.quit()]);
      await closeDeps(deps);
      await closeLogs();
    },
  });
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(`payment-service: ${err.message}`);
  else console.error('payment-service failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
