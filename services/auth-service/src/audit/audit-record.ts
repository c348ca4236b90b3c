import type { EventEnvelope } from '@pos/types';
import { isSecretKey, maskCardNumbers } from '@pos/utils';

/** The MongoDB collection of the audit trail (POS-DESIGN §7). */
export const AUDIT_TRAIL = 'audit_trail';

/** Every service whose event stream the audit consumer reads. */
export const AUDITED_SERVICES = ['auth-service', 'inventory-service', 'transaction-service', 'payment-service', 'customer-service', 'notification-service'] as const;

export type AuditOutcome = 'success' | 'failure' | 'denied';

/** One document per event in `audit_trail` (its `_id` is factId(eventId); `eventId` is added by upsertFact). */
export interface AuditRecord {
  tenantId: string;
  /** The event type, e.g. `sale.refunded`, `security.login_failed`. */
  action: string;
  /** The part before the dot: `sale`, `security`, … (filter `action=security.*`). */
  category: string;
  outcome: AuditOutcome;
  /** The HTTP status the request got, where the record comes from a request (`request.audited`). */
  status: number | null;
  occurredAt: Date;
  recordedAt: Date;
  requestId: string | null;
  actor: { id: string; role: string | null } | null;
  storeId: string | null;
  resource: { type: string; id: string | null };
  /** The service that produced the event. */
  source: string;
  ip: string | null;
  userAgent: string | null;
  /** What happened, without secrets: secret-named fields are dropped and card numbers masked. */
  details: Record<string, unknown>;
}

const SOURCES: Record<string, string> = {
  tenant: 'auth-service',
  user: 'auth-service',
  store: 'auth-service',
  security: 'auth-service',
  product: 'inventory-service',
  stock: 'inventory-service',
  sale: 'transaction-service',
  shift: 'transaction-service',
  payment: 'payment-service',
  gift_card: 'payment-service',
  customer: 'customer-service',
  notification: 'notification-service',
};

type Data = Record<string, unknown>;
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const obj = (v: unknown): Data => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Data) : {});

/**
 * A deep copy without secrets: fields whose names mark a secret (passwords, PINs, tokens such as
 * `setPasswordToken` / `resetToken`, keys, card numbers, CVV…) are dropped, not just blanked, and
 * anything that looks like a card number is masked to its last four digits.
 */
export function withoutSecrets(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[depth]';
  if (typeof value === 'string') return maskCardNumbers(value);
  if (Array.isArray(value)) return value.map((v) => withoutSecrets(v, depth + 1));
  if (value && typeof value === 'object') {
    const out: Data = {};
    for (const [k, v] of Object.entries(value as Data)) if (!isSecretKey(k)) out[k] = withoutSecrets(v, depth + 1);
    return out;
  }
  return value;
}

/** A sale as the audit trail keeps it: the facts a reviewer needs, not the whole basket. */
function saleSummary(sale: Data): Data {
  const tenders = Array.isArray(sale.tenders) ? (sale.tenders as Data[]) : [];
  const lines = Array.isArray(sale.lines) ? sale.lines : [];
  return {
    saleId: sale.id,
    receiptNumber: sale.receiptNumber ?? null,
    status: sale.status,
    total: sale.total,
    lineCount: lines.length,
    tenders: tenders.map((t) => ({ method: t.method, amount: t.amount, status: t.status ?? null })),
    customerId: sale.customerId ?? null,
    businessDate: sale.businessDate ?? null,
  };
}

interface Mapped {
  actor?: { id: string; role: string | null } | null;
  resourceType?: string;
  resourceId?: string | null;
  storeId?: string | null;
  outcome?: AuditOutcome;
  details?: Data;
  action?: string;
  status?: number | null;
  source?: string;
}

/** Per event type: who acted, on what, and what to keep. Anything else gets the generic mapping. */
function mapEvent(type: string, data: Data): Mapped {
  const actor = (id: unknown, role: unknown = null) => (str(id) ? { id: str(id)!, role: str(role) } : null);
  switch (type) {
    case 'tenant.registered':
      return { actor: actor(data.ownerId, 'owner'), resourceType: 'tenant', resourceId: str(data.tenantId), storeId: str(data.storeId) };
    case 'user.invited':
      return { actor: actor(data.invitedBy) };
    case 'store.created':
    case 'store.updated':
      return { storeId: str(data.storeId) };
    case 'sale.completed':
      return { actor: actor(data.cashierId), resourceId: str(data.id), storeId: str(data.storeId), details: saleSummary(data) };
    case 'sale.voided':
      return { actor: actor(data.voidedBy), resourceId: str(data.id), storeId: str(data.storeId), details: { ...saleSummary(data), reason: data.reason ?? null } };
    case 'sale.refunded': {
      const sale = obj(data.sale);
      const refund = obj(data.refund);
      const lines = Array.isArray(refund.lines) ? refund.lines : [];
      return {
        resourceId: str(sale.id),
        storeId: str(sale.storeId),
        details: {
          ...saleSummary(sale),
          refund: { refundId: refund.id, total: refund.total, restock: refund.restock, reason: refund.reason ?? null, lineCount: lines.length, tenders: refund.tenders ?? [] },
        },
      };
    }
    case 'payment.failed':
      return { outcome: 'failure' };
    case 'request.audited': {
      const outcome = data.outcome === 'failure' || data.outcome === 'denied' ? data.outcome : 'success';
      return {
        action: str(data.action) ?? type,
        status: typeof data.status === 'number' ? data.status : null,
        source: str(data.service) ?? undefined,
        resourceType: str(data.resourceType) ?? 'request',
        resourceId: str(data.resourceId),
        storeId: str(data.storeId),
        outcome,
        details: { method: data.method, route: data.route, status: data.status, durationMs: data.durationMs, replayed: data.replayed },
      };
    }
    case 'user.logged_in':
    case 'user.logged_out':
    case 'user.password_set':
      return { actor: actor(data.userId), resourceType: 'user', resourceId: str(data.userId), storeId: str(data.storeId) };
    case 'security.login_failed':
    case 'security.account_locked':
    case 'security.token_reused':
      return { actor: actor(data.userId), resourceType: 'user', resourceId: str(data.userId), storeId: str(data.storeId), outcome: 'failure' };
    case 'security.permission_denied':
      return {
        actor: actor(data.userId, data.role),
        resourceType: 'route',
        resourceId: `${String(data.method ?? '')} ${String(data.route ?? '')}`.trim(),
        outcome: 'denied',
        status: 403,
        source: str(data.service) ?? undefined,
      };
    default:
      return {};
  }
}

/** Builds the audit record of any event; pure (the consumer adds nothing but the write). */
export function auditRecord(event: EventEnvelope, recordedAt = new Date()): AuditRecord {
  const data = obj(event.data);
  const m = mapEvent(event.type, data);
  const action = m.action ?? event.type;
  const [category = action] = action.split('.');
  const camel = category.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  const occurredAt = new Date(event.occurredAt);
  return {
    tenantId: event.tenantId,
    action,
    category,
    outcome: m.outcome ?? 'success',
    status: m.status ?? null,
    occurredAt: Number.isNaN(occurredAt.getTime()) ? recordedAt : occurredAt,
    recordedAt,
    requestId: event.requestId ?? null,
    actor: m.actor ?? (str(data.actorId) ? { id: str(data.actorId)!, role: str(data.actorRole) } : str(event.actorId) ? { id: str(event.actorId)!, role: str(event.actorRole) } : null),
    storeId: m.storeId !== undefined ? m.storeId : str(data.storeId),
    resource: { type: m.resourceType ?? category, id: m.resourceId !== undefined ? m.resourceId : (str(data[`${camel}Id`]) ?? str(data.id)) },
    source: m.source ?? SOURCES[category] ?? 'unknown',
    ip: str(data.ip) ?? str(event.ip),
    userAgent: str(data.userAgent) ?? str(event.userAgent),
    details: withoutSecrets(m.details ?? omit(data, ['ip', 'userAgent'])) as Data,
  };
}

function omit(data: Data, keys: string[]): Data {
  return Object.fromEntries(Object.entries(data).filter(([k]) => !keys.includes(k)));
}
