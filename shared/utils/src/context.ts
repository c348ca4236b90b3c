import { AsyncLocalStorage } from 'node:async_hooks';

export interface RequestContext {
  requestId: string;
  tenantId?: string;
  userId?: string;
  role?: string;
  /** The caller's address and user agent, for the audit trail (never copied into log lines). */
  ip?: string;
  userAgent?: string;
  /** How many events this request wrote to an outbox: such a write is audited through its events. */
  eventsWritten?: number;
}

const storage = new AsyncLocalStorage<RequestContext>();

export function runWithContext<T>(ctx: RequestContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

export function currentContext(): RequestContext | undefined {
  return storage.getStore();
}
