import { Redis } from 'ioredis';
import { createPool } from '@pos/database';
import { connectMongo } from '@pos/mongo';
import { ServiceClient, ServiceTokens, createTokenVerifier } from '@pos/http';
import { StoreDirectory } from '@pos/stores';
import { createLogger, type Logger } from '@pos/utils';
import { jwksUrl, type TransactionConfig } from './config';
import { SCHEMA, type TransactionDeps } from './deps';
import { UserDirectory } from './user-directory';

export function buildDeps(config: TransactionConfig, logger: Logger = createLogger({ service: 'transaction-service', level: config.LOG_LEVEL }), fetchImpl: typeof fetch = fetch): TransactionDeps {
  const pool = createPool({ connectionString: config.DATABASE_URL, applicationName: 'transaction-service', max: 20 });
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2 });
  redis.on('error', (err) => logger.warn('redis error', { err: err.message }));
  const tokens = new ServiceTokens({ authServiceUrl: config.AUTH_SERVICE_URL, clientId: config.SERVICE_CLIENT_ID, clientSecret: config.SERVICE_CLIENT_SECRET, fetchImpl });
  return {
    config,
    logger,
    pool,
    redis,
    verifier: createTokenVerifier({ issuer: config.JWT_ISSUER, jwksUrl: jwksUrl(config) }),
    stores: new StoreDirectory(pool, SCHEMA, config.AUTH_SERVICE_URL, fetchImpl),
    users: new UserDirectory(config.AUTH_SERVICE_URL, fetchImpl),
    inventory: new ServiceClient(config.INVENTORY_SERVICE_URL, tokens, fetchImpl),
    payments: new ServiceClient(config.PAYMENT_SERVICE_URL, tokens, fetchImpl),
    mongo: connectMongo(config.MONGODB_URI, config.MONGODB_DB, { appName: 'transaction-service', logger }),
  };
}

export async function closeDeps(deps: TransactionDeps): Promise<void> {
  await Promise.allSettled([deps.pool.end(), deps.redis.quit(), deps.mongo.close()]);
}
