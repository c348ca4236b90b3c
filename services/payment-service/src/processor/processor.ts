import type { Money } from '@pos/types';

/*
 * The seam to a card processor. payment-service only ever talks to this interface; the adapter is
 * chosen by PAYMENT_PROCESSOR (see ./index.ts). Every operation carries a processor idempotency
 * `key`: calling it again with the same key must return the first outcome and never move money
 * twice (this is what makes retries after a timeout safe). `tenantId` is the merchant account.
 *
 * Adapters signal:
 * - a definitive answer by returning it (approved / declined / voided);
 * - an outage (network error, 5xx, "try again later") by throwing ProcessorUnavailableError:
 *   the caller retries with the same key;
 * - a definitive refusal of a refund or void (e.g. more than was captured) by throwing
 *   ProcessorRejectedError: not retried.
 * Adapters should honour `signal`: the caller aborts a call that ran past PROCESSOR_TIMEOUT_MS.
 */

export interface ChargeRequest {
  tenantId: string;
  /** Processor idempotency key: payment-service uses the payment id. */
  key: string;
  amount: Money;
  /** A processor token for the card (never a card number). */
  token: string;
  signal?: AbortSignal;
}

export type ChargeResult =
  | { outcome: 'approved'; chargeRef: string; brand: string; last4: string }
  | { outcome: 'declined'; declineCode: string; reason: string; brand: string | null; last4: string | null }
  /** The key was voided at the processor (void-by-key ran first): nothing is or will be captured. */
  | { outcome: 'voided'; chargeRef: string | null };

export interface RefundRequest {
  tenantId: string;
  /** Processor idempotency key of this refund. */
  key: string;
  chargeRef: string;
  amount: Money;
  signal?: AbortSignal;
}

export interface RefundResult {
  refundRef: string;
}

export interface VoidRequest {
  tenantId: string;
  /** The key the charge was (or would have been) made with. Voiding an unknown key blocks a later charge with it. */
  key: string;
  signal?: AbortSignal;
}

export interface VoidResult {
  /** Minor units given back by this void (0 when nothing had been captured or it was voided before). */
  voidedAmount: number;
  chargeRef: string | null;
}

export interface PaymentProcessor {
  readonly name: string;
  charge(request: ChargeRequest): Promise<ChargeResult>;
  refund(request: RefundRequest): Promise<RefundResult>;
  void(request: VoidRequest): Promise<VoidResult>;
}

/** The processor cannot be reached or did not answer: the outcome is unknown, retry with the same key. */
export class ProcessorUnavailableError extends Error {
  constructor(
    message: string,
    readonly timedOut = false,
  ) {
    super(message);
    this.name = 'ProcessorUnavailableError';
  }
}

/** The processor answered and refused the operation; retrying will not change that. */
export class ProcessorRejectedError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ProcessorRejectedError';
  }
}
