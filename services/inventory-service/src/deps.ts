import type { Redis } from 'ioredis';
import type { Pool } from '@pos/database';
import type { TokenVerifier } from '@pos/http';
import type { Logger } from '@pos/utils';
import type { InventoryConfig } from './config';
import type { LookupCache } from './lookup-cache';
import type { StoreDirectory } from '@pos/stores';

export interface InventoryDeps {
  config: InventoryConfig;
  logger: Logger;
  pool: Pool;
  redis: Redis;
  verifier: TokenVerifier;
  stores: StoreDirectory;
  cache: LookupCache;
}
