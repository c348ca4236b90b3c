import { createServiceApp, type ServiceApp } from '@pos/http';
import { requestAuditWriter } from '@pos/events';
import { SCHEMA } from './stock-ledger';
import { pingDatabase } from '@pos/database';
import type { InventoryDeps } from './deps';
import { CODE_FIELDS, IMPORT_PATH, productRoutes } from './http/product-routes';
import { categoryRoutes } from './http/category-routes';
import { stockRoutes } from './http/stock-routes';

export function createApp(deps: InventoryDeps): ServiceApp {
  return createServiceApp({
    name: 'inventory-service',
    logger: deps.logger,
    corsOrigins: deps.config.CORS_ORIGINS,
    verifier: deps.verifier,
    // The catalog import takes up to 10,000 rows and parses its own (larger) body.
    ownBodyPaths: [IMPORT_PATH],
    // Names, descriptions and stock notes are free text; SKUs and barcodes are codes (an EAN-13 may pass Luhn).
    refuseCardData: { ignoreFields: CODE_FIELDS },
    auditRequests: requestAuditWriter({ pool: deps.pool, schema: SCHEMA, service: 'inventory-service' }),
    readinessChecks: {
      postgres: () => pingDatabase(deps.pool),
      redis: () => deps.redis.ping(),
    },
    routes: ({ table }) => {
      productRoutes(table, deps);
      categoryRoutes(table, deps);
      stockRoutes(table, deps);
    },
  });
}
