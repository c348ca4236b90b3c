import type { Redis } from 'ioredis';
import type { Pool } from '@pos/database';
import type { TokenVerifier } from '@pos/http';
import type { Logger } from '@pos/utils';
import type { PaymentConfig } from './config';
import type { PaymentProcessor } from './processor';

export interface PaymentDeps {
  config: PaymentConfig;
  logger: Logger;
  pool: Pool;
  redis: Redis;
  verifier: TokenVerifier;
  /** The card processor adapter chosen by PAYMENT_PROCESSOR. */
  processor: PaymentProcessor;
}
