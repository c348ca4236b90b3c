import type { Redis } from 'ioredis';
import type { Pool } from '@pos/database';
import type { MongoHandle } from '@pos/mongo';
import type { TokenVerifier } from '@pos/http';
import type { Logger } from '@pos/utils';
import type { AuthConfig } from './config';
import type { PasswordHasher } from './domain/passwords';
import type { KeyStore } from './keys/key-store';
import type { SessionIssuer } from './sessions';

/** Everything the HTTP layer needs; built by main.ts (or by tests). */
export interface AuthDeps {
  config: AuthConfig;
  logger: Logger;
  pool: Pool;
  redis: Redis;
  keys: KeyStore;
  hasher: PasswordHasher;
  sessions: SessionIssuer;
  verifier: TokenVerifier;
  /** MongoDB (audit trail); the client connects lazily, so auth-service starts while MongoDB is down. */
  mongo: MongoHandle;
}

export const SCHEMA = 'auth';
