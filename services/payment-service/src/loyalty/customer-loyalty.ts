import { createHash } from 'node:crypto';
import { ServiceClient, ServiceTokens, UpstreamUnavailableError, type UpstreamResponse } from '@pos/http';
import type { PaymentConfig } from '../config';
import { ProcessorRejectedError, ProcessorUnavailableError } from '../processor';

/*
 * The `loyalty` method's seam to customer-service (POS-DESIGN §11 "Tenders"): it owns the points
 * ledger; payment-service redeems with the payment's Idempotency-Key as the redemption key and gives
 * points back by that key. Every call is idempotent by its key, so it may be retried after a timeout.
 *
 * Errors follow the processor's contract, so the payment flows treat both alike:
 * - ProcessorUnavailableError: outcome unknown (network error, timeout, 5xx, token refused, the same
 *   key still being processed, rate limited) — retry with the same key, or give back by key;
 * - ProcessorRejectedError: customer-service answered and refused; retrying will not change that.
 */

export type RedeemResult =
  | { outcome: 'redeemed'; redemptionId: string; points: number; balanceAfter: number }
  | { outcome: 'insufficient'; availablePoints: number }
  /** The key was given back before the redemption arrived (a void-by-key won): nothing redeemed. */
  | { outcome: 'voided' };

export interface GiveBackResult {
  /** Points given back by this call (0: nothing was left, or the key never redeemed and is now a tombstone). */
  points: number;
  status: 'redeemed' | 'partially_refunded' | 'refunded' | 'voided';
  /** The customer's balance after the call. */
  balance: number;
  /** The ledger entry of this give-back (null when nothing was given back). */
  entryId: string | null;
}

export interface LoyaltyLedger {
  redeem(args: { tenantId: string; customerId: string; key: string; points: number; reference: string; timeoutMs: number }): Promise<RedeemResult>;
  /** Without `points`: everything of the redemption not yet given back (or a tombstone for an unknown key). */
  giveBack(args: { tenantId: string; customerId: string; key: string; points?: number; callKey?: string; reason?: string; timeoutMs: number }): Promise<GiveBackResult>;
}

interface Problem {
  code?: string;
  detail?: string;
  availablePoints?: number;
}

/** Answers that say "not now" rather than "no": the outcome is unknown or nothing was looked at. */
const TRANSIENT = new Set([401, 403, 408, 425, 429]);

function unavailable(what: string, res: UpstreamResponse<Problem>): never {
  throw new ProcessorUnavailableError(`${what}: customer-service answered ${res.status}${res.body?.code ? ` ${res.body.code}` : ''}`);
}

async function call<T>(what: string, run: () => Promise<UpstreamResponse<T>>): Promise<UpstreamResponse<T>> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof UpstreamUnavailableError) throw new ProcessorUnavailableError(`${what}: ${err.message}`, /timed out/.test(err.message));
    throw new ProcessorUnavailableError(`${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Idempotency-Keys are at most 255 characters; a derived key that could be longer is hashed. */
export function boundedKey(key: string): string {
  return key.length <= 200 ? key : `sha256:${createHash('sha256').update(key).digest('hex')}`;
}

export class CustomerServiceLoyalty implements LoyaltyLedger {
  private readonly client: ServiceClient;

  constructor(baseUrl: string, tokens: ServiceTokens, fetchImpl: typeof fetch = fetch) {
    this.client = new ServiceClient(baseUrl, tokens, fetchImpl);
  }

  static fromConfig(config: PaymentConfig, fetchImpl: typeof fetch = fetch): CustomerServiceLoyalty {
    const tokens = new ServiceTokens({ authServiceUrl: config.AUTH_SERVICE_URL, clientId: config.SERVICE_CLIENT_ID, clientSecret: config.SERVICE_CLIENT_SECRET, fetchImpl });
    return new CustomerServiceLoyalty(config.CUSTOMER_SERVICE_URL, tokens, fetchImpl);
  }

  async redeem(args: Parameters<LoyaltyLedger['redeem']>[0]): Promise<RedeemResult> {
    const what = 'loyalty redeem';
    const res = await call(what, () =>
      this.client.call<Problem & { id?: string; points?: number; balanceAfter?: number }>('POST', `/api/v1/customers/${encodeURIComponent(args.customerId)}/loyalty/redemptions`, {
        tenantId: args.tenantId,
        idempotencyKey: args.key,
        body: { points: args.points, reference: args.reference },
        timeoutMs: args.timeoutMs,
      }),
    );
    const body = res.body ?? {};
    if (res.status === 201 || res.status === 200) {
      if (typeof body.id !== 'string' || typeof body.balanceAfter !== 'number') unavailable(what, res);
      return { outcome: 'redeemed', redemptionId: body.id, points: body.points ?? args.points, balanceAfter: body.balanceAfter };
    }
    if (res.status === 402 && body.code === 'insufficient_points') return { outcome: 'insufficient', availablePoints: Math.max(0, Number(body.availablePoints ?? 0)) };
    if (res.status === 409 && body.code === 'redemption_voided') return { outcome: 'voided' };
    if (res.status === 404) throw new ProcessorRejectedError('loyalty_customer_not_found', 'No customer has this id');
    if (res.status === 409 && body.code === 'customer_erased') throw new ProcessorRejectedError('customer_erased', 'The customer was erased; their points cannot be used');
    if (TRANSIENT.has(res.status) || (res.status === 409 && body.code === 'idempotency_in_progress')) unavailable(what, res);
    throw new ProcessorRejectedError(body.code ?? 'loyalty_redemption_refused', body.detail ?? `customer-service refused the redemption (${res.status})`);
  }

  async giveBack(args: Parameters<LoyaltyLedger['giveBack']>[0]): Promise<GiveBackResult> {
    const what = 'loyalty give-back';
    const body = args.points === undefined && args.reason === undefined ? undefined : { ...(args.points !== undefined ? { points: args.points } : {}), ...(args.reason ? { reason: args.reason } : {}) };
    const res = await call(what, () =>
      this.client.call<Problem & Partial<GiveBackResult>>(
        'POST',
        `/api/v1/customers/${encodeURIComponent(args.customerId)}/loyalty/redemptions/${encodeURIComponent(args.key)}/refund`,
        { tenantId: args.tenantId, idempotencyKey: args.callKey === undefined ? undefined : boundedKey(args.callKey), body, timeoutMs: args.timeoutMs },
      ),
    );
    const answer = res.body ?? {};
    if (res.status === 201 || res.status === 200) {
      if (typeof answer.points !== 'number' || typeof answer.balance !== 'number') unavailable(what, res);
      return { points: answer.points, status: answer.status ?? 'refunded', balance: answer.balance, entryId: answer.entryId ?? null };
    }
    if (TRANSIENT.has(res.status) || (res.status === 409 && answer.code === 'idempotency_in_progress')) unavailable(what, res);
    if (res.status === 404) throw new ProcessorRejectedError('loyalty_redemption_not_found', 'customer-service has no such redemption for this customer');
    throw new ProcessorRejectedError(answer.code ?? 'loyalty_refund_refused', answer.detail ?? `customer-service refused to give the points back (${res.status})`);
  }
}
