import { Redis } from 'ioredis';
import { createPool } from '@pos/database';
import { connectMongo } from '@pos/mongo';
import { createTokenVerifier } from '@pos/http';
import { createLogger, type Logger } from '@pos/utils';
import type { AuthConfig } from './config';
import type { AuthDeps } from './deps';
import { createPasswordHasher } from './domain/passwords';
import { KeyStore } from './keys/key-store';
import { SessionIssuer } from './sessions';

/** Builds the service's dependencies from config; used by main.ts and by the component tests. */
export async function buildDeps(config: AuthConfig, logger: Logger = createLogger({ service: 'auth-service', level: config.LOG_LEVEL })): Promise<AuthDeps> {
  const pool = createPool({ connectionString: config.DATABASE_URL, applicationName: 'auth-service' });
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2, lazyConnect: false });
  redis.on('error', (err) => logger.warn('redis error', { err: err.message }));
  const keys = new KeyStore({
    pool,
    secret: config.SIGNING_KEY_SECRET,
    retiredKeyGraceSeconds: config.ACCESS_TOKEN_TTL_SECONDS + 300,
    rotationDays: config.KEY_ROTATION_DAYS,
  });
  await keys.init();
  // auth-service checks its own tokens against its own key set, the same way other services do via JWKS.
  const verifier = createTokenVerifier({ issuer: config.JWT_ISSUER, fetchJwks: async () => {
    await keys.reload();
    return keys.jwks();
  } });
  return {
    config,
    logger,
    pool,
    redis,
    keys,
    hasher: createPasswordHasher(config.PASSWORD_HASH_MEMORY_KIB),
    sessions: new SessionIssuer(config, keys),
    verifier,
    mongo: connectMongo(config.MONGODB_URI, config.MONGODB_DB, { appName: 'auth-service', logger }),
  };
}

export async function closeDeps(deps: AuthDeps): Promise<void> {
  await Promise.allSettled([deps.pool.end(), deps.redis.quit(), deps.mongo.close()]);
}
