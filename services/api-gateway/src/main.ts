import { Redis } from 'ioredis';
import { startServer } from '@pos/http';
import { connectMongo, createServiceLogger, describeMongoUri } from '@pos/mongo';
import { ConfigError } from '@pos/utils';
import { API_USAGE, ApiUsageRecorder, ensureApiUsageIndexes, type ApiUsageDocument } from './api-usage';
import { createGatewayApp } from './app';
import { loadGatewayConfig } from './config';

async function main(): Promise<void> {
  const config = loadGatewayConfig();
  const { logger, close: closeLogs } = createServiceLogger('api-gateway', config);
  // Few retries: a rate-limit check waiting on a dead Redis would stall every request, and the
  // limiters let requests pass when Redis does not answer.
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1, connectTimeout: 2_000 });
  redis.on('error', (err: Error) => logger.warn('redis error', { err: err.message }));
  const subscriber = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
  subscriber.on('error', (err: Error) => logger.warn('redis subscriber error', { err: err.message }));
  // api_usage: counts are aggregated in memory and written in one bulkWrite per API_USAGE_FLUSH_MS;
  // requests never wait for MongoDB, and while it is down the counts are kept (bounded) and retried.
  const mongo = config.API_USAGE_ENABLED ? connectMongo(config.MONGODB_URI, config.MONGODB_DB, { appName: 'api-gateway', logger }) : undefined;
  const usage = mongo && new ApiUsageRecorder({ collection: mongo.db.collection<ApiUsageDocument>(API_USAGE), flushIntervalMs: config.API_USAGE_FLUSH_MS, logger });
  logger.info('API usage recording', {
    enabled: Boolean(usage),
    ...(mongo && { mongodb: describeMongoUri(config.MONGODB_URI), db: config.MONGODB_DB, flushMs: config.API_USAGE_FLUSH_MS }),
  });
  if (mongo) void ensureApiUsageIndexes(mongo.db, logger);
  const gateway = createGatewayApp({ config, logger, redis, subscriber, usage });

  await startServer(gateway.app, {
    name: 'api-gateway',
    port: config.PORT,
    logger,
    onDrain: () => {
      gateway.setDraining();
      gateway.closeLive();
    },
    onClose: async () => {
      gateway.close();
      // The last counts are written after the server stopped taking requests.
      await usage?.close();
      await Promise.allSettled([redis.quit(), subscriber.quit(), mongo?.close()]);
      await closeLogs();
    },
  });
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(`api-gateway: ${err.message}`);
  else console.error('api-gateway failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
