import { Redis } from 'ioredis';
import { createPool } from '@pos/database';
import { OutboxRelay } from '@pos/events';
import { startServer } from '@pos/http';
import { ConfigError, createLogger, loadConfig } from '@pos/utils';
import { authConfigSchema } from './config';
import { buildDeps, closeDeps } from './build-deps';
import { createApp } from './app';
import { SCHEMA } from './deps';

async function main(): Promise<void> {
  const config = loadConfig(authConfigSchema);
  const logger = createLogger({ service: 'auth-service', level: config.LOG_LEVEL });
  const deps = await buildDeps(config, logger);
  const service = createApp(deps);

  const workerPool = createPool({ connectionString: config.WORKER_DATABASE_URL, max: 2, applicationName: 'auth-service-relay' });
  const relayRedis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2 });
  relayRedis.on('error', () => undefined);
  const relay = new OutboxRelay({ pool: workerPool, redis: relayRedis, schema: SCHEMA, service: 'auth-service', logger, registry: service.metrics });
  relay.start();

  await startServer(service.app, {
    name: 'auth-service',
    port: config.PORT,
    logger,
    onDrain: () => service.setDraining(),
    onClose: async () => {
      await relay.stop();
      await Promise.allSettled([workerPool.end(), relayRedis.quit()]);
      await closeDeps(deps);
    },
  });
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(`auth-service: ${err.message}`);
  else console.error('auth-service failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
