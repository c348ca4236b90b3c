import { createServiceApp, type ServiceApp } from '@pos/http';
import { requestAuditWriter } from '@pos/events';
import { SCHEMA } from './data/schema';
import { pingDatabase } from '@pos/database';
import type { PaymentDeps } from './deps';
import { paymentRoutes } from './http/payment-routes';
import { giftCardRoutes } from './http/gift-card-routes';

export function createApp(deps: PaymentDeps): ServiceApp {
  return createServiceApp({
    name: 'payment-service',
    logger: deps.logger,
    corsOrigins: deps.config.CORS_ORIGINS,
    verifier: deps.verifier,
    auditRequests: requestAuditWriter({ pool: deps.pool, schema: SCHEMA, service: 'payment-service' }),
    readinessChecks: {
      postgres: () => pingDatabase(deps.pool),
      redis: () => deps.redis.ping(),
    },
    routes: ({ table }) => {
      paymentRoutes(table, deps);
      giftCardRoutes(table, deps);
    },
  });
}
