import type { Redis } from 'ioredis';
import type { Pool } from '@pos/database';
import type { TokenVerifier } from '@pos/http';
import type { Logger } from '@pos/utils';
import type { CustomerConfig } from './config';

export const SCHEMA = 'customers';
export const SERVICE = 'customer-service';

export interface CustomerDeps {
  config: CustomerConfig;
  logger: Logger;
  pool: Pool;
  redis: Redis;
  verifier: TokenVerifier;
}
