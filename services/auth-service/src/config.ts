import { z } from '@pos/types';
import { LOCAL_MONGODB_URI, mongoConfigShape } from '@pos/mongo';
import { commaList, envBool, logLevel, nodeEnv, requiredInProduction, secret } from '@pos/utils';

/** Every variable auth-service reads; .env.example documents each one. */
export const authConfigSchema = z.object({
  NODE_ENV: nodeEnv,
  LOG_LEVEL: logLevel,
  PORT: z.coerce.number().int().min(0).max(65535).default(3001),
  DATABASE_URL: requiredInProduction('postgres://pos_app@127.0.0.1:5432/pos'),
  WORKER_DATABASE_URL: requiredInProduction('postgres://pos_worker@127.0.0.1:5432/pos'),
  REDIS_URL: requiredInProduction('redis://127.0.0.1:6379'),
  CORS_ORIGINS: commaList,
  JWT_ISSUER: z.string().min(1).default('cloud-pos-auth'),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).max(900).default(900),
  REFRESH_TOKEN_TTL_DAYS: z.coerce.number().int().min(1).max(90).default(30),
  REFRESH_REUSE_GRACE_SECONDS: z.coerce.number().int().min(0).max(120).default(30),
  SIGNING_KEY_SECRET: secret('signing-key-secret-change-me', 32),
  KEY_ROTATION_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  SERVICE_CLIENTS: secret('svc:dev-only-service-secret', 8).transform((value, ctx) => {
    const clients = new Map<string, string>();
    for (const pair of value.split(',').map((s) => s.trim()).filter(Boolean)) {
      const idx = pair.indexOf(':');
      if (idx <= 0 || idx === pair.length - 1) {
        ctx.addIssue({ code: 'custom', message: 'must be a comma list of client-id:secret pairs' });
        return z.NEVER;
      }
      clients.set(pair.slice(0, idx), pair.slice(idx + 1));
    }
    return clients;
  }),
  LOGIN_MAX_FAILURES: z.coerce.number().int().min(1).default(5),
  LOGIN_LOCK_MINUTES: z.coerce.number().int().min(1).default(15),
  PIN_MAX_FAILURES: z.coerce.number().int().min(1).default(5),
  PIN_LOCK_MINUTES: z.coerce.number().int().min(1).default(15),
  // argon2id memory cost in KiB: 19456 is the OWASP minimum; raise it on bigger machines.
  PASSWORD_HASH_MEMORY_KIB: z.coerce.number().int().min(8192).default(19456),
  PASSWORD_RESET_TTL_MINUTES: z.coerce.number().int().min(5).default(60),
  INVITE_TTL_HOURS: z.coerce.number().int().min(1).default(72),
  OAUTH_ENABLED: envBool(false),
  OAUTH_AUTHORIZATION_URL: z.string().url().optional(),
  OAUTH_TOKEN_URL: z.string().url().optional(),
  OAUTH_USERINFO_URL: z.string().url().optional(),
  OAUTH_CLIENT_ID: z.string().optional(),
  OAUTH_CLIENT_SECRET: z.string().optional(),
  OAUTH_CALLBACK_URL: z.string().url().optional(),
  OAUTH_SCOPE: z.string().default('openid email profile'),
  OAUTH_ALLOW_SIGNUP: envBool(false),
  // MongoDB: the audit trail (audit_trail), fed by the audit consumer; optional system_logs.
  ...mongoConfigShape,
  /**
   * Required in production (compose and Kubernetes build it from the Mongo root password): without it
   * a deployed service would write to mongodb://127.0.0.1:27017 inside its own container. Outside
   * production the local default applies (`npm start` passes the stand-in's URI).
   */
  MONGODB_URI: requiredInProduction(LOCAL_MONGODB_URI),
  /** Run the audit consumer (all services' event streams -> audit_trail) in this process. */
  AUDIT_CONSUMER_ENABLED: envBool(true),
}).superRefine((c, ctx) => {
  if (!c.OAUTH_ENABLED) return;
  for (const key of ['OAUTH_AUTHORIZATION_URL', 'OAUTH_TOKEN_URL', 'OAUTH_USERINFO_URL', 'OAUTH_CLIENT_ID', 'OAUTH_CLIENT_SECRET', 'OAUTH_CALLBACK_URL'] as const) {
    if (!c[key]) ctx.addIssue({ code: 'custom', path: [key], message: 'is required when OAUTH_ENABLED=true' });
  }
});

export type AuthConfig = z.infer<typeof authConfigSchema>;

/** Uniform name so deployment tests can find every service's schema. */
export { authConfigSchema as configSchema };
