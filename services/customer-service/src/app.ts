import { createServiceApp, type ServiceApp } from '@pos/http';
import { pingDatabase } from '@pos/database';
import { SERVICE, type CustomerDeps } from './deps';
import { customerRoutes } from './http/customer-routes';
import { loyaltyRoutes } from './http/loyalty-routes';

export function createApp(deps: CustomerDeps): ServiceApp {
  return createServiceApp({
    name: SERVICE,
    logger: deps.logger,
    corsOrigins: deps.config.CORS_ORIGINS,
    verifier: deps.verifier,
    readinessChecks: {
      postgres: () => pingDatabase(deps.pool),
      redis: () => deps.redis.ping(),
    },
    routes: ({ table }) => {
      loyaltyRoutes(table, deps);
      customerRoutes(table, deps);
    },
  });
}
