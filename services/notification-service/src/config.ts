import { z } from '@pos/types';
import { logToMongoConfigShape } from '@pos/mongo';
import { commaList, envBool, logLevel, nodeEnv, requiredInProduction, secret } from '@pos/utils';

const optionalText = z.string().min(1).optional();

/** Every variable notification-service reads; .env.example documents each one. */
export const configSchema = z
  .object({
    NODE_ENV: nodeEnv,
    LOG_LEVEL: logLevel,
    /** LOG_TO_MONGO=true also writes log lines to MongoDB system_logs (then MONGODB_URI is needed). */
    ...logToMongoConfigShape,
    PORT: z.coerce.number().int().min(0).max(65535).default(3006),
    DATABASE_URL: requiredInProduction('postgres://pos_app@127.0.0.1:5432/pos'),
    /** The delivery worker claims due deliveries of every tenant with this (BYPASSRLS) role. */
    WORKER_DATABASE_URL: requiredInProduction('postgres://pos_worker@127.0.0.1:5432/pos'),
    REDIS_URL: requiredInProduction('redis://127.0.0.1:6379'),
    CORS_ORIGINS: commaList,
    JWT_ISSUER: z.string().min(1).default('cloud-pos-auth'),
    AUTH_SERVICE_URL: requiredInProduction('http://127.0.0.1:3001'),
    /** Defaults to `${AUTH_SERVICE_URL}/.well-known/jwks.json`. */
    JWKS_URL: z.string().url().optional(),
    /** Where customers' email addresses are looked up (receipts). */
    CUSTOMER_SERVICE_URL: requiredInProduction('http://127.0.0.1:3005'),
    /** This service's client id and secret for service tokens (one of auth-service's SERVICE_CLIENTS). */
    SERVICE_CLIENT_ID: z.string().min(1).default('notification-service'),
    SERVICE_CLIENT_SECRET: secret('service-secret', 8),
    /** Timeout of one contact lookup (customer-service, auth-service). */
    CONTACT_LOOKUP_TIMEOUT_MS: z.coerce.number().int().min(100).max(30_000).default(3_000),

    /** Public URL of the front-end; invitation and reset links point at it. */
    APP_PUBLIC_URL: requiredInProduction('http://localhost:3000').pipe(z.string().url()),
    /** Path of the page that sets a password from an invitation (`?token=` is appended). */
    INVITE_PATH: z.string().startsWith('/').default('/accept-invite'),
    /** Path of the page that sets a new password after a reset request (`?token=` is appended). */
    PASSWORD_RESET_PATH: z.string().startsWith('/').default('/reset-password'),

    // ---- email (SMTP, nodemailer) ----
    SMTP_HOST: requiredInProduction('127.0.0.1'),
    SMTP_PORT: z.coerce.number().int().min(1).max(65535).default(1025),
    /** true: TLS from the first byte (port 465); false: plain, upgraded with STARTTLS when offered. */
    SMTP_SECURE: envBool(false),
    /** Refuse to send unless STARTTLS succeeds (with SMTP_SECURE=false). */
    SMTP_REQUIRE_TLS: envBool(false),
    SMTP_USER: optionalText,
    SMTP_PASSWORD: optionalText,
    SMTP_FROM: requiredInProduction('Cloud POS <no-reply@localhost>'),
    /** Connection, greeting and socket timeout of one SMTP attempt. */
    SMTP_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),

    // ---- SMS (Twilio-compatible HTTP provider) ----
    /** Full URL of the provider's "send message" endpoint; SMS is off when empty. */
    SMS_PROVIDER_URL: z.string().url().optional(),
    SMS_ACCOUNT_SID: optionalText,
    SMS_AUTH_TOKEN: optionalText,
    /** Sender number (E.164) or alphanumeric sender id. */
    SMS_FROM: optionalText,
    SMS_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),

    // ---- Web Push (VAPID) ----
    VAPID_PUBLIC_KEY: optionalText,
    VAPID_PRIVATE_KEY: optionalText,
    /** mailto: or https: contact of the sender, sent to push services. */
    VAPID_SUBJECT: z.string().regex(/^(mailto:|https:\/\/)/, 'must be a mailto: or https:// URL').optional(),
    PUSH_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
    /** How long the push service keeps a message for an offline device. */
    PUSH_TTL_SECONDS: z.coerce.number().int().min(0).max(2_419_200).default(86_400),
    /** Accept http:// push endpoints (local tests only; refused in production). */
    PUSH_ALLOW_HTTP_ENDPOINTS: envBool(false),

    // ---- durable delivery ----
    DELIVERY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(5),
    /** Backoff after failed attempt n is base * 2^(n-1) (±20 % jitter), capped at DELIVERY_BACKOFF_MAX_MS. */
    DELIVERY_BACKOFF_BASE_MS: z.coerce.number().int().min(0).default(5_000),
    DELIVERY_BACKOFF_MAX_MS: z.coerce.number().int().min(0).default(15 * 60_000),
    /** A delivery claimed by a worker that died becomes due again after this lease. */
    DELIVERY_LEASE_SECONDS: z.coerce.number().int().min(5).max(3_600).default(120),
    DELIVERY_POLL_INTERVAL_MS: z.coerce.number().int().min(10).default(1_000),
    DELIVERY_BATCH_SIZE: z.coerce.number().int().min(1).max(500).default(20),
    DELIVERY_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(5),
    /** Events older than this (e.g. history read by a new consumer group) send nothing. */
    EVENT_MAX_AGE_MINUTES: z.coerce.number().int().min(1).default(24 * 60),
  })
  .superRefine((c, ctx) => {
    const production = c.NODE_ENV === 'production';
    if (Boolean(c.SMTP_USER) !== Boolean(c.SMTP_PASSWORD)) {
      ctx.addIssue({ code: 'custom', path: [c.SMTP_USER ? 'SMTP_PASSWORD' : 'SMTP_USER'], message: 'SMTP_USER and SMTP_PASSWORD go together' });
    }
    if (c.SMS_PROVIDER_URL) {
      for (const key of ['SMS_ACCOUNT_SID', 'SMS_AUTH_TOKEN', 'SMS_FROM'] as const) {
        if (!c[key]) ctx.addIssue({ code: 'custom', path: [key], message: 'is required when SMS_PROVIDER_URL is set' });
      }
      if (production && !c.SMS_PROVIDER_URL.startsWith('https://')) ctx.addIssue({ code: 'custom', path: ['SMS_PROVIDER_URL'], message: 'must be https in production' });
    }
    const vapid = [c.VAPID_PUBLIC_KEY, c.VAPID_PRIVATE_KEY, c.VAPID_SUBJECT].filter(Boolean).length;
    if (vapid !== 0 && vapid !== 3) {
      for (const key of ['VAPID_PUBLIC_KEY', 'VAPID_PRIVATE_KEY', 'VAPID_SUBJECT'] as const) {
        if (!c[key]) ctx.addIssue({ code: 'custom', path: [key], message: 'VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT go together' });
      }
    }
    if (production && c.PUSH_ALLOW_HTTP_ENDPOINTS) ctx.addIssue({ code: 'custom', path: ['PUSH_ALLOW_HTTP_ENDPOINTS'], message: 'cannot be true in production' });
    if (c.DELIVERY_BACKOFF_MAX_MS < c.DELIVERY_BACKOFF_BASE_MS) ctx.addIssue({ code: 'custom', path: ['DELIVERY_BACKOFF_MAX_MS'], message: 'must be at least DELIVERY_BACKOFF_BASE_MS' });
  });

export type NotificationConfig = z.infer<typeof configSchema>;

export const jwksUrl = (c: NotificationConfig) => c.JWKS_URL ?? `${c.AUTH_SERVICE_URL.replace(/\/+$/, '')}/.well-known/jwks.json`;

export const smsConfigured = (c: NotificationConfig) => Boolean(c.SMS_PROVIDER_URL && c.SMS_ACCOUNT_SID && c.SMS_AUTH_TOKEN && c.SMS_FROM);
export const pushConfigured = (c: NotificationConfig) => Boolean(c.VAPID_PUBLIC_KEY && c.VAPID_PRIVATE_KEY && c.VAPID_SUBJECT);
