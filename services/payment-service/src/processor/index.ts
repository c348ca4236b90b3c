import type { Redis } from 'ioredis';
import { simulatorSlowMs, type PaymentConfig } from '../config';
import type { PaymentProcessor } from './processor';
import { SimulatorProcessor } from './simulator';

export * from './processor';
export * from './resilient-call';
export * from './simulator';

/**
 * Chooses the processor adapter from PAYMENT_PROCESSOR. To add a real processor: implement
 * PaymentProcessor in `./<name>.ts` (map its idempotency keys, declines, 5xx/network errors ->
 * ProcessorUnavailableError, refusals -> ProcessorRejectedError, honour the AbortSignal), add its
 * name to PAYMENT_PROCESSOR in config.ts with its credentials, and return it here. Nothing else in
 * the service changes.
 */
export function createProcessor(config: PaymentConfig, redis: Redis): PaymentProcessor {
  switch (config.PAYMENT_PROCESSOR) {
    case 'simulator':
      return new SimulatorProcessor(redis, { slowResponseMs: simulatorSlowMs(config), ttlSeconds: config.SIMULATOR_TTL_SECONDS });
  }
}
