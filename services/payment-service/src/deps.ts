import type { Redis } from 'ioredis';
import type { Pool } from '@pos/database';
import type { TokenVerifier } from '@pos/http';
import type { Logger } from '@pos/utils';
import type { PaymentConfig } from './config';
import type { PaymentProcessor } from './processor';
import type { LoyaltyLedger } from './loyalty/customer-loyalty';

export interface PaymentDeps {
  config: PaymentConfig;
  logger: Logger;
  pool: Pool;
  redis: Redis;
  verifier: TokenVerifier;
  /** The card processor adapter chosen by PAYMENT_PROCESSOR. */
  processor: PaymentProcessor;
  /** customer-service's points ledger, for `loyalty` payments (redeem, give back by key). */
  loyalty: LoyaltyLedger;
}
