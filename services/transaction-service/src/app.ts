import { createServiceApp, type ServiceApp } from '@pos/http';
import { requestAuditWriter } from '@pos/events';
import { pingDatabase } from '@pos/database';
import { SCHEMA, type TransactionDeps } from './deps';
import { Checkout } from './checkout';
import { Refunds } from './refunds';
import { saleRoutes } from './http/sale-routes';
import { refundRoutes } from './http/refund-routes';
import { shiftRoutes } from './http/shift-routes';
import { reportRoutes } from './http/report-routes';
import { analyticsRoutes } from './http/analytics-routes';

export function createApp(deps: TransactionDeps, checkout = new Checkout(deps), refunds = new Refunds(deps)): ServiceApp {
  return createServiceApp({
    name: 'transaction-service',
    logger: deps.logger,
    corsOrigins: deps.config.CORS_ORIGINS,
    verifier: deps.verifier,
    // Reasons and notes anywhere (cash movements too), not only on sales and refunds.
    refuseCardData: {},
    auditRequests: requestAuditWriter({ pool: deps.pool, schema: SCHEMA, service: 'transaction-service', aliases: { transactions: 'sale' } }),
    readinessChecks: {
      postgres: () => pingDatabase(deps.pool),
      redis: () => deps.redis.ping(),
    },
    routes: ({ table, metrics }) => {
      checkout.exportMetrics(metrics);
      saleRoutes(table, deps, checkout);
      refundRoutes(table, deps, refunds);
      shiftRoutes(table, deps);
      reportRoutes(table, deps);
      analyticsRoutes(table, deps);
    },
  });
}
