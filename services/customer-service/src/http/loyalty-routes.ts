import type { RequestHandler } from 'express';
import { ListQuerySchema, z } from '@pos/types';
import { decodeCursor, pageOf, PG, pgCode, withTenant } from '@pos/database';
import { IdempotencyKeyHeader, idempotency, type RouteTable } from '@pos/http';
import { ProblemError, badRequest, conflict, notFound, unprocessable, versionConflict } from '@pos/utils';
import { SCHEMA, type CustomerDeps } from '../deps';
import {
  addTombstone,
  appendEntry,
  findEntryByKey,
  findRule,
  findTombstone,
  ledgerView,
  listLedger,
  refundedPoints,
  saveRule,
  type LedgerRow,
} from '../data/loyalty-repository';
import { loadCustomer } from './customer-routes';
import { refuseCardData } from './guards';
import {
  AdjustmentBody,
  IdParams,
  LedgerEntrySchema,
  LoyaltySchema,
  PutRuleBody,
  RedemptionBody,
  RedemptionParams,
  RedemptionRefundBody,
  RedemptionRefundSchema,
  RedemptionSchema,
  RedemptionStateSchema,
  RuleSchema,
} from './schemas';

const tags = ['loyalty'];
const READ = ['owner', 'manager', 'cashier', 'service'] as const;
/** payment-service redeems a `loyalty` tender with the tender's key (POS-DESIGN §11 "Tenders"). */
const REDEEM = ['service', 'owner', 'manager', 'cashier'] as const;
const GIVE_BACK = ['service', 'owner', 'manager'] as const;

export const insufficientPoints = (available: number, requested: number) =>
  new ProblemError(402, 'insufficient_points', 'Payment Required', `Only ${available} points are available; ${requested} were asked for`, undefined, undefined, {
    availablePoints: available,
  });

const redemptionView = (e: LedgerRow) => ({
  id: e.id,
  customerId: e.customer_id,
  key: e.key!,
  points: -e.points,
  balanceAfter: e.balance_after,
  reference: e.reference,
  createdAt: e.created_at.toISOString(),
});

const redemptionStatus = (redeemed: number, refunded: number) => (refunded <= 0 ? 'redeemed' : refunded >= redeemed ? 'refunded' : 'partially_refunded');

const OptionalIdempotencyKeyHeader = z.object({
  'idempotency-key': IdempotencyKeyHeader.shape['idempotency-key']
    .optional()
    .openapi({ description: 'Required when `points` is given (a partial give-back); makes the call safe to retry.' }),
});

export function loyaltyRoutes(table: RouteTable, deps: CustomerDeps): void {
  const { pool, config, logger } = deps;
  const idempotent = idempotency({ pool, schema: SCHEMA, logger });
  const idempotentIfKeyed: RequestHandler = (req, res, next) => (req.get('Idempotency-Key') ? idempotent(req, res, next) : next());
  const noCardData = refuseCardData(logger);

  table.add({
    method: 'get',
    path: '/api/v1/loyalty/rule',
    summary: "The tenant's earning rule (the service default until the owner sets one)",
    tags,
    roles: READ,
    responses: { 200: { description: 'The rule', schema: RuleSchema } },
    handler: ({ auth }) => withTenant(pool, auth.tenantId, (db) => findRule(db, auth.tenantId, config.LOYALTY_POINTS_PER_UNIT)),
  });

  table.add({
    method: 'put',
    path: '/api/v1/loyalty/rule',
    summary: "Set the tenant's earning rule: points per whole currency unit of net spend (version checked; 0 = the default)",
    tags,
    roles: ['owner'],
    body: PutRuleBody,
    responses: { 200: { description: 'The rule', schema: RuleSchema }, 409: { description: 'Stale version' } },
    handler: ({ body, auth }) =>
      withTenant(pool, auth.tenantId, async (db) => {
        if (!(await saveRule(db, auth.tenantId, body.version, body.pointsPerUnit, auth.userId))) {
          throw versionConflict((await findRule(db, auth.tenantId, config.LOYALTY_POINTS_PER_UNIT)).version);
        }
        return findRule(db, auth.tenantId, config.LOYALTY_POINTS_PER_UNIT);
      }),
  });

  table.add({
    method: 'get',
    path: '/api/v1/customers/:id/loyalty',
    summary: 'Points balance and ledger (newest first)',
    tags,
    roles: READ,
    params: IdParams,
    query: ListQuerySchema,
    responses: { 200: { description: 'Balance and a page of the ledger', schema: LoyaltySchema }, 404: { description: 'No such customer' } },
    handler: async ({ params, query, auth }) => {
      const before = decodeCursor(query.cursor, ['seq'] as const);
      const { customer, rows } = await withTenant(pool, auth.tenantId, async (db) => {
        const found = await loadCustomer(db, auth.tenantId, params.id);
        return { customer: found, rows: await listLedger(db, auth.tenantId, found.id, query.limit + 1, before ? Number(before.seq) : undefined) };
      });
      const { page, nextCursor } = pageOf(rows, query.limit, (last) => ({ seq: last.seq }));
      return { customerId: customer.id, balance: customer.loyalty_balance, ledger: page.map(ledgerView), nextCursor };
    },
  });

  table.add({
    method: 'post',
    path: '/api/v1/customers/:id/loyalty/redemptions',
    summary: 'Redeem points (a `loyalty` tender): never below zero; idempotent by Idempotency-Key',
    tags,
    roles: REDEEM,
    headers: IdempotencyKeyHeader,
    before: [noCardData, idempotent],
    params: IdParams,
    body: RedemptionBody,
    responses: {
      201: { description: 'Redeemed (200 with Idempotent-Replayed when this key already redeemed)', schema: RedemptionSchema },
      402: { description: '`insufficient_points`, with `availablePoints`' },
      404: { description: 'No such customer' },
      409: { description: 'The key was cancelled before the redemption arrived (`redemption_voided`), or the customer is erased' },
      422: { description: 'The key was used for a different redemption' },
    },
    handler: async ({ params, body, auth, req, res }) => {
      const key = req.get('Idempotency-Key')!;
      const outcome = await withTenant(pool, auth.tenantId, async (db) => {
        // The row lock serialises every balance change of this customer: concurrent redemptions queue here.
        const customer = await loadCustomer(db, auth.tenantId, params.id, true);
        const existing = await findEntryByKey(db, auth.tenantId, 'redeem', key);
        if (existing) {
          if (existing.customer_id !== customer.id || -existing.points !== body.points) {
            throw unprocessable('This Idempotency-Key already redeemed different points; use a new key for a new redemption', 'idempotency_key_reused');
          }
          return { replayed: true, entry: existing };
        }
        if (await findTombstone(db, auth.tenantId, key)) throw conflict('This redemption was cancelled before it arrived; use a new key', 'redemption_voided');
        if (customer.erased_at) throw conflict('This customer was erased', 'customer_erased');
        if (customer.loyalty_balance < body.points) throw insufficientPoints(customer.loyalty_balance, body.points);
        const entry = await appendEntry(db, {
          tenantId: auth.tenantId,
          customerId: customer.id,
          kind: 'redeem',
          points: -body.points,
          balanceBefore: customer.loyalty_balance,
          key,
          reference: body.reference,
          actorId: auth.userId,
        });
        return { replayed: false, entry };
      }).catch((err: unknown) => {
        // Same key on another customer at the same instant: the unique index decides.
        if (pgCode(err) === PG.uniqueViolation) throw conflict('A redemption with this Idempotency-Key is being processed', 'idempotency_in_progress');
        throw err;
      });
      if (outcome.replayed) res.setHeader('Idempotent-Replayed', 'true');
      res.status(outcome.replayed ? 200 : 201).json(redemptionView(outcome.entry));
    },
  });

  table.add({
    method: 'get',
    path: '/api/v1/customers/:id/loyalty/redemptions/:key',
    summary: 'A redemption by its key (for recovery sweeps): redeemed, partially refunded, refunded or voided (tombstone)',
    tags,
    roles: REDEEM,
    params: RedemptionParams,
    responses: { 200: { description: 'The redemption', schema: RedemptionStateSchema }, 404: { description: 'No such customer or redemption' } },
    handler: ({ params, auth }) =>
      withTenant(pool, auth.tenantId, async (db) => {
        const customer = await loadCustomer(db, auth.tenantId, params.id);
        const entry = await findEntryByKey(db, auth.tenantId, 'redeem', params.key);
        if (!entry) {
          const tomb = await findTombstone(db, auth.tenantId, params.key);
          if (!tomb || tomb.customer_id !== customer.id) throw notFound('Redemption');
          return { key: params.key, customerId: customer.id, status: 'voided' as const, redemptionId: null, points: 0, refundedPoints: 0, createdAt: tomb.created_at.toISOString() };
        }
        if (entry.customer_id !== customer.id) throw notFound('Redemption');
        const refunded = await refundedPoints(db, auth.tenantId, entry.id);
        return {
          key: params.key,
          customerId: customer.id,
          status: redemptionStatus(-entry.points, refunded),
          redemptionId: entry.id,
          points: -entry.points,
          refundedPoints: refunded,
          createdAt: entry.created_at.toISOString(),
        };
      }),
  });

  table.add({
    method: 'post',
    path: '/api/v1/customers/:id/loyalty/redemptions/:key/refund',
    summary:
      'Give back the points of a redemption (refund or void of a loyalty tender): all that is left, or `points` with an Idempotency-Key. A key that never redeemed leaves a tombstone, so a late redemption with it is refused',
    tags,
    roles: GIVE_BACK,
    headers: OptionalIdempotencyKeyHeader,
    before: [noCardData, idempotentIfKeyed],
    params: RedemptionParams,
    body: RedemptionRefundBody,
    responses: {
      201: { description: 'Points given back (200 when there was nothing left to give back or this call was already made)', schema: RedemptionRefundSchema },
      404: { description: 'No such customer, or the redemption belongs to another customer' },
      409: { description: '`refund_exceeds_redemption`: more than is left of the redemption (`refundablePoints`)' },
    },
    handler: async ({ params, body, auth, req, res }) => {
      const callKey = req.get('Idempotency-Key');
      if (body?.points !== undefined && !callKey) {
        throw badRequest('Giving back part of a redemption needs an Idempotency-Key', [{ path: 'headers.idempotency-key', message: 'is required when points is given' }], 'idempotency_key_required');
      }
      const outcome = await withTenant(pool, auth.tenantId, async (db) => {
        const customer = await loadCustomer(db, auth.tenantId, params.id, true);
        const redemption = await findEntryByKey(db, auth.tenantId, 'redeem', params.key);
        if (!redemption) {
          // Compensation of a redemption whose outcome was unknown: remember the key as cancelled.
          const tomb = await findTombstone(db, auth.tenantId, params.key);
          if (tomb && tomb.customer_id !== customer.id) throw notFound('Redemption');
          await addTombstone(db, auth.tenantId, params.key, customer.id);
          return { created: false, body: { redemptionId: null, key: params.key, status: 'voided' as const, points: 0, redeemedPoints: 0, refundedPoints: 0, balance: customer.loyalty_balance, entryId: null } };
        }
        if (redemption.customer_id !== customer.id) throw notFound('Redemption');
        const redeemed = -redemption.points;
        const entryKey = `${redemption.id}:${callKey ?? 'rest'}`;
        const already = await refundedPoints(db, auth.tenantId, redemption.id);
        const summary = (points: number, refunded: number, balance: number, entryId: string | null) => ({
          redemptionId: redemption.id,
          key: params.key,
          status: redemptionStatus(redeemed, refunded),
          points,
          redeemedPoints: redeemed,
          refundedPoints: refunded,
          balance,
          entryId,
        });
        const prior = await findEntryByKey(db, auth.tenantId, 'redeem_refund', entryKey);
        if (prior) return { created: false, body: summary(prior.points, already, customer.loyalty_balance, prior.id) };
        const remaining = redeemed - already;
        const points = body?.points ?? remaining;
        if (points > remaining) {
          throw conflict(`Only ${remaining} points of this redemption can still be given back`, 'refund_exceeds_redemption', { refundablePoints: remaining });
        }
        if (points === 0) return { created: false, body: summary(0, already, customer.loyalty_balance, null) };
        const entry = await appendEntry(db, {
          tenantId: auth.tenantId,
          customerId: customer.id,
          kind: 'redeem_refund',
          points,
          balanceBefore: customer.loyalty_balance,
          key: entryKey,
          redemptionId: redemption.id,
          reference: body?.reason ?? redemption.reference,
          actorId: auth.userId,
        });
        return { created: true, body: summary(points, already + points, entry.balance_after, entry.id) };
      });
      res.status(outcome.created ? 201 : 200).json(outcome.body);
    },
  });

  table.add({
    method: 'post',
    path: '/api/v1/customers/:id/loyalty/adjustments',
    summary: 'Add or remove points by hand (goodwill, corrections), never below zero',
    tags,
    roles: ['owner', 'manager'],
    headers: IdempotencyKeyHeader,
    before: [noCardData, idempotent],
    params: IdParams,
    body: AdjustmentBody,
    responses: {
      201: { description: 'The ledger entry', schema: LedgerEntrySchema },
      404: { description: 'No such customer' },
      409: { description: '`insufficient_points` (with `availablePoints`) or the customer is erased' },
    },
    handler: async ({ params, body, auth, req, res }) => {
      const key = req.get('Idempotency-Key')!;
      const outcome = await withTenant(pool, auth.tenantId, async (db) => {
        const customer = await loadCustomer(db, auth.tenantId, params.id, true);
        const existing = await findEntryByKey(db, auth.tenantId, 'adjust', key);
        if (existing) {
          if (existing.customer_id !== customer.id || existing.points !== body.points) throw unprocessable('This Idempotency-Key already made a different adjustment', 'idempotency_key_reused');
          return { replayed: true, entry: existing };
        }
        if (customer.erased_at) throw conflict('This customer was erased', 'customer_erased');
        if (customer.loyalty_balance + body.points < 0) {
          throw conflict(`Only ${customer.loyalty_balance} points are available`, 'insufficient_points', { availablePoints: customer.loyalty_balance });
        }
        const entry = await appendEntry(db, {
          tenantId: auth.tenantId,
          customerId: customer.id,
          kind: 'adjust',
          points: body.points,
          balanceBefore: customer.loyalty_balance,
          key,
          reference: body.reason,
          actorId: auth.userId,
        });
        return { replayed: false, entry };
      });
      if (outcome.replayed) res.setHeader('Idempotent-Replayed', 'true');
      res.status(outcome.replayed ? 200 : 201).json(ledgerView(outcome.entry));
    },
  });
}
