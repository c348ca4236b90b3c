import { Redis } from 'ioredis';
import { createPool } from '@pos/database';
import { createTokenVerifier } from '@pos/http';
import { createLogger, type Logger } from '@pos/utils';
import { jwksUrl, type CustomerConfig } from './config';
import { SERVICE, type CustomerDeps } from './deps';

export async function buildDeps(config: CustomerConfig, logger: Logger = createLogger({ service: SERVICE, level: config.LOG_LEVEL })): Promise<CustomerDeps> {
  const pool = createPool({ connectionString: config.DATABASE_URL, applicationName: SERVICE, max: 20 });
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2 });
  redis.on('error', (err) => logger.warn('redis error', { err: err.message }));
  return {
    config,
    logger,
    pool,
    redis,
    verifier: createTokenVerifier({ issuer: config.JWT_ISSUER, jwksUrl: jwksUrl(config) }),
  };
}

export async function closeDeps(deps: CustomerDeps): Promise<void> {
  await Promise.allSettled([deps.pool.end(), deps.redis.quit()]);
}
