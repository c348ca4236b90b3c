import { z } from '@pos/types';
import { logToMongoConfigShape } from '@pos/mongo';
import { commaList, logLevel, nodeEnv, requiredInProduction, secret } from '@pos/utils';

/**
 * Every variable payment-service reads; .env.example documents each one.
 *
 * Timeouts nest (POS-DESIGN §11 "Saga safety"): one processor call (PROCESSOR_TIMEOUT_MS, 3 s) <
 * this service's whole payment handler (PAYMENT_HANDLER_TIMEOUT_MS, 8 s, retries included) <
 * transaction-service's call to payment-service (10 s) < the gateway's upstream timeout (15 s).
 * A loyalty payment's call to customer-service (CUSTOMER_SERVICE_TIMEOUT_MS, 3 s) sits where the
 * processor call does.
 */
export const configSchema = z
  .object({
    NODE_ENV: nodeEnv,
    LOG_LEVEL: logLevel,
    /** LOG_TO_MONGO=true also writes log lines to MongoDB system_logs (then MONGODB_URI is needed). */
    ...logToMongoConfigShape,
    PORT: z.coerce.number().int().min(0).max(65535).default(3004),
    DATABASE_URL: requiredInProduction('postgres://pos_app@127.0.0.1:5432/pos'),
    WORKER_DATABASE_URL: requiredInProduction('postgres://pos_worker@127.0.0.1:5432/pos'),
    REDIS_URL: requiredInProduction('redis://127.0.0.1:6379'),
    CORS_ORIGINS: commaList,
    JWT_ISSUER: z.string().min(1).default('cloud-pos-auth'),
    AUTH_SERVICE_URL: requiredInProduction('http://127.0.0.1:3001'),
    /** Defaults to `${AUTH_SERVICE_URL}/.well-known/jwks.json`. */
    JWKS_URL: z.string().url().optional(),
    /** Which card processor adapter to use; `simulator` (test mode, no real money) is the only one built. */
    PAYMENT_PROCESSOR: z.enum(['simulator']).default('simulator'),
    /** Upper bound of ONE processor call; a call that takes longer is abandoned and retried with the same key. */
    PROCESSOR_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(3_000),
    /** Attempts per processor operation (same processor idempotency key every time). */
    PROCESSOR_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
    /** Pause before retrying after a processor outage error (doubles each time); timeouts retry at once. */
    PROCESSOR_RETRY_BACKOFF_MS: z.coerce.number().int().min(0).max(10_000).default(200),
    /** The whole payment request (retries included) answers within this; must exceed PROCESSOR_TIMEOUT_MS. */
    PAYMENT_HANDLER_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(8_000),
    /** Simulator only: how late `tok_timeout` answers its first call (default PROCESSOR_TIMEOUT_MS + 1000). */
    SIMULATOR_SLOW_RESPONSE_MS: z.coerce.number().int().min(0).max(120_000).optional(),
    /** Simulator only: how long its charge records live in Redis. */
    SIMULATOR_TTL_SECONDS: z.coerce.number().int().min(60).default(7 * 24 * 3600),
    /** HMAC key for gift card codes (only the HMAC is stored). Changing it makes existing codes unreadable. */
    GIFT_CARD_CODE_SECRET: secret('gift-card-code-secret-change-me', 32),
    /** Where `loyalty` payments redeem and give back points (customer-service). */
    CUSTOMER_SERVICE_URL: requiredInProduction('http://127.0.0.1:3005'),
    /** Upper bound of ONE call to customer-service; retried (same redemption key) like processor calls. */
    CUSTOMER_SERVICE_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(3_000),
    /** What one loyalty point pays, in minor units of the payment's currency (1 = one cent per point). */
    LOYALTY_POINT_VALUE: z.coerce.number().int().min(1).max(1_000_000).default(1),
    /** This service's client id and secret for service tokens (one of auth-service's SERVICE_CLIENTS). */
    SERVICE_CLIENT_ID: z.string().min(1).default('payment-service'),
    SERVICE_CLIENT_SECRET: secret('service-secret', 8),
  })
  .refine((c) => c.PROCESSOR_TIMEOUT_MS < c.PAYMENT_HANDLER_TIMEOUT_MS, {
    message: 'must be longer than PROCESSOR_TIMEOUT_MS (timeouts nest: processor < payment handler < caller < gateway)',
    path: ['PAYMENT_HANDLER_TIMEOUT_MS'],
  })
  .refine((c) => c.CUSTOMER_SERVICE_TIMEOUT_MS < c.PAYMENT_HANDLER_TIMEOUT_MS, {
    message: 'must be shorter than PAYMENT_HANDLER_TIMEOUT_MS (timeouts nest: customer-service call < payment handler < caller < gateway)',
    path: ['CUSTOMER_SERVICE_TIMEOUT_MS'],
  });

export type PaymentConfig = z.infer<typeof configSchema>;

export const jwksUrl = (c: PaymentConfig) => c.JWKS_URL ?? `${c.AUTH_SERVICE_URL.replace(/\/+$/, '')}/.well-known/jwks.json`;
export const simulatorSlowMs = (c: PaymentConfig) => c.SIMULATOR_SLOW_RESPONSE_MS ?? c.PROCESSOR_TIMEOUT_MS + 1_000;
