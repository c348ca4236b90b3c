import { Redis } from 'ioredis';
import { createPool } from '@pos/database';
import { OutboxRelay } from '@pos/events';
import { startServer } from '@pos/http';
import { createServiceLogger, describeMongoUri } from '@pos/mongo';
import { ConfigError, loadConfig } from '@pos/utils';
import { authConfigSchema } from './config';
import { buildDeps, closeDeps } from './build-deps';
import { createApp } from './app';
import { SCHEMA } from './deps';
import { createAuditConsumer, ensureAuditIndexes } from './audit/audit-consumer';

async function main(): Promise<void> {
  const config = loadConfig(authConfigSchema);
  const { logger, close: closeLogs } = createServiceLogger('auth-service', config);
  const deps = await buildDeps(config, logger);
  const service = createApp(deps);

  const workerPool = createPool({ connectionString: config.WORKER_DATABASE_URL, max: 2, applicationName: 'auth-service-relay' });
  const relayRedis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2 });
  relayRedis.on('error', () => undefined);
  const relay = new OutboxRelay({ pool: workerPool, redis: relayRedis, schema: SCHEMA, service: 'auth-service', logger, registry: service.metrics });
  relay.start();

  // The audit trail: every service's events -> MongoDB audit_trail. Requests never wait for it; while
  // MongoDB is down the events stay pending in Redis and are written once it is back.
  const consumerRedis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
  consumerRedis.on('error', () => undefined);
  const audit = config.AUDIT_CONSUMER_ENABLED ? createAuditConsumer({ redis: consumerRedis, pool: deps.pool, db: deps.mongo.db, logger, registry: service.metrics }) : undefined;
  logger.info('MongoDB for the audit trail', { mongodb: describeMongoUri(config.MONGODB_URI), db: config.MONGODB_DB, auditConsumer: Boolean(audit), logToMongo: config.LOG_TO_MONGO });
  void ensureAuditIndexes(deps.mongo.db, logger);
  await audit?.start();

  await startServer(service.app, {
    name: 'auth-service',
    port: config.PORT,
    logger,
    onDrain: () => service.setDraining(),
    onClose: async () => {
      await Promise.allSettled([relay.stop(), audit?.stop()]);
      await Promise.allSettled([workerPool.end(), relayRedis.quit(), consumerRedis.quit()]);
      await closeDeps(deps);
      await closeLogs();
    },
  });
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(`auth-service: ${err.message}`);
  else console.error('auth-service failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
