import { ListQuerySchema, listResponse, z } from '@pos/types';
import type { RouteTable } from '@pos/http';
import { decodeCursor, encodeCursor, isMongoUnavailable, type Filter, type ObjectId } from '@pos/mongo';
import { badRequest, serviceUnavailable } from '@pos/utils';
import type { AuthDeps } from '../deps';
import { AUDIT_TRAIL, type AuditRecord } from '../audit/audit-record';

const Instant = z.union([z.iso.datetime({ offset: true }), z.iso.date()]);

export const AuditQuery = ListQuerySchema.extend({
  actor: z.string().min(1).max(100).optional().describe('User id of whoever acted'),
  action: z
    .string()
    .regex(/^[a-z_]+\.(\*|[a-z_]+)$/, 'must be an event type like sale.refunded, or a category like security.*')
    .optional(),
  resource: z
    .string()
    .regex(/^[a-z_]+(:[A-Za-z0-9._:-]{1,100})?$/, 'must be a resource type like sale, or type:id')
    .optional(),
  from: Instant.optional().describe('ISO date-time, or a date (from its start, UTC)'),
  to: Instant.optional().describe('ISO date-time, or a date (to its end, UTC)'),
})
  .strict()
  .openapi('AuditQuery');

const AuditRecordSchema = z
  .object({
    id: z.string().describe('The id of the event that produced the record'),
    action: z.string(),
    category: z.string(),
    outcome: z.enum(['success', 'failure', 'denied']),
    status: z.number().int().nullable().describe('HTTP status of the request, for records of requests'),
    occurredAt: z.string(),
    recordedAt: z.string(),
    requestId: z.string().nullable(),
    actor: z.object({ id: z.string(), role: z.string().nullable() }).nullable(),
    storeId: z.string().nullable(),
    resource: z.object({ type: z.string(), id: z.string().nullable() }),
    source: z.string(),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
  })
  .openapi('AuditRecord');
const AuditList = listResponse(AuditRecordSchema).openapi('AuditList');

type StoredRecord = AuditRecord & { _id: ObjectId; eventId: string };

const startOf = (v: string) => new Date(v.length === 10 ? `${v}T00:00:00.000Z` : v);
const endOf = (v: string) => new Date(v.length === 10 ? `${v}T23:59:59.999Z` : v);
const iso = (d: unknown) => (d instanceof Date ? d.toISOString() : String(d));

/** The audit trail of the caller's tenant, newest first, from MongoDB (fed by the audit consumer). */
export function auditRoutes(table: RouteTable, deps: AuthDeps): void {
  table.add({
    method: 'get',
    path: '/api/v1/audit',
    summary: 'The audit trail of your business: every change and security event, newest first (owner only)',
    tags: ['audit'],
    roles: ['owner'],
    query: AuditQuery,
    responses: { 200: { description: 'A page of audit records', schema: AuditList }, 503: { description: 'MongoDB is not reachable right now' } },
    handler: async ({ query, auth }) => {
      const filter: Filter<StoredRecord> = { tenantId: auth.tenantId };
      if (query.actor) filter['actor.id'] = query.actor;
      if (query.action) {
        if (query.action.endsWith('.*')) filter.category = query.action.slice(0, -2);
        else filter.action = query.action;
      }
      if (query.resource) {
        const idx = query.resource.indexOf(':');
        filter['resource.type'] = idx < 0 ? query.resource : query.resource.slice(0, idx);
        if (idx >= 0) filter['resource.id'] = query.resource.slice(idx + 1);
      }
      const from = query.from ? startOf(query.from) : undefined;
      const to = query.to ? endOf(query.to) : undefined;
      if (from && to && from > to) throw badRequest('The request has invalid fields', [{ path: 'query.from', message: 'must not be after `to`' }]);
      if (from || to) filter.occurredAt = { ...(from ? { $gte: from } : {}), ...(to ? { $lte: to } : {}) };
      if (query.cursor) {
        const c = decodeCursor(query.cursor);
        if (!c) throw badRequest('The request has invalid fields', [{ path: 'query.cursor', message: 'is not a cursor from this list' }]);
        filter.$or = [{ occurredAt: { $lt: c.at } }, { occurredAt: c.at, _id: { $lt: c.id } }];
      }
      let docs: StoredRecord[];
      try {
        docs = await deps.mongo.db
          .collection<StoredRecord>(AUDIT_TRAIL)
          .find(filter)
          .sort({ occurredAt: -1, _id: -1 })
          .limit(query.limit + 1)
          .toArray();
      } catch (err) {
        if (isMongoUnavailable(err)) throw serviceUnavailable('The audit trail (MongoDB) is not reachable right now; try again shortly', 'audit_unavailable');
        throw err;
      }
      const page = docs.slice(0, query.limit);
      const last = page[page.length - 1];
      return {
        data: page.map((d) => ({
          id: d.eventId,
          action: d.action,
          category: d.category,
          outcome: d.outcome,
          status: d.status ?? null,
          occurredAt: iso(d.occurredAt),
          recordedAt: iso(d.recordedAt),
          requestId: d.requestId ?? null,
          actor: d.actor ?? null,
          storeId: d.storeId ?? null,
          resource: d.resource,
          source: d.source,
          ip: d.ip ?? null,
          userAgent: d.userAgent ?? null,
          details: d.details ?? {},
        })),
        nextCursor: docs.length > query.limit && last ? encodeCursor(new Date(last.occurredAt), last._id) : null,
      };
    },
  });
}
