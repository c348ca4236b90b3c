import { createServiceApp, type ServiceApp } from '@pos/http';
import { requestAuditWriter } from '@pos/events';
import { pingDatabase } from '@pos/database';
import { SCHEMA, SERVICE, type CustomerDeps } from './deps';
import { customerRoutes } from './http/customer-routes';
import { loyaltyRoutes } from './http/loyalty-routes';

export function createApp(deps: CustomerDeps): ServiceApp {
  return createServiceApp({
    name: SERVICE,
    logger: deps.logger,
    corsOrigins: deps.config.CORS_ORIGINS,
    verifier: deps.verifier,
    auditRequests: requestAuditWriter({ pool: deps.pool, schema: SCHEMA, service: 'customer-service' }),
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
