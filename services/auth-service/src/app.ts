import { createServiceApp, type ServiceApp } from '@pos/http';
import { requestAuditWriter } from '@pos/events';
import { pingDatabase } from '@pos/database';
import { SCHEMA, type AuthDeps } from './deps';
import { authRoutes } from './http/auth-routes';
import { userRoutes } from './http/user-routes';
import { storeRoutes } from './http/store-routes';
import { oauthRoutes } from './http/oauth-routes';
import { auditRoutes } from './http/audit-routes';

export function createApp(deps: AuthDeps): ServiceApp {
  return createServiceApp({
    name: 'auth-service',
    logger: deps.logger,
    corsOrigins: deps.config.CORS_ORIGINS,
    verifier: deps.verifier,
    urlencoded: true,
    // Names, store names and addresses are free text: a card number typed there is refused.
    // Secrets are hashed, never stored or logged as sent: a password may be any digits it likes.
    refuseCardData: { ignoreFields: ['password', 'pin', 'refreshToken', 'token', 'client_secret'] },
    auditRequests: requestAuditWriter({ pool: deps.pool, schema: SCHEMA, service: 'auth-service', aliases: { auth: 'session' } }),
    readinessChecks: {
      postgres: () => pingDatabase(deps.pool),
      redis: () => deps.redis.ping(),
    },
    routes: ({ app, table }) => {
      authRoutes(app, table, deps);
      oauthRoutes(app, table, deps);
      userRoutes(table, deps);
      storeRoutes(table, deps);
      auditRoutes(table, deps);
    },
  });
}
