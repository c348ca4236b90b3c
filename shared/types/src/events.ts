import { z } from './zod';

/** Event names are `<entity>.<past-tense verb>`; producers and consumers use these constants. */
export const EVENTS = {
  tenantRegistered: 'tenant.registered',
  userCreated: 'user.created',
  userInvited: 'user.invited',
  userUpdated: 'user.updated',
  userDeactivated: 'user.deactivated',
  userPasswordResetRequested: 'user.password_reset_requested',
  userLoggedIn: 'user.logged_in',
  userLoggedOut: 'user.logged_out',
  userPasswordSet: 'user.password_set',
  storeCreated: 'store.created',
  storeUpdated: 'store.updated',
  productCreated: 'product.created',
  productUpdated: 'product.updated',
  productDeleted: 'product.deleted',
  stockChanged: 'stock.changed',
  stockLow: 'stock.low',
  saleCompleted: 'sale.completed',
  saleVoided: 'sale.voided',
  saleRefunded: 'sale.refunded',
  paymentCaptured: 'payment.captured',
  paymentRefunded: 'payment.refunded',
  paymentFailed: 'payment.failed',
  customerCreated: 'customer.created',
  customerUpdated: 'customer.updated',
  customerErased: 'customer.erased',
  customerExported: 'customer.exported',
  // Security events (auth-service), written to its outbox so the audit trail records them.
  securityLoginFailed: 'security.login_failed',
  securityAccountLocked: 'security.account_locked',
  securityTokenReused: 'security.token_reused',
  securityPermissionDenied: 'security.permission_denied',
  // A state-changing request that wrote no event of its own (or failed): the audit trail's record of it.
  requestAudited: 'request.audited',
} as const;
export type EventType = (typeof EVENTS)[keyof typeof EVENTS];

export const EventEnvelopeSchema = z.object({
  id: z.string().uuid(),
  type: z.string().regex(/^[a-z_]+\.[a-z_]+$/),
  version: z.number().int().positive(),
  tenantId: z.string().uuid(),
  occurredAt: z.string(),
  requestId: z.string().nullable().optional(),
  /** Who caused it (from the request's token), for the audit trail; null for system work. */
  actorId: z.string().nullable().optional(),
  actorRole: z.string().nullable().optional(),
  /** The caller's address and user agent when a request caused it (audit trail). */
  ip: z.string().nullable().optional(),
  userAgent: z.string().nullable().optional(),
  data: z.record(z.string(), z.unknown()),
});
export type EventEnvelope<D = Record<string, unknown>> = Omit<z.infer<typeof EventEnvelopeSchema>, 'data'> & { data: D };

const uuid = z.string().uuid();
const money = z.object({ amount: z.number().int(), currency: z.string() });

export const StoreSnapshot = z.object({
  storeId: uuid,
  name: z.string(),
  currency: z.string(),
  timezone: z.string(),
  taxInclusive: z.boolean(),
  allowNegativeStock: z.boolean(),
  active: z.boolean(),
  version: z.number().int(),
});

export const ProductSnapshot = z.object({
  productId: uuid,
  sku: z.string(),
  name: z.string(),
  barcodes: z.array(z.string()),
  price: money,
  taxRateBps: z.number().int(),
  categoryId: uuid.nullable(),
  active: z.boolean(),
  version: z.number().int(),
});

/** One schema per event type; producers validate before writing to the outbox. */
export const EventDataSchemas = {
  [EVENTS.tenantRegistered]: z.object({ tenantId: uuid, name: z.string(), ownerId: uuid, storeId: uuid }),
  [EVENTS.userCreated]: z.object({ userId: uuid, email: z.string(), role: z.string(), storeIds: z.array(uuid) }),
  [EVENTS.userInvited]: z.object({
    userId: uuid,
    email: z.string(),
    name: z.string(),
    invitedBy: z.string(),
    // The one-time set-password token travels to notification-service inside the private event stream;
    // audit consumers must drop it.
    setPasswordToken: z.string(),
    expiresAt: z.string(),
  }),
  [EVENTS.userUpdated]: z.object({ userId: uuid, changes: z.array(z.string()) }),
  [EVENTS.userDeactivated]: z.object({ userId: uuid }),
  [EVENTS.userPasswordResetRequested]: z.object({
    userId: uuid,
    email: z.string(),
    name: z.string(),
    resetToken: z.string(),
    expiresAt: z.string(),
  }),
  // Store events carry the whole store so consumers keep a projection without calling back.
  [EVENTS.storeCreated]: StoreSnapshot,
  [EVENTS.storeUpdated]: StoreSnapshot,
  [EVENTS.productCreated]: ProductSnapshot,
  [EVENTS.productUpdated]: ProductSnapshot,
  [EVENTS.productDeleted]: z.object({ productId: uuid, sku: z.string() }),
  [EVENTS.stockChanged]: z.object({
    storeId: uuid,
    kind: z.string(),
    reference: z.object({ type: z.string(), id: z.string() }).nullable(),
    changes: z.array(z.object({ productId: uuid, delta: z.number().int(), onHand: z.number().int() })),
  }),
  [EVENTS.stockLow]: z.object({
    storeId: uuid,
    productId: uuid,
    sku: z.string(),
    name: z.string(),
    onHand: z.number().int(),
    reorderPoint: z.number().int(),
  }),
  // Payment events (payment-service). Only token-derived card facts (brand, last 4) ever travel.
  [EVENTS.paymentCaptured]: z.object({
    paymentId: uuid,
    transactionId: uuid,
    storeId: uuid,
    idempotencyKey: z.string(),
    method: z.enum(['cash', 'card', 'external_card', 'gift_card', 'loyalty']),
    amount: money,
    card: z.object({ brand: z.string(), last4: z.string() }).nullable(),
    giftCard: z.object({ giftCardId: uuid, last4: z.string(), balanceAfter: money }).nullable(),
    processorRef: z.string().nullable(),
  }),
  // A partial or full refund, or a void (`void: true`, refundId null) that reverses what was left.
  [EVENTS.paymentRefunded]: z.object({
    paymentId: uuid,
    transactionId: uuid,
    storeId: uuid,
    method: z.enum(['cash', 'card', 'external_card', 'gift_card', 'loyalty']),
    refundId: uuid.nullable(),
    amount: money,
    refundedTotal: money,
    void: z.boolean(),
    reason: z.string().nullable(),
  }),
  // A final failure: declined by the processor, or a gift card that cannot pay.
  [EVENTS.paymentFailed]: z.object({
    paymentId: uuid,
    transactionId: uuid,
    storeId: uuid,
    idempotencyKey: z.string(),
    method: z.enum(['cash', 'card', 'external_card', 'gift_card', 'loyalty']),
    amount: money,
    code: z.string(),
    reason: z.string(),
  }),
  // Customer events (customer-service) carry ids, flags and field names only, never contact details:
  // notification-service looks those up with a service token (POS-DESIGN §11).
  [EVENTS.customerCreated]: z.object({
    customerId: uuid,
    version: z.number().int(),
    hasEmail: z.boolean(),
    hasPhone: z.boolean(),
    marketingConsent: z.object({ email: z.boolean(), sms: z.boolean() }),
  }),
  [EVENTS.customerUpdated]: z.object({
    customerId: uuid,
    version: z.number().int(),
    /** Names of the fields that changed, e.g. ["email", "marketingConsent.sms"]. */
    changes: z.array(z.string()),
    marketingConsent: z.object({ email: z.boolean(), sms: z.boolean() }),
  }),
  // Audit events of the privacy routes: who, when — no personal data.
  [EVENTS.customerErased]: z.object({ customerId: uuid, actorId: z.string(), actorRole: z.string(), erasedAt: z.string() }),
  [EVENTS.customerExported]: z.object({ customerId: uuid, actorId: z.string(), actorRole: z.string(), exportedAt: z.string() }),
  // Security events: who (user id, never the credential), how, and from where. No passwords, PINs or tokens.
  [EVENTS.securityLoginFailed]: z.object({
    userId: uuid,
    method: z.enum(['password', 'pin']),
    /** wrong_secret | locked | inactive */
    reason: z.string(),
    storeId: uuid.nullable(),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
  }),
  [EVENTS.securityAccountLocked]: z.object({
    userId: uuid,
    method: z.enum(['password', 'pin']),
    lockedUntil: z.string(),
    storeId: uuid.nullable(),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
  }),
  // Sessions and credentials (auth-service), for the audit trail: who, how, from where; never the secret.
  [EVENTS.userLoggedIn]: z.object({
    userId: uuid,
    method: z.enum(['password', 'pin', 'oauth']),
    storeId: uuid.nullable(),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
  }),
  [EVENTS.userLoggedOut]: z.object({ userId: uuid, familyId: uuid, ip: z.string().nullable(), userAgent: z.string().nullable() }),
  [EVENTS.userPasswordSet]: z.object({ userId: uuid, ip: z.string().nullable(), userAgent: z.string().nullable() }),
  // A rotated refresh token presented again outside the grace window: the whole family was revoked.
  [EVENTS.securityTokenReused]: z.object({ userId: uuid, familyId: uuid, ip: z.string().nullable(), userAgent: z.string().nullable() }),
  // A signed-in caller was refused (403) by any service.
  [EVENTS.securityPermissionDenied]: z.object({
    /** The service that refused. */
    service: z.string().optional(),
    userId: z.string(),
    role: z.string(),
    method: z.string(),
    route: z.string(),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
  }),
  // Request facts only: never the body (it may hold secrets), only the ids it named.
  [EVENTS.requestAudited]: z.object({
    service: z.string(),
    /** `<resource>.<operation>` derived from the route, e.g. `shift.cash`, `gift_card.load`. */
    action: z.string().regex(/^[a-z_]+\.[a-z_]+$/),
    method: z.string(),
    route: z.string(),
    status: z.number().int(),
    outcome: z.enum(['success', 'failure', 'denied']),
    resourceType: z.string(),
    resourceId: z.string().nullable(),
    storeId: z.string().nullable(),
    durationMs: z.number().int().nonnegative(),
    replayed: z.boolean(),
  }),
} as const;

/**
 * What the audit trail keeps of one request (built by @pos/http after the response, written as a
 * `request.audited` or `security.permission_denied` event): facts about it, never its body.
 */
export interface RequestAuditEntry {
  tenantId: string;
  actorId: string;
  actorRole: string;
  requestId: string | null;
  method: string;
  /** The route template (`/api/v1/shifts/:id/cash`), never the raw path. */
  route: string;
  status: number;
  resourceId: string | null;
  storeId: string | null;
  durationMs: number;
  /** Answered from the idempotency store (the change happened in an earlier request). */
  replayed: boolean;
  ip: string | null;
  userAgent: string | null;
}
