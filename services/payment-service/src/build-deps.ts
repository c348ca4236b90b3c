import { Redis } from 'ioredis';
import { createPool } from '@pos/database';
import { createTokenVerifier } from '@pos/http';
import { createLogger, type Logger } from '@pos/utils';
import { jwksUrl, type PaymentConfig } from './config';
import type { PaymentDeps } from './deps';
import { createProcessor } from './processor';
import { CustomerServiceLoyalty } from './loyalty/customer-loyalty';

export type BuiltDeps = PaymentDeps;

export async function buildDeps(config: PaymentConfig, logger: Logger = createLogger({ service: 'payment-service', level: config.LOG_LEVEL })): Promise<BuiltDeps> {
  const pool = createPool({ connectionString: config.DATABASE_URL, applicationName: 'payment-service', max: 20 });
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2 });
  redis.on('error', (err) => logger.warn('redis error', { err: err.message }));
  if (config.PAYMENT_PROCESSOR === 'simulator' && config.NODE_ENV === 'production') {
    logger.warn('PAYMENT_PROCESSOR=simulator: card payments are SIMULATED (test mode), no money moves');
  }
  return {
    config,
    logger,
    pool,
    redis,
    processor: createProcessor(config, redis),
    loyalty: CustomerServiceLoyalty.fromConfig(config),
    verifier: createTokenVerifier({ issuer: config.JWT_ISSUER, jwksUrl: jwksUrl(config) }),
  };
}

export async function closeDeps(deps: BuiltDeps): Promise<void> {
  await Promise.allSettled([deps.pool.end(), deps.redis.quit()]);
}
