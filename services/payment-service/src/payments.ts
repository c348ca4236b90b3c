import { createHash, randomUUID } from 'node:crypto';
import { EVENTS, EventDataSchemas, type Money, type z } from '@pos/types';
import { withTenant, type PoolClient } from '@pos/database';
import { writeEvent } from '@pos/events';
import { canActInStore, canonicalJson, type AuthContext } from '@pos/http';
import { ProblemError, badRequest, conflict, notFound, unprocessable } from '@pos/utils';
import type { PaymentDeps } from './deps';
import { SCHEMA } from './data/schema';
import {
  addRefunded,
  claimPayment,
  claimTombstone,
  findPayment,
  findPaymentByKey,
  findRefundByKey,
  insertRefund,
  paymentView,
  refundView,
  settlePayment,
  type NewPayment,
  type PaymentRow,
  type RefundRow,
} from './data/payment-repository';
import { applyLedgerEntry, findGiftCard, findGiftCardByHash } from './data/gift-card-repository';
import { checkRefund, loyaltyPoints, onExistingPayment, redeem, voidAmount, type PaymentMethod } from './domain/payment-rules';
import { giftCardLast4, hashGiftCardCode } from './domain/gift-card-code';
import { callProcessor, ProcessorRejectedError, ProcessorUnavailableError, type ChargeResult, type Deadline, type RetryPolicy } from './processor';
import type { ProcessPaymentInput } from './http/schemas';
import type { RedeemResult } from './loyalty/customer-loyalty';

/*
 * The payment flows. Money-moving steps follow one rule: no payment is ever captured twice.
 *
 * - Every payment row is unique per (tenant, Idempotency-Key), whatever the idempotency middleware
 *   did: a second request with the key finds the row and replays, resumes or is refused.
 * - cash, external_card and gift_card settle in ONE database transaction (claim the key, lock the
 *   gift card, write the ledger, capture, outbox event).
 * - card: (1) claim the key as `pending` and commit, (2) call the processor outside any
 *   transaction with the payment id as the processor idempotency key (timeouts and retries reuse
 *   it, so a charge whose answer was lost comes back instead of being made again), (3) record the
 *   outcome only if the payment is still `pending` (a void-by-key may have run meanwhile).
 * - loyalty: the card flow with customer-service's points ledger as the processor: claim as
 *   `pending` (with the customer and the points), redeem outside any transaction with the payment's
 *   Idempotency-Key as the redemption key, record the outcome only if nobody decided meanwhile.
 *   Refunds give points back through the redemption's refund endpoint (partial ones by points),
 *   voids give back all that is left — by key, which leaves a cancel marker at customer-service when
 *   the redemption never arrived, so a late one is refused.
 * - Refunds and voids lock the payment row (FOR UPDATE), so concurrent ones queue and the
 *   refundable amount is checked against committed state.
 */

/** Tombstones have no store; anyone allowed on the route may see them. */
export const visibleTo = (auth: AuthContext, p: PaymentRow) => p.store_id === null || canActInStore(auth, p.store_id);

export const requestHash = (body: unknown) => createHash('sha256').update(canonicalJson(body)).digest('hex');

const money = (amount: number, currency: string): Money => ({ amount, currency });

export function declined(p: PaymentRow, available?: Money): ProblemError {
  const code = p.failure_code ?? 'declined';
  const reason = p.failure_reason ?? 'The payment was declined';
  if (code === 'insufficient_loyalty_points') {
    return new ProblemError(402, 'insufficient_loyalty_points', 'Payment Required', reason, undefined, undefined, {
      paymentId: p.id,
      availableBalance: available ?? money(0, p.currency!),
      availablePoints: p.loyalty_balance_after ?? 0,
    });
  }
  if (code === 'insufficient_gift_card_balance') {
    return new ProblemError(402, 'insufficient_gift_card_balance', 'Payment Required', reason, undefined, undefined, {
      paymentId: p.id,
      availableBalance: available ?? money(0, p.currency!),
    });
  }
  return new ProblemError(402, 'payment_declined', 'Payment Required', reason, undefined, undefined, { paymentId: p.id, declineCode: code, reason });
}

export const paymentVoided = (p: PaymentRow) =>
  conflict('A payment with this Idempotency-Key was voided (saga compensation); it cannot be captured', 'payment_voided', { paymentId: p.id });

export const processorUnavailable = (detail = 'The card processor did not answer in time; nothing is captured as far as we know. Retry with the same Idempotency-Key, or void it by key') =>
  new ProblemError(503, 'processor_unavailable', 'Service Unavailable', detail, undefined, { 'Retry-After': '1' });

export const loyaltyUnavailable = () =>
  processorUnavailable(
    'customer-service (loyalty points) did not answer in time; whether the points were redeemed is unknown. Retry with the same Idempotency-Key, or void it by key (which gives any redeemed points back)',
  );

function loyaltyProblem(err: unknown): never {
  if (err instanceof ProcessorUnavailableError) throw processorUnavailable(`customer-service (loyalty points) did not answer (${err.timedOut ? 'timeout' : 'outage'}); nothing was changed. Retry with the same Idempotency-Key`);
  if (err instanceof ProcessorRejectedError) throw conflict(`customer-service refused: ${err.message}`, 'processor_rejected', { processorCode: err.code });
  throw err;
}

/** The payment methods the payment.* event schemas (shared/types) list; other methods write no payment.* event. */
type EventMethod = z.input<(typeof EventDataSchemas)[typeof EVENTS.paymentCaptured]>['method'];
const eventMethod = (m: PaymentMethod | null): EventMethod | undefined =>
  EventDataSchemas[EVENTS.paymentCaptured].shape.method.safeParse(m).success ? (m as EventMethod) : undefined;

function processorProblem(err: unknown): never {
  if (err instanceof ProcessorUnavailableError) throw processorUnavailable(`The card processor did not answer (${err.timedOut ? 'timeout' : 'outage'}); nothing was changed. Retry with the same Idempotency-Key`);
  if (err instanceof ProcessorRejectedError) throw conflict(`The card processor refused: ${err.message}`, 'processor_rejected', { processorCode: err.code });
  throw err;
}

type Settled =
  | { kind: 'captured'; row: PaymentRow; replayed: boolean }
  | { kind: 'declined'; row: PaymentRow; available?: Money }
  | { kind: 'voided'; row: PaymentRow }
  | { kind: 'mismatch'; row: PaymentRow };

export class Payments {
  private readonly policy: RetryPolicy;
  /** Time kept after the processor phase for recording its outcome. */
  private readonly reserveMs: number;
  /** Calls to customer-service (loyalty): same attempts and backoff as the processor, their own timeout. */
  private readonly loyaltyPolicy: RetryPolicy;

  constructor(private readonly deps: PaymentDeps) {
    const c = deps.config;
    this.policy = { timeoutMs: c.PROCESSOR_TIMEOUT_MS, maxAttempts: c.PROCESSOR_MAX_ATTEMPTS, backoffMs: c.PROCESSOR_RETRY_BACKOFF_MS };
    this.loyaltyPolicy = { ...this.policy, timeoutMs: c.CUSTOMER_SERVICE_TIMEOUT_MS };
    this.reserveMs = Math.min(1_500, Math.floor(c.PAYMENT_HANDLER_TIMEOUT_MS / 4));
  }

  /** Points for an amount of a loyalty payment or refund; 400 naming `amount` when it is not whole points. */
  private points(amount: number): number {
    const value = this.deps.config.LOYALTY_POINT_VALUE;
    const points = loyaltyPoints(amount, value);
    if (points === undefined) {
      throw badRequest(`Loyalty points are worth ${value} minor units each; the amount must be a whole number of points`, [
        { path: 'amount', message: `must be a multiple of ${value} (the value of one loyalty point)` },
      ]);
    }
    return points;
  }

  /** Runs one customer-service operation with retries (same key), each call bounded by what the deadline leaves. */
  private callLoyalty<T>(what: string, op: (timeoutMs: number) => Promise<T>, deadline: Deadline): Promise<T> {
    const until = deadline.earlier(this.reserveMs);
    const timeout = this.deps.config.CUSTOMER_SERVICE_TIMEOUT_MS;
    return callProcessor(what, () => op(Math.max(25, Math.min(timeout, until.remaining()))), this.loyaltyPolicy, until, this.deps.logger);
  }

  // ---- process -----------------------------------------------------------------------------------

  async process(auth: AuthContext, body: ProcessPaymentInput, key: string, deadline: Deadline): Promise<{ payment: PaymentRow; replayed: boolean }> {
    const base: NewPayment = {
      id: randomUUID(),
      tenantId: auth.tenantId,
      idempotencyKey: key,
      transactionId: body.transactionId,
      storeId: body.storeId,
      method: body.method,
      amount: body.amount.amount,
      currency: body.amount.currency,
      status: 'captured',
      requestHash: requestHash(body),
      createdBy: auth.userId,
    };
    let settled: Settled;
    switch (body.method) {
      case 'cash':
        settled = await this.recordDirect(base);
        break;
      case 'external_card':
        settled = await this.recordDirect({
          ...base,
          processor: 'terminal',
          processorRef: body.terminal.authCode,
          cardBrand: body.terminal.brand.toLowerCase(),
          cardLast4: body.terminal.last4,
        });
        break;
      case 'gift_card':
        settled = await this.redeemGiftCard(base, body.giftCardCode);
        break;
      case 'card':
        settled = await this.chargeCard(base, body.cardToken, deadline);
        break;
      case 'loyalty':
        settled = await this.redeemLoyalty(base, body.customerId, this.points(body.amount.amount), deadline);
        break;
    }
    switch (settled.kind) {
      case 'captured':
        return { payment: settled.row, replayed: settled.replayed };
      case 'declined':
        throw declined(settled.row, settled.available);
      case 'voided':
        throw paymentVoided(settled.row);
      case 'mismatch':
        throw unprocessable('This Idempotency-Key was already used for a different payment; use a new key for a new payment', 'idempotency_key_reused');
    }
  }

  /** What an existing payment with the request's key means for this request. */
  private async existing(db: PoolClient, p: NewPayment): Promise<Settled | { kind: 'resume'; row: PaymentRow }> {
    const row = (await findPaymentByKey(db, p.tenantId, p.idempotencyKey, true))!;
    const decision = onExistingPayment({ status: row.status, tombstone: row.tombstone, requestHash: row.request_hash }, p.requestHash);
    switch (decision) {
      case 'replay':
        return { kind: 'captured', row, replayed: true };
      case 'declined':
        return { kind: 'declined', row, available: await this.availableOn(db, row) };
      case 'voided':
        return { kind: 'voided', row };
      case 'mismatch':
        return { kind: 'mismatch', row };
      case 'resume':
        return { kind: 'resume', row };
    }
  }

  private async availableOn(db: PoolClient, row: PaymentRow): Promise<Money | undefined> {
    if (row.failure_code === 'insufficient_loyalty_points') return money((row.loyalty_balance_after ?? 0) * this.deps.config.LOYALTY_POINT_VALUE, row.currency!);
    if (row.failure_code !== 'insufficient_gift_card_balance' || !row.gift_card_id) return undefined;
    const card = await findGiftCard(db, row.tenant_id, row.gift_card_id);
    return card ? money(card.balance, card.currency) : undefined;
  }

  /** cash and external_card: nothing to ask anyone, captured at once together with the event. */
  private recordDirect(p: NewPayment): Promise<Settled> {
    return withTenant(this.deps.pool, p.tenantId, async (db) => {
      const row = await claimPayment(db, p);
      if (!row) {
        const found = await this.existing(db, p);
        // A direct payment is never left pending; a resumable row would be a card one under this key.
        return found.kind === 'resume' ? { kind: 'mismatch', row: found.row } : found;
      }
      await this.capturedEvent(db, row);
      return { kind: 'captured', row, replayed: false };
    });
  }

  /** gift_card: the card row is locked, so concurrent redemptions queue and never overdraw it. */
  private redeemGiftCard(p: NewPayment, code: string): Promise<Settled> {
    const codeHash = hashGiftCardCode(this.deps.config.GIFT_CARD_CODE_SECRET, code);
    return withTenant(this.deps.pool, p.tenantId, async (db) => {
      const row = await claimPayment(db, { ...p, status: 'pending', giftCardLast4: giftCardLast4(code), processor: 'gift_card' });
      if (!row) {
        const found = await this.existing(db, p);
        return found.kind === 'resume' ? { kind: 'mismatch', row: found.row } : found;
      }
      const card = await findGiftCardByHash(db, p.tenantId, codeHash, true);
      const decline = async (code: string, reason: string, available?: Money): Promise<Settled> => {
        const done = (await settlePayment(db, p.tenantId, row.id, ['pending'], { status: 'declined', failureCode: code, failureReason: reason, giftCardId: card?.id ?? null }))!;
        await this.failedEvent(db, done);
        return { kind: 'declined', row: done, available };
      };
      if (!card) return decline('gift_card_not_found', 'No gift card has this code');
      if (!card.active) return decline('gift_card_inactive', 'The gift card is not active');
      if (card.currency !== p.currency) return decline('currency_mismatch', `The gift card holds ${card.currency}, the payment is in ${p.currency}`);
      const r = redeem(card.balance, p.amount);
      if (!r.ok) {
        return decline('insufficient_gift_card_balance', `The gift card has ${r.available} available, less than the ${p.amount} asked; pay the rest with another tender`, money(r.available, card.currency));
      }
      const after = await applyLedgerEntry(db, card, { id: randomUUID(), kind: 'redeem', amount: -p.amount, paymentId: row.id, actorId: p.createdBy });
      const done = (await settlePayment(db, p.tenantId, row.id, ['pending'], { status: 'captured', giftCardId: card.id, giftCardBalanceAfter: after.balance }))!;
      await this.capturedEvent(db, done);
      return { kind: 'captured', row: done, replayed: false };
    });
  }

  /** card: claim as pending, ask the processor with the payment id as its key, record the outcome. */
  private async chargeCard(p: NewPayment, token: string, deadline: Deadline): Promise<Settled> {
    const { pool, processor, logger } = this.deps;
    const start = await withTenant(pool, p.tenantId, async (db): Promise<Settled | { kind: 'resume'; row: PaymentRow }> => {
      const row = await claimPayment(db, { ...p, status: 'pending', cardToken: token, processor: processor.name });
      if (row) return { kind: 'resume', row };
      const found = await this.existing(db, p);
      if (found.kind !== 'resume') return found;
      if (found.row.status === 'pending') return found;
      // failed (the processor was unreachable last time): try again, with the same processor key.
      const reopened = await settlePayment(db, p.tenantId, found.row.id, ['failed'], { status: 'pending', failureCode: null, failureReason: null });
      return { kind: 'resume', row: reopened! };
    });
    if (start.kind !== 'resume') return start;
    const row = start.row;

    let result: ChargeResult;
    try {
      result = await callProcessor(
        'charge',
        (signal) => processor.charge({ tenantId: p.tenantId, key: row.id, amount: money(row.amount!, row.currency!), token: row.card_token ?? token, signal }),
        this.policy,
        deadline.earlier(this.reserveMs),
        logger,
      );
    } catch (err) {
      if (err instanceof ProcessorRejectedError) {
        result = { outcome: 'declined', declineCode: err.code, reason: err.message, brand: null, last4: null };
      } else {
        const timedOut = err instanceof ProcessorUnavailableError && err.timedOut;
        await withTenant(pool, p.tenantId, (db) =>
          settlePayment(db, p.tenantId, row.id, ['pending'], {
            status: 'failed',
            failureCode: timedOut ? 'processor_timeout' : 'processor_unavailable',
            failureReason: timedOut ? 'The card processor did not answer in time' : 'The card processor is unavailable',
          }),
        );
        throw processorUnavailable();
      }
    }

    return withTenant(pool, p.tenantId, async (db): Promise<Settled> => {
      let done: PaymentRow | undefined;
      switch (result.outcome) {
        case 'approved':
          done = await settlePayment(db, p.tenantId, row.id, ['pending'], { status: 'captured', processorRef: result.chargeRef, cardBrand: result.brand, cardLast4: result.last4 });
          if (done) await this.capturedEvent(db, done);
          break;
        case 'declined':
          done = await settlePayment(db, p.tenantId, row.id, ['pending'], {
            status: 'declined',
            failureCode: result.declineCode,
            failureReason: result.reason,
            cardBrand: result.brand,
            cardLast4: result.last4,
          });
          if (done) await this.failedEvent(db, done);
          break;
        case 'voided':
          done = await settlePayment(db, p.tenantId, row.id, ['pending'], { status: 'voided', processorRef: result.chargeRef });
          break;
      }
      // Not pending any more: a void-by-key (or a resumed duplicate) decided first; report that.
      const current = done ?? (await findPayment(db, p.tenantId, row.id))!;
      switch (current.status) {
        case 'captured':
          return { kind: 'captured', row: current, replayed: !done };
        case 'declined':
          return { kind: 'declined', row: current };
        case 'voided':
          return { kind: 'voided', row: current };
        default:
          throw processorUnavailable();
      }
    });
  }

  /**
   * loyalty: claim as pending (committed, with the customer and the points), redeem at customer-service
   * with the payment's Idempotency-Key as the redemption key, record the outcome only if the payment
   * is still undecided — a void-by-key that ran meanwhile gave the points back (or left a cancel
   * marker that makes the redemption answer `redemption_voided`), and wins.
   */
  private async redeemLoyalty(p: NewPayment, customerId: string, points: number, deadline: Deadline): Promise<Settled> {
    const { pool, loyalty } = this.deps;
    const start = await withTenant(pool, p.tenantId, async (db): Promise<Settled | { kind: 'resume'; row: PaymentRow }> => {
      const row = await claimPayment(db, { ...p, status: 'pending', customerId, loyaltyPoints: points, processor: 'loyalty' });
      if (row) return { kind: 'resume', row };
      const found = await this.existing(db, p);
      if (found.kind !== 'resume' || found.row.status === 'pending') return found;
      // failed (customer-service did not answer last time): ask again with the same redemption key.
      const reopened = await settlePayment(db, p.tenantId, found.row.id, ['failed'], { status: 'pending', failureCode: null, failureReason: null });
      return { kind: 'resume', row: reopened! };
    });
    if (start.kind !== 'resume') return start;
    const row = start.row;
    const asked = row.loyalty_points ?? points;

    let result: RedeemResult | { outcome: 'refused'; code: string; reason: string };
    try {
      result = await this.callLoyalty(
        'loyalty redeem',
        (timeoutMs) =>
          loyalty.redeem({ tenantId: p.tenantId, customerId: row.customer_id ?? customerId, key: row.idempotency_key, points: asked, reference: `sale:${row.transaction_id}`, timeoutMs }),
        deadline,
      );
    } catch (err) {
      if (err instanceof ProcessorRejectedError) {
        result = { outcome: 'refused', code: err.code, reason: err.message };
      } else {
        const timedOut = err instanceof ProcessorUnavailableError && err.timedOut;
        await withTenant(pool, p.tenantId, (db) =>
          settlePayment(db, p.tenantId, row.id, ['pending'], {
            status: 'failed',
            failureCode: timedOut ? 'loyalty_timeout' : 'loyalty_unavailable',
            failureReason: timedOut ? 'customer-service did not answer in time' : 'customer-service is unavailable',
          }),
        );
        throw loyaltyUnavailable();
      }
    }

    // A definite answer from customer-service beats `failed` (unknown) left by a concurrent attempt.
    const undecided = ['pending', 'failed'] as const;
    return withTenant(pool, p.tenantId, async (db): Promise<Settled> => {
      let done: PaymentRow | undefined;
      switch (result.outcome) {
        case 'redeemed':
          done = await settlePayment(db, p.tenantId, row.id, undecided, { status: 'captured', processorRef: result.redemptionId, loyaltyBalanceAfter: result.balanceAfter, failureCode: null, failureReason: null });
          if (done) await this.capturedEvent(db, done);
          break;
        case 'insufficient':
          done = await settlePayment(db, p.tenantId, row.id, undecided, {
            status: 'declined',
            failureCode: 'insufficient_loyalty_points',
            failureReason: `The customer has ${result.availablePoints} points, fewer than the ${asked} asked; pay the rest with another tender`,
            loyaltyBalanceAfter: result.availablePoints,
          });
          if (done) await this.failedEvent(db, done);
          break;
        case 'refused':
          done = await settlePayment(db, p.tenantId, row.id, undecided, { status: 'declined', failureCode: result.code, failureReason: result.reason });
          if (done) await this.failedEvent(db, done);
          break;
        case 'voided':
          done = await settlePayment(db, p.tenantId, row.id, undecided, { status: 'voided' });
          break;
      }
      const current = done ?? (await findPayment(db, p.tenantId, row.id))!;
      switch (current.status) {
        case 'captured':
          return { kind: 'captured', row: current, replayed: !done };
        case 'declined':
          return { kind: 'declined', row: current, available: await this.availableOn(db, current) };
        case 'voided':
          return { kind: 'voided', row: current };
        default:
          throw loyaltyUnavailable();
      }
    });
  }

  // ---- refunds -----------------------------------------------------------------------------------

  async refund(auth: AuthContext, paymentId: string, body: { amount: Money; reason?: string }, key: string, deadline: Deadline): Promise<{ refund: RefundRow; replayed: boolean }> {
    const { pool, processor, logger } = this.deps;
    const reason = body.reason || null; // an empty reason is no reason
    return withTenant(pool, auth.tenantId, async (db) => {
      // The row lock makes concurrent refunds of one payment queue: each sees the committed total.
      const p = await findPayment(db, auth.tenantId, paymentId, true);
      if (!p || p.tombstone || !visibleTo(auth, p)) throw notFound('Payment');
      const prior = await findRefundByKey(db, auth.tenantId, p.id, key);
      if (prior) {
        if (prior.amount !== body.amount.amount || prior.currency !== body.amount.currency || prior.reason !== reason) {
          throw unprocessable('This Idempotency-Key was already used for a different refund of this payment', 'idempotency_key_reused');
        }
        return { refund: prior, replayed: true };
      }
      const check = checkRefund({ status: p.status, amount: p.amount!, refundedAmount: p.refunded_amount, currency: p.currency! }, body.amount.amount, body.amount.currency);
      if (!check.ok) {
        if (check.reason === 'currency_mismatch') throw badRequest('The refund must be in the payment currency', [{ path: 'amount.currency', message: `must be ${p.currency}` }], 'currency_mismatch');
        if (check.reason === 'not_captured') {
          if (p.status === 'voided') throw conflict('The payment was voided; there is nothing left to refund', 'payment_voided', { paymentId: p.id });
          throw conflict(`The payment is ${p.status}; only captured payments can be refunded`, 'payment_not_captured', { paymentId: p.id, status: p.status });
        }
        throw conflict(`At most ${check.refundable} can still be refunded on this payment`, 'refund_exceeds_captured', {
          refundableAmount: money(check.refundable, p.currency!),
          refundedAmount: money(p.refunded_amount, p.currency!),
        });
      }
      const refundId = randomUUID();
      let processorRef: string | null = null;
      if (p.method === 'card') {
        try {
          const r = await callProcessor(
            'refund',
            (signal) => processor.refund({ tenantId: auth.tenantId, key: `${p.id}:refund:${key}`, chargeRef: p.processor_ref!, amount: body.amount, signal }),
            this.policy,
            deadline.earlier(this.reserveMs),
            logger,
          );
          processorRef = r.refundRef;
        } catch (err) {
          processorProblem(err);
        }
      } else if (p.method === 'gift_card') {
        const card = (await findGiftCard(db, auth.tenantId, p.gift_card_id!, true))!;
        await applyLedgerEntry(db, card, { id: randomUUID(), kind: 'refund', amount: body.amount.amount, paymentId: p.id, refundId, actorId: auth.userId });
      } else if (p.method === 'loyalty') {
        // The points go back to the customer by the redemption's key; this refund's own key makes the call safe to repeat.
        const points = this.points(body.amount.amount);
        try {
          const back = await this.callLoyalty(
            'loyalty give-back',
            (timeoutMs) =>
              this.deps.loyalty.giveBack({
                tenantId: auth.tenantId,
                customerId: p.customer_id!,
                key: p.idempotency_key,
                points,
                callKey: `${p.id}:refund:${key}`,
                reason: reason?.slice(0, 200),
                timeoutMs,
              }),
            deadline,
          );
          processorRef = back.entryId;
        } catch (err) {
          loyaltyProblem(err);
        }
      }
      const refund = await insertRefund(db, {
        id: refundId,
        tenantId: auth.tenantId,
        paymentId: p.id,
        key,
        amount: body.amount.amount,
        currency: body.amount.currency,
        reason,
        processorRef,
        createdBy: auth.userId,
      });
      const updated = await addRefunded(db, auth.tenantId, p.id, body.amount.amount);
      const method = eventMethod(p.method);
      if (method) await writeEvent(db, {
        schema: SCHEMA,
        type: EVENTS.paymentRefunded,
        tenantId: auth.tenantId,
        data: {
          paymentId: p.id,
          transactionId: p.transaction_id!,
          storeId: p.store_id!,
          method,
          refundId,
          amount: body.amount,
          refundedTotal: money(updated.refunded_amount, p.currency!),
          void: false,
          reason,
        },
      });
      return { refund, replayed: false };
    });
  }

  // ---- voids -------------------------------------------------------------------------------------

  /** POST /payments/:id/void: reverses a captured payment in full (what was not refunded yet). */
  async voidById(auth: AuthContext, paymentId: string, deadline: Deadline): Promise<PaymentRow> {
    return withTenant(this.deps.pool, auth.tenantId, async (db) => {
      const p = await findPayment(db, auth.tenantId, paymentId, true);
      if (!p || !visibleTo(auth, p)) throw notFound('Payment');
      if (p.status === 'declined') throw conflict('The payment was declined; there is nothing to void', 'payment_not_captured', { paymentId: p.id, status: p.status });
      return this.voidLocked(db, auth, p, deadline);
    });
  }

  /**
   * POST /payments/void-by-key: saga compensation when a capture's outcome is unknown. Voids the
   * payment with that key if there is one (whatever its state), or stores a tombstone so a late
   * capture with the key is refused. Idempotent.
   */
  async voidByKey(auth: AuthContext, key: string, deadline: Deadline): Promise<PaymentRow> {
    return withTenant(this.deps.pool, auth.tenantId, async (db) => {
      const tombstone = await claimTombstone(db, auth.tenantId, randomUUID(), key, auth.userId);
      if (tombstone) return tombstone;
      const p = (await findPaymentByKey(db, auth.tenantId, key, true))!;
      if (!visibleTo(auth, p)) throw notFound('Payment');
      if (p.status === 'declined') return p; // nothing was captured and nothing ever will be under this key
      return this.voidLocked(db, auth, p, deadline);
    });
  }

  /** The caller holds the payment's row lock. */
  private async voidLocked(db: PoolClient, auth: AuthContext, p: PaymentRow, deadline: Deadline): Promise<PaymentRow> {
    if (p.status === 'voided') return p;
    const { processor, logger } = this.deps;
    // Card: void at the processor by the charge key FIRST. It reverses a charge that landed (even one
    // we never heard back about) and blocks a charge still in flight with that key.
    if (p.method === 'card') {
      try {
        await callProcessor('void', (signal) => processor.void({ tenantId: auth.tenantId, key: p.id, signal }), this.policy, deadline.earlier(this.reserveMs), logger);
      } catch (err) {
        processorProblem(err);
      }
    }
    // Loyalty: give back by the redemption key everything not yet given back. When the redemption
    // never arrived (outcome unknown), customer-service leaves a cancel marker that refuses it later.
    if (p.method === 'loyalty') {
      try {
        await this.callLoyalty('loyalty void', (timeoutMs) => this.deps.loyalty.giveBack({ tenantId: auth.tenantId, customerId: p.customer_id!, key: p.idempotency_key, timeoutMs }), deadline);
      } catch (err) {
        loyaltyProblem(err);
      }
    }
    const captured = p.status === 'captured';
    const reversed = captured ? voidAmount({ status: p.status, amount: p.amount!, refundedAmount: p.refunded_amount, currency: p.currency! }) : 0;
    if (captured && p.method === 'gift_card' && reversed > 0) {
      const card = (await findGiftCard(db, auth.tenantId, p.gift_card_id!, true))!;
      await applyLedgerEntry(db, card, { id: randomUUID(), kind: 'void', amount: reversed, paymentId: p.id, actorId: auth.userId });
    }
    const done = (await settlePayment(db, auth.tenantId, p.id, [p.status], { status: 'voided' }))!;
    const method = eventMethod(p.method);
    if (captured && method) {
      await writeEvent(db, {
        schema: SCHEMA,
        type: EVENTS.paymentRefunded,
        tenantId: auth.tenantId,
        data: {
          paymentId: p.id,
          transactionId: p.transaction_id!,
          storeId: p.store_id!,
          method,
          refundId: null,
          amount: money(reversed, p.currency!),
          refundedTotal: money(p.amount!, p.currency!),
          void: true,
          reason: 'void',
        },
      });
    }
    return done;
  }

  // ---- reads -------------------------------------------------------------------------------------

  async get(auth: AuthContext, id: string): Promise<PaymentRow> {
    const p = await withTenant(this.deps.pool, auth.tenantId, (db) => findPayment(db, auth.tenantId, id));
    if (!p || !visibleTo(auth, p)) throw notFound('Payment');
    return p;
  }

  // ---- events ------------------------------------------------------------------------------------

  private async capturedEvent(db: PoolClient, p: PaymentRow): Promise<void> {
    const method = eventMethod(p.method);
    if (!method) return;
    await writeEvent(db, {
      schema: SCHEMA,
      type: EVENTS.paymentCaptured,
      tenantId: p.tenant_id,
      data: {
        ...paymentFacts(p, method),
        card: p.card_brand && p.card_last4 ? { brand: p.card_brand, last4: p.card_last4 } : null,
        giftCard: p.gift_card_id && p.gift_card_last4 ? { giftCardId: p.gift_card_id, last4: p.gift_card_last4, balanceAfter: money(p.gift_card_balance_after ?? 0, p.currency!) } : null,
        processorRef: p.processor_ref,
      },
    });
  }

  private async failedEvent(db: PoolClient, p: PaymentRow): Promise<void> {
    const method = eventMethod(p.method);
    if (!method) return;
    await writeEvent(db, {
      schema: SCHEMA,
      type: EVENTS.paymentFailed,
      tenantId: p.tenant_id,
      data: { ...paymentFacts(p, method), code: p.failure_code ?? 'declined', reason: p.failure_reason ?? 'declined' },
    });
  }
}

/** What every payment event says of its payment. */
function paymentFacts(p: PaymentRow, method: NonNullable<ReturnType<typeof eventMethod>>) {
  return {
    paymentId: p.id,
    transactionId: p.transaction_id!,
    storeId: p.store_id!,
    idempotencyKey: p.idempotency_key,
    method,
    amount: money(p.amount!, p.currency!),
  };
}

export { paymentView, refundView };
