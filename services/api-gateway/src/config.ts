import path from 'node:path';
import { z } from '@pos/types';
import { LOCAL_MONGODB_URI, mongoConfigShape } from '@pos/mongo';
import { commaList, envBool, loadConfig, logLevel, nodeEnv } from '@pos/utils';

const port = z.coerce.number().int().min(0).max(65_535);
const positiveInt = z.coerce.number().int().positive();
const serviceUrl = (defaultUrl: string) =>
  z
    .url({ protocol: /^https?$/, message: 'must be an http(s) URL' })
    .default(defaultUrl)
    // Joined with paths like `/health`, so a trailing slash would double up.
    .transform((url) => url.replace(/\/+$/, ''));

/**
 * Every variable the gateway reads. Exported as a plain object schema (no transform on the object)
 * so tooling can list the variables and see which ones have defaults; derived defaults that depend
 * on other variables (REDIS_URL and MONGODB_URI outside production, JWKS_URL) are filled in by
 * `loadGatewayConfig`.
 */
export const gatewayConfigSchema = z
  .object({
    PORT: port.default(3000),
    NODE_ENV: nodeEnv,
    LOG_LEVEL: logLevel,
    /** Rate-limit counters live here so that every gateway replica shares them. Required in production. */
    REDIS_URL: z.url({ protocol: /^rediss?$/, message: 'must be a redis:// or rediss:// URL' }).optional(),
    JWT_ISSUER: z.string().min(1).default('cloud-pos-auth'),
    /** Defaults to `${AUTH_SERVICE_URL}/.well-known/jwks.json`. */
    JWKS_URL: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).optional(),
    AUTH_SERVICE_URL: serviceUrl('http://127.0.0.1:3001'),
    TRANSACTION_SERVICE_URL: serviceUrl('http://127.0.0.1:3002'),
    INVENTORY_SERVICE_URL: serviceUrl('http://127.0.0.1:3003'),
    PAYMENT_SERVICE_URL: serviceUrl('http://127.0.0.1:3004'),
    CUSTOMER_SERVICE_URL: serviceUrl('http://127.0.0.1:3005'),
    NOTIFICATION_SERVICE_URL: serviceUrl('http://127.0.0.1:3006'),
    /** Browser origins allowed by CORS, comma separated; empty means none. */
    CORS_ORIGINS: commaList,
    RATE_LIMIT_WINDOW_SECONDS: positiveInt.default(60),
    RATE_LIMIT_PER_USER: positiveInt.default(600),
    RATE_LIMIT_PER_IP: positiveInt.default(1200),
    /** Login, PIN login, client-credentials token and password reset: brute-force targets. */
    RATE_LIMIT_LOGIN_PER_IP: positiveInt.default(10),
    /**
     * Time allowed for an upstream to start answering. The outermost timeout of the checkout saga
     * (POS-DESIGN §11): it must stay longer than transaction-service's own calls to payment-service.
     */
    UPSTREAM_TIMEOUT_MS: positiveInt.default(15_000),
    /** Time allowed to open a TCP connection to an upstream before it counts as down (503). */
    UPSTREAM_CONNECT_TIMEOUT_MS: positiveInt.default(1_000),
    /** Largest request body the gateway forwards (Content-Length or counted while streaming). */
    MAX_BODY_BYTES: positiveInt.default(1_048_576),
    /** Limit for the catalog import (up to 10,000 rows of CSV or JSON). */
    IMPORT_MAX_BODY_BYTES: positiveInt.default(10_485_760),
    /**
     * The built web register (apps/register/dist), served at `/`. Defaults to that folder of this
     * repository; when it does not exist `/` answers 404 saying how to build it.
     */
    REGISTER_DIST_DIR: z.string().trim().min(1).optional(),
    /**
     * MongoDB for `api_usage` (per user and route call counts and latency, written in batches).
     * Required in production while API_USAGE_ENABLED; outside production it defaults to
     * mongodb://127.0.0.1:27017 (`npm start` passes the stand-in's URI), like the other services.
     */
    MONGODB_URI: z.string().min(1).optional(),
    MONGODB_DB: mongoConfigShape.MONGODB_DB,
    /** Also write log lines to MongoDB system_logs (batched). */
    LOG_TO_MONGO: mongoConfigShape.LOG_TO_MONGO,
    /** Record api_usage. Off: the gateway never connects to MongoDB. */
    API_USAGE_ENABLED: envBool(true),
    /** How often the aggregated api_usage counts are written (one bulkWrite per flush). */
    API_USAGE_FLUSH_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  })
  .superRefine(
    (config, ctx) => {
      if (config.NODE_ENV === 'production' && !config.REDIS_URL) {
        // Without a shared store every replica would count on its own and the limits would multiply.
        ctx.addIssue({ code: 'custom', path: ['REDIS_URL'], message: 'is required in production' });
      }
      if (config.NODE_ENV === 'production' && config.API_USAGE_ENABLED && !config.MONGODB_URI) {
        // Otherwise every replica would buffer api_usage for a MongoDB inside its own container.
        ctx.addIssue({ code: 'custom', path: ['MONGODB_URI'], message: 'is required in production (or set API_USAGE_ENABLED=false)' });
      }
    },
    // Also when other variables are bad, so that one start-up error lists every problem.
    { when: (payload) => typeof payload.value === 'object' && payload.value !== null },
  );

type RawGatewayConfig = z.infer<typeof gatewayConfigSchema>;
export type GatewayConfig = Omit<RawGatewayConfig, 'REDIS_URL' | 'JWKS_URL' | 'REGISTER_DIST_DIR' | 'MONGODB_URI'> & {
  REDIS_URL: string;
  JWKS_URL: string;
  REGISTER_DIST_DIR: string;
  MONGODB_URI: string;
};

/** apps/register/dist of this checkout: src/ and dist/ both sit three levels below the root. */
export const DEFAULT_REGISTER_DIST_DIR = path.resolve(__dirname, '..', '..', '..', 'apps', 'register', 'dist');

/** Reads and checks the environment; throws a ConfigError naming every bad variable. */
export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const raw = loadConfig(gatewayConfigSchema, env);
  return {
    ...raw,
    REDIS_URL: raw.REDIS_URL ?? 'redis://127.0.0.1:6379',
    JWKS_URL: raw.JWKS_URL ?? `${raw.AUTH_SERVICE_URL}/.well-known/jwks.json`,
    REGISTER_DIST_DIR: path.resolve(raw.REGISTER_DIST_DIR ?? DEFAULT_REGISTER_DIST_DIR),
    MONGODB_URI: raw.MONGODB_URI ?? LOCAL_MONGODB_URI,
  };
}

/** Uniform name so deployment tests can find every service's schema. */
export { gatewayConfigSchema as configSchema };
