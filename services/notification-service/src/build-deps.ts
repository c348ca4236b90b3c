import { Redis } from 'ioredis';
import { createPool } from '@pos/database';
import { ServiceTokens, createTokenVerifier } from '@pos/http';
import { createLogger, type Logger } from '@pos/utils';
import { jwksUrl, pushConfigured, smsConfigured, type NotificationConfig } from './config';
import { ContactDirectory } from './contacts';
import { SmtpEmailSender } from './channels/email';
import { HttpSmsSender } from './channels/sms';
import { WebPushSender } from './channels/push';
import type { NotificationDeps } from './deps';

export async function buildDeps(
  config: NotificationConfig,
  logger: Logger = createLogger({ service: 'notification-service', level: config.LOG_LEVEL }),
  fetchImpl: typeof fetch = fetch,
): Promise<NotificationDeps> {
  const pool = createPool({ connectionString: config.DATABASE_URL, applicationName: 'notification-service', max: 20 });
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2 });
  redis.on('error', (err) => logger.warn('redis error', { err: err.message }));
  const tokens = new ServiceTokens({ authServiceUrl: config.AUTH_SERVICE_URL, clientId: config.SERVICE_CLIENT_ID, clientSecret: config.SERVICE_CLIENT_SECRET, fetchImpl });
  return {
    config,
    logger,
    pool,
    redis,
    verifier: createTokenVerifier({ issuer: config.JWT_ISSUER, jwksUrl: jwksUrl(config) }),
    contacts: new ContactDirectory({ customerServiceUrl: config.CUSTOMER_SERVICE_URL, authServiceUrl: config.AUTH_SERVICE_URL, tokens, timeoutMs: config.CONTACT_LOOKUP_TIMEOUT_MS, logger, fetchImpl }),
    email: new SmtpEmailSender(config),
    sms: smsConfigured(config) ? new HttpSmsSender(config, fetchImpl) : undefined,
    push: pushConfigured(config) ? new WebPushSender(config, fetchImpl) : undefined,
  };
}

export async function closeDeps(deps: NotificationDeps): Promise<void> {
  deps.email.close?.();
  await Promise.allSettled([deps.pool.end(), deps.redis.quit()]);
}
