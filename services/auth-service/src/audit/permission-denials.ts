import type { RequestHandler } from 'express';
import { withTenant } from '@pos/database';
import { writeEvent } from '@pos/events';
import { EVENTS } from '@pos/types';
import type { AuthDeps } from '../deps';
import { SCHEMA } from '../deps';
import { clientInfo } from '../http/auth-routes';

/**
 * Records every 403 given to a signed-in caller as `security.permission_denied` (auth-service's
 * outbox, so it reaches the audit trail like any event). Written after the response has gone out,
 * in its own transaction: the refusal never waits for it, and a failure here is only logged.
 */
export function recordPermissionDenials(deps: AuthDeps): RequestHandler {
  return (req, res, next) => {
    res.on('finish', () => {
      const auth = req.auth;
      if (res.statusCode !== 403 || !auth) return;
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : req.path;
      const data = { userId: auth.userId, role: auth.role, method: req.method, route, ...clientInfo(req) };
      const requestId = req.header('x-request-id') ?? null;
      withTenant(deps.pool, auth.tenantId, (db) =>
        writeEvent(db, { schema: SCHEMA, type: EVENTS.securityPermissionDenied, tenantId: auth.tenantId, requestId, data }),
      ).catch((err: unknown) => deps.logger.warn('could not record a permission denial', { err: err instanceof Error ? err.message : String(err) }));
    });
    next();
  };
}
