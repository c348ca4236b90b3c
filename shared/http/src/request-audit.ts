import type { RequestHandler } from 'express';
import type { RequestAuditEntry } from '@pos/types';
import { currentContext, type Logger } from '@pos/utils';

export type RequestAuditSink = (entry: RequestAuditEntry) => Promise<unknown>;

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const idLike = (v: unknown): string | null => (typeof v === 'string' && /^[A-Za-z0-9_-]{1,100}$/.test(v) ? v : null);

/** `{ id: 'abc' }` for template `/x/:id/cash` and path `/x/abc/cash`; empty when they do not line up. */
function routeParams(template: string, path: string): Record<string, string> {
  const t = template.split('/');
  const p = path.split('/');
  if (t.length !== p.length) return {};
  const out: Record<string, string> = {};
  for (let i = 0; i < t.length; i++) {
    if (!t[i]!.startsWith(':')) continue;
    try {
      out[t[i]!.slice(1)] = decodeURIComponent(p[i]!);
    } catch {
      return {};
    }
  }
  return out;
}

/** How long an answer waits for its audit record before it leaves anyway (the write goes on). */
export const AUDIT_WAIT_MS = 500;

/**
 * Hands the sink every state-changing request of a signed-in user that did not record itself through
 * an event (a write that succeeded after writing to an outbox is already in the audit trail, with its
 * request id, actor and address), every write that failed, and every 403 (reads too, services too).
 * The record is written before the answer leaves, so a process that dies after answering cannot lose
 * it; a slow or failing sink delays the answer by at most AUDIT_WAIT_MS and never fails it (only logged).
 */
export function recordRequestAudits(sink: RequestAuditSink, logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const ctx = currentContext();
    let bodyId: string | null = null;
    if (WRITES.has(req.method)) {
      // Only the id of what a create made, so that its record names the new resource.
      const json = res.json.bind(res);
      res.json = (body: unknown) => {
        if (body && typeof body === 'object') bodyId = idLike((body as { id?: unknown }).id);
        return json(body);
      };
    }
    const entryFor = (): RequestAuditEntry | null => {
      const auth = req.auth;
      const status = res.statusCode;
      // Unmatched paths change nothing; callers without a token have no tenant to audit under.
      if (!auth || !req.route) return null;
      if (status !== 403) {
        if (!WRITES.has(req.method)) return null;
        // A service's call (a reservation for a sale) is part of the user's request that caused it,
        // which is audited where it arrived, under the same request id.
        if (auth.role === 'service') return null;
        if (status < 400 && (ctx?.eventsWritten ?? 0) > 0) return null;
      }
      const route = `${req.baseUrl}${String(req.route.path)}`;
      // After an error the router has restored req.params to the app's (empty): read them off the path.
      const params = routeParams(route, req.originalUrl.split('?')[0] ?? '');
      const paramId = idLike(params.id) ?? idLike(Object.entries(params).find(([k]) => k.endsWith('Id'))?.[1]);
      const body = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, unknown>;
      const query = req.query as Record<string, unknown>;
      return {
        tenantId: auth.tenantId,
        actorId: auth.userId,
        actorRole: auth.role,
        requestId: ctx?.requestId ?? req.header('x-request-id') ?? null,
        method: req.method,
        route,
        status,
        resourceId: paramId ?? bodyId,
        storeId: idLike(params.storeId) ?? idLike(body.storeId) ?? idLike(query.storeId),
        durationMs: Math.round(Number(process.hrtime.bigint() - started) / 1e6),
        replayed: res.getHeader('idempotent-replayed') === 'true',
        ip: req.ip ?? null,
        userAgent: req.get('user-agent')?.slice(0, 256) ?? null,
      };
    };
    const end = res.end.bind(res) as (...args: unknown[]) => typeof res;
    let ending = false;
    res.end = ((...args: unknown[]) => {
      if (ending) return end(...args);
      ending = true;
      const entry = entryFor();
      if (!entry) return end(...args);
      const written = sink(entry).catch((err: unknown) =>
        logger.warn('could not record a request in the audit trail', { route: entry.route, status: entry.status, err: err instanceof Error ? err.message : String(err) }),
      );
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, AUDIT_WAIT_MS)));
      void Promise.race([written, waited]).then(() => {
        clearTimeout(timer);
        end(...args);
      });
      return res;
    }) as typeof res.end;
    next();
  };
}
