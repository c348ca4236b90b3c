import { z } from '@pos/types';
import { LOCAL_MONGODB_URI, mongoConfigShape } from '@pos/mongo';
import { commaList, envBool, logLevel, nodeEnv, requiredInProduction, secret } from '@pos/utils';

/** Every variable transaction-service reads; .env.example documents each one. */
export const configSchema = z.object({
  NODE_ENV: nodeEnv,
  LOG_LEVEL: logLevel,
  PORT: z.coerce.number().int().min(0).max(65535).default(3002),
  DATABASE_URL: requiredInProduction('postgres://pos_app@127.0.0.1:5432/pos'),
  WORKER_DATABASE_URL: requiredInProduction('postgres://pos_worker@127.0.0.1:5432/pos'),
  REDIS_URL: requiredInProduction('redis://127.0.0.1:6379'),
  CORS_ORIGINS: commaList,
  JWT_ISSUER: z.string().min(1).default('cloud-pos-auth'),
  AUTH_SERVICE_URL: requiredInProduction('http://127.0.0.1:3001'),
  JWKS_URL: z.string().url().optional(),
  INVENTORY_SERVICE_URL: requiredInProduction('http://127.0.0.1:3003'),
  PAYMENT_SERVICE_URL: requiredInProduction('http://127.0.0.1:3004'),
  /** This service's client id and secret for service tokens (one of auth-service's SERVICE_CLIENTS). */
  SERVICE_CLIENT_ID: z.string().min(1).default('transaction-service'),
  SERVICE_CLIENT_SECRET: secret('service-secret', 8),
  /** Timeouts nest (POS-DESIGN §11): processor 3 s < payment handler 8 s < this 10 s < gateway 15 s. */
  PAYMENT_CALL_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  INVENTORY_CALL_TIMEOUT_MS: z.coerce.number().int().min(100).default(5_000),
  /** A pending sale older than this is finished or compensated by a retry or the recovery sweep. */
  SALE_LEASE_SECONDS: z.coerce.number().int().min(1).default(30),
  SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).default(10_000),
  /** An offline sale's occurredAt may be at most this far ahead of the server clock (terminal clock skew). */
  OFFLINE_MAX_CLOCK_SKEW_SECONDS: z.coerce.number().int().min(0).max(3600).default(300),
  // MongoDB: sales analytics (sales_analytics), fed by this service's own sale events; optional system_logs.
  ...mongoConfigShape,
  /**
   * Required in production (compose and Kubernetes build it from the Mongo root password): without it
   * a deployed service would write to mongodb://127.0.0.1:27017 inside its own container. Outside
   * production the local default applies (`npm start` passes the stand-in's URI).
   */
  MONGODB_URI: requiredInProduction(LOCAL_MONGODB_URI),
  /** Run the analytics consumer (sale events -> sales_analytics) in this process. */
  ANALYTICS_CONSUMER_ENABLED: envBool(true),
});

export type TransactionConfig = z.infer<typeof configSchema>;

export const jwksUrl = (c: TransactionConfig) => c.JWKS_URL ?? `${c.AUTH_SERVICE_URL.replace(/\/+$/, '')}/.well-known/jwks.json`;
