import type { Redis } from 'ioredis';
import type { Pool } from '@pos/database';
import type { ServiceClient, TokenVerifier } from '@pos/http';
import type { MongoHandle } from '@pos/mongo';
import type { StoreDirectory } from '@pos/stores';
import type { Logger } from '@pos/utils';
import type { TransactionConfig } from './config';
import type { UserDirectory } from './user-directory';

export const SCHEMA = 'sales';

export interface TransactionDeps {
  config: TransactionConfig;
  logger: Logger;
  pool: Pool;
  redis: Redis;
  verifier: TokenVerifier;
  stores: StoreDirectory;
  users: UserDirectory;
  inventory: ServiceClient;
  payments: ServiceClient;
  /** MongoDB (sales analytics); connects lazily, so the service starts and sells while MongoDB is down. */
  mongo: MongoHandle;
}
