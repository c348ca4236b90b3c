import { z } from '@pos/types';
import { logToMongoConfigShape } from '@pos/mongo';
import { commaList, logLevel, nodeEnv, requiredInProduction } from '@pos/utils';

/** Every variable inventory-service reads; .env.example documents each one. */
export const configSchema = z.object({
  NODE_ENV: nodeEnv,
  LOG_LEVEL: logLevel,
  /** LOG_TO_MONGO=true also writes log lines to MongoDB system_logs (then MONGODB_URI is needed). */
  ...logToMongoConfigShape,
  PORT: z.coerce.number().int().min(0).max(65535).default(3003),
  DATABASE_URL: requiredInProduction('postgres://pos_app@127.0.0.1:5432/pos'),
  WORKER_DATABASE_URL: requiredInProduction('postgres://pos_worker@127.0.0.1:5432/pos'),
  REDIS_URL: requiredInProduction('redis://127.0.0.1:6379'),
  CORS_ORIGINS: commaList,
  JWT_ISSUER: z.string().min(1).default('cloud-pos-auth'),
  AUTH_SERVICE_URL: requiredInProduction('http://127.0.0.1:3001'),
  /** Defaults to `${AUTH_SERVICE_URL}/.well-known/jwks.json`. */
  JWKS_URL: z.string().url().optional(),
  /** How long a barcode/SKU lookup stays in Redis (changes delete it at once). */
  LOOKUP_CACHE_TTL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(600),
  /** In-process lookup cache lifetime; at most 5 s (POS-DESIGN §11), 0 disables it. */
  LOOKUP_LOCAL_TTL_MS: z.coerce.number().int().min(0).max(5_000).default(2_000),
  IMPORT_MAX_ROWS: z.coerce.number().int().min(1).max(10_000).default(10_000),
});

export type InventoryConfig = z.infer<typeof configSchema>;

export const jwksUrl = (c: InventoryConfig) => c.JWKS_URL ?? `${c.AUTH_SERVICE_URL.replace(/\/+$/, '')}/.well-known/jwks.json`;
