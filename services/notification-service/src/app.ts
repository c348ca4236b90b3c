import { createServiceApp, type ServiceApp } from '@pos/http';
import { requestAuditWriter } from '@pos/events';
import { SCHEMA } from './schema';
import { pingDatabase } from '@pos/database';
import type { NotificationDeps } from './deps';
import { sendRoutes } from './http/send-routes';
import { deliveryRoutes } from './http/delivery-routes';
import { templateRoutes } from './http/template-routes';
import { settingsRoutes } from './http/settings-routes';
import { pushRoutes } from './http/push-routes';

export function createApp(deps: NotificationDeps): ServiceApp {
  return createServiceApp({
    name: 'notification-service',
    logger: deps.logger,
    corsOrigins: deps.config.CORS_ORIGINS,
    verifier: deps.verifier,
    // Templates and push subscriptions are stored as sent: no card numbers in them either.
    refuseCardData: {},
    auditRequests: requestAuditWriter({ pool: deps.pool, schema: SCHEMA, service: 'notification-service' }),
    readinessChecks: {
      postgres: () => pingDatabase(deps.pool),
      redis: () => deps.redis.ping(),
    },
    routes: ({ table }) => {
      sendRoutes(table, deps);
      pushRoutes(table, deps);
      // Fixed paths (/templates, /settings) before /notifications/:id.
      templateRoutes(table, deps);
      settingsRoutes(table, deps);
      deliveryRoutes(table, deps);
    },
  });
}
