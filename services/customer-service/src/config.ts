import { z } from '@pos/types';
import { logToMongoConfigShape } from '@pos/mongo';
import { commaList, logLevel, nodeEnv, requiredInProduction } from '@pos/utils';
import { PHONE_COUNTRIES } from './domain/phone';

/** Every variable customer-service reads; .env.example documents each one. */
export const configSchema = z.object({
  NODE_ENV: nodeEnv,
  LOG_LEVEL: logLevel,
  /** LOG_TO_MONGO=true also writes log lines to MongoDB system_logs (then MONGODB_URI is needed). */
  ...logToMongoConfigShape,
  PORT: z.coerce.number().int().min(0).max(65535).default(3005),
  DATABASE_URL: requiredInProduction('postgres://pos_app@127.0.0.1:5432/pos'),
  WORKER_DATABASE_URL: requiredInProduction('postgres://pos_worker@127.0.0.1:5432/pos'),
  REDIS_URL: requiredInProduction('redis://127.0.0.1:6379'),
  CORS_ORIGINS: commaList,
  JWT_ISSUER: z.string().min(1).default('cloud-pos-auth'),
  AUTH_SERVICE_URL: requiredInProduction('http://127.0.0.1:3001'),
  /** Defaults to `${AUTH_SERVICE_URL}/.well-known/jwks.json`. */
  JWKS_URL: z.string().url().optional(),
  /** Country whose numbering plan reads phone numbers typed without +/00 (ISO 3166-1 alpha-2). */
  DEFAULT_PHONE_COUNTRY: z
    .string()
    .transform((v) => v.toUpperCase())
    .pipe(z.enum(PHONE_COUNTRIES, { message: `must be one of ${PHONE_COUNTRIES.join(', ')}` }))
    .default('US'),
  /** Loyalty points per whole currency unit of net spend, for tenants without their own rule (0 = off). */
  LOYALTY_POINTS_PER_UNIT: z.coerce.number().int().min(0).max(1000).default(1),
});

export type CustomerConfig = z.infer<typeof configSchema>;

export const jwksUrl = (c: CustomerConfig) => c.JWKS_URL ?? `${c.AUTH_SERVICE_URL.replace(/\/+$/, '')}/.well-known/jwks.json`;
