import { decodeCursor, pageOf, withTenant } from '@pos/database';
import { IdempotencyKeyHeader, assertStoreAccess, idempotency, requireIdempotencyKey, type RouteTable } from '@pos/http';
import type { PaymentDeps } from '../deps';
import { SCHEMA } from '../data/schema';
import { listPayments, paymentView, refundView } from '../data/payment-repository';
import { Payments } from '../payments';
import type { Deadline } from '../processor';
import { refuseCardData, withHandlerTimeout } from './guards';
import { IdParams, PaymentList, PaymentListQuery, PaymentSchema, ProcessPaymentBody, RefundBody, RefundSchema, VoidByKeyBody } from './schemas';

const tags = ['payments'];
const TAKE = ['owner', 'manager', 'cashier', 'service'] as const;
const READ = ['owner', 'manager', 'cashier', 'service'] as const;
const REVERSE = ['owner', 'manager', 'service'] as const;

export function paymentRoutes(table: RouteTable, deps: PaymentDeps): void {
  const { pool, logger, config } = deps;
  const payments = new Payments(deps);
  const idempotent = idempotency({ pool, schema: SCHEMA, logger, ttlSeconds: 24 * 60 * 60 });
  // Cash and terminal-approved cards are recorded in one transaction, idempotent by the payment's own
  // key (the row is claimed with ON CONFLICT, a repeat replays it, a different body is 422): the
  // general record would add two transactions to every cash sale and guard nothing more. Methods
  // that call out (card processor, gift card, loyalty) keep it, for its in-progress guard.
  const DIRECT_METHODS = new Set(['cash', 'external_card']);
  const idempotentUnlessDirect: typeof idempotent = (req, res, next) =>
    (DIRECT_METHODS.has((req.body as { method?: unknown } | undefined)?.method as string) ? requireIdempotencyKey : idempotent)(req, res, next);
  const noCardData = refuseCardData(logger);
  const timed = <T>(work: (deadline: Deadline) => Promise<T>) => withHandlerTimeout(config.PAYMENT_HANDLER_TIMEOUT_MS, logger, work);
  const keyOf = (req: { get(name: string): string | undefined }) => req.get('Idempotency-Key')!;

  table.add({
    method: 'post',
    path: '/api/v1/payments/process',
    summary: 'Take one tender of a sale: cash, card (through the processor), external card terminal, gift card or loyalty points (redeemed at customer-service)',
    tags,
    roles: TAKE,
    headers: IdempotencyKeyHeader,
    before: [noCardData, idempotentUnlessDirect],
    body: ProcessPaymentBody,
    responses: {
      201: { description: 'Captured (also when a payment with this key was already captured)', schema: PaymentSchema },
      400: { description: 'Bad input; for `loyalty`, also an amount that is not a whole number of points (names `amount`)' },
      402: {
        description:
          '`payment_declined` (with `declineCode`, `reason`), `insufficient_gift_card_balance` or `insufficient_loyalty_points` (with `availableBalance`, and `availablePoints` for loyalty); nothing captured',
      },
      409: { description: '`payment_voided`: this key was voided by key (saga compensation); `idempotency_in_progress`' },
      422: { description: 'The Idempotency-Key was used with a different request' },
      503: {
        description:
          '`processor_unavailable`: processor or customer-service (loyalty) outage or timeouts after retries; retry with the same key, or void it by key (for loyalty the outcome is unknown: void-by-key gives any redeemed points back)',
      },
    },
    handler: async ({ req, res, body, auth }) => {
      assertStoreAccess(auth, body.storeId);
      const { payment, replayed } = await timed((deadline) => payments.process(auth, body, keyOf(req), deadline));
      if (replayed) res.setHeader('Idempotent-Replayed', 'true');
      return paymentView(payment);
    },
  });

  table.add({
    method: 'get',
    path: '/api/v1/payments',
    summary: 'Payments, oldest first: by transaction (the recovery sweep), store, status or Idempotency-Key',
    tags,
    roles: READ,
    query: PaymentListQuery,
    responses: { 200: { description: 'A page of payments', schema: PaymentList } },
    handler: async ({ query, auth }) => {
      if (query.storeId) assertStoreAccess(auth, query.storeId);
      const all = auth.role === 'owner' || auth.role === 'service';
      const storeIds = query.storeId ? [query.storeId] : all ? undefined : auth.stores;
      const after = decodeCursor(query.cursor, ['createdAt', 'id'] as const);
      const rows = await withTenant(pool, auth.tenantId, (db) =>
        listPayments(db, auth.tenantId, {
          transactionId: query.transactionId,
          storeIds,
          idempotencyKey: query.idempotencyKey,
          status: query.status,
          tombstones: (all && !query.storeId && !query.transactionId) || query.idempotencyKey !== undefined,
          limit: query.limit + 1,
          after,
        }),
      );
      const { page, nextCursor } = pageOf(rows, query.limit, (last) => ({ createdAt: last.created_at.toISOString(), id: last.id }));
      return { data: page.map(paymentView), nextCursor };
    },
  });

  table.add({
    method: 'get',
    path: '/api/v1/payments/:id',
    summary: 'One payment',
    tags,
    roles: READ,
    params: IdParams,
    responses: { 200: { description: 'The payment', schema: PaymentSchema }, 404: { description: 'No such payment in your stores' } },
    handler: async ({ params, auth }) => paymentView(await payments.get(auth, params.id)),
  });

  table.add({
    method: 'post',
    path: '/api/v1/payments/:id/refunds',
    summary: 'Refund part or all of a captured payment (never more than captured minus refunded)',
    tags,
    roles: REVERSE,
    headers: IdempotencyKeyHeader,
    before: [noCardData, idempotent],
    params: IdParams,
    body: RefundBody,
    responses: {
      201: { description: 'The refund', schema: RefundSchema },
      404: { description: 'No such payment in your stores' },
      409: { description: '`refund_exceeds_captured` (with `refundableAmount`), `payment_not_captured`, `payment_voided`, `processor_rejected`' },
      503: { description: '`processor_unavailable`: nothing refunded, retry with the same key' },
    },
    handler: async ({ req, res, params, body, auth }) => {
      const { refund, replayed } = await timed((deadline) => payments.refund(auth, params.id, body, keyOf(req), deadline));
      if (replayed) res.setHeader('Idempotent-Replayed', 'true');
      return refundView(refund);
    },
  });

  table.add({
    method: 'post',
    path: '/api/v1/payments/:id/void',
    summary: 'Void a payment: reverse everything not yet refunded (processor void, gift card credited, loyalty points given back); idempotent',
    tags,
    roles: REVERSE,
    headers: IdempotencyKeyHeader,
    before: [noCardData, idempotent],
    params: IdParams,
    responses: {
      200: { description: 'The voided payment', schema: PaymentSchema },
      404: { description: 'No such payment in your stores' },
      409: { description: '`payment_not_captured`: the payment was declined' },
      503: { description: '`processor_unavailable`: nothing changed, retry' },
    },
    handler: ({ params, auth }) => timed(async (deadline) => paymentView(await payments.voidById(auth, params.id, deadline))),
  });

  table.add({
    method: 'post',
    path: '/api/v1/payments/void-by-key',
    summary: "Saga compensation: void the payment taken with this Idempotency-Key, or leave a tombstone so a late capture with it is refused; idempotent",
    tags,
    roles: REVERSE,
    before: [noCardData],
    body: VoidByKeyBody,
    responses: {
      200: { description: 'The voided payment, the tombstone (`tombstone: true`), or a declined payment (nothing to void)', schema: PaymentSchema },
      404: { description: 'The payment with this key is in a store you may not act in' },
      503: { description: '`processor_unavailable`: nothing changed, retry' },
    },
    handler: ({ body, auth }) => timed(async (deadline) => paymentView(await payments.voidByKey(auth, body.idempotencyKey, deadline))),
  });
}
