import { Redis } from 'ioredis';
import { startServer } from '@pos/http';
import { ConfigError, createLogger } from '@pos/utils';
import { createGatewayApp } from './app';
import { loadGatewayConfig } from './config';

async function main(): Promise<void> {
  const config = loadGatewayConfig();
  const logger = createLogger({ service: 'api-gateway', level: config.LOG_LEVEL });
  // Few retries: a rate-limit check waiting on a dead Redis would stall every request, and the
  // limiters let requests pass when Redis does not answer.
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1, connectTimeout: 2_000 });
  redis.on('error', (err: Error) => logger.warn('redis error', { err: err.message }));
  const subscriber = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
  subscriber.on('error', (err: Error) => logger.warn('redis subscriber error', { err: err.message }));
  const gateway = createGatewayApp({ config, logger, redis, subscriber });

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
      await Promise.allSettled([redis.quit(), subscriber.quit()]);
    },
  });
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(`api-gateway: ${err.message}`);
  else console.error('api-gateway failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
