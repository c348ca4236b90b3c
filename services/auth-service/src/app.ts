import { createServiceApp, type ServiceApp } from '@pos/http';
import { pingDatabase } from '@pos/database';
import type { AuthDeps } from './deps';
import { authRoutes } from './http/auth-routes';
import { userRoutes } from './http/user-routes';
import { storeRoutes } from './http/store-routes';
import { oauthRoutes } from './http/oauth-routes';

export function createApp(deps: AuthDeps): ServiceApp {
  return createServiceApp({
    name: 'auth-service',
    logger: deps.logger,
    corsOrigins: deps.config.CORS_ORIGINS,
    verifier: deps.verifier,
    urlencoded: true,
    readinessChecks: {
      postgres: () => pingDatabase(deps.pool),
      redis: () => deps.redis.ping(),
    },
    routes: ({ app, table }) => {
      authRoutes(app, table, deps);
      oauthRoutes(app, table, deps);
      userRoutes(table, deps);
      storeRoutes(table, deps);
    },
  });
}
