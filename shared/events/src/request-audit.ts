import { withTenant, type Pool } from '@pos/database';
import { EVENTS, type RequestAuditEntry } from '@pos/types';
import { writeEvent } from './outbox';

/**
 * `<resource>.<operation>` of a route, for the audit trail: the first segment after the version names
 * the resource (singular, snake_case, or what `aliases` says), the static segments after it name the
 * operation, else the method does. `POST /api/v1/shifts/:id/cash` → `shift.cash`,
 * `PATCH /api/v1/products/:id` → `product.update`, `PUT /api/v1/loyalty/rule` → `loyalty.rule_update`.
 */
export function requestAction(method: string, route: string, aliases: Record<string, string> = {}): { action: string; resourceType: string } {
  const segments = route.split('/').filter((s) => s !== '' && s !== 'api' && !/^v\d+$/.test(s));
  const snake = (s: string) => s.toLowerCase().replace(/[^a-z]+/g, '_').replace(/^_+|_+$/g, '') || 'resource';
  const first = segments[0] ?? 'resource';
  const resourceType = aliases[first] ?? snake(first.replace(/ies$/, 'y').replace(/([^s])s$/, '$1'));
  const ops = segments.slice(1).filter((s) => !s.startsWith(':')).map(snake);
  const verb = ({ POST: 'create', PUT: 'update', PATCH: 'update', DELETE: 'delete' } as Record<string, string>)[method.toUpperCase()] ?? snake(method);
  const operation = ops.length === 0 ? verb : method.toUpperCase() === 'POST' ? ops.join('_') : `${ops.join('_')}_${verb}`;
  return { action: `${resourceType}.${operation}`, resourceType };
}

export interface RequestAuditWriterOptions {
  pool: Pool;
  /** The service's schema: the records go through its outbox and stream like its other events. */
  schema: string;
  service: string;
  /** Route segment -> resource type where the path's word is not the domain's (`transactions` -> `sale`). */
  aliases?: Record<string, string>;
}

/**
 * The sink for @pos/http's recordRequestAudits: a 403 becomes `security.permission_denied`, anything
 * else `request.audited`, written to the service's outbox in a transaction of its own; the audit
 * consumer turns it into an audit_trail record like every other event.
 */
export function requestAuditWriter(options: RequestAuditWriterOptions): (entry: RequestAuditEntry) => Promise<void> {
  const { pool, schema, service, aliases } = options;
  return async (entry) => {
    const actor = { id: entry.actorId, role: entry.actorRole, ip: entry.ip, userAgent: entry.userAgent };
    const base = { schema, tenantId: entry.tenantId, requestId: entry.requestId, actor };
    await withTenant(pool, entry.tenantId, async (db) => {
      if (entry.status === 403) {
        await writeEvent(db, {
          ...base,
          type: EVENTS.securityPermissionDenied,
          data: { service, userId: entry.actorId, role: entry.actorRole, method: entry.method, route: entry.route, ip: entry.ip, userAgent: entry.userAgent },
        });
        return;
      }
      const { action, resourceType } = requestAction(entry.method, entry.route, aliases);
      await writeEvent(db, {
        ...base,
        type: EVENTS.requestAudited,
        data: {
          service,
          action,
          method: entry.method,
          route: entry.route,
          status: entry.status,
          outcome: entry.status < 400 ? 'success' : entry.status === 401 ? 'denied' : 'failure',
          resourceType,
          resourceId: entry.resourceId,
          storeId: entry.storeId,
          durationMs: entry.durationMs,
          replayed: entry.replayed,
        },
      });
    });
  };
}
