import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  ProcessorRejectedError,
  ProcessorUnavailableError,
  type ChargeRequest,
  type ChargeResult,
  type PaymentProcessor,
  type RefundRequest,
  type RefundResult,
  type VoidRequest,
  type VoidResult,
} from './processor';

/*
 * A card processor SIMULATOR that behaves like a real processor's test mode. No money moves and no
 * card network is contacted; magic tokens choose the outcome (like Stripe's test tokens):
 *
 *   tok_visa, tok_mastercard, tok_amex  approved (brand and last 4 from SIMULATOR_CARDS)
 *   tok_chargeDeclined                  declined `card_declined`
 *   tok_insufficientFunds               declined `insufficient_funds`
 *   tok_processingError                 throws an outage error (nothing recorded), as a processor 5xx
 *   tok_timeout                         approved, but the FIRST call for a key records the charge and
 *                                       answers only after `slowResponseMs` (longer than the caller's
 *                                       timeout); later calls with that key return the recorded
 *                                       charge at once — exactly what idempotent retries rely on
 *   anything else                       declined `invalid_token`
 *
 * Like a real processor it is idempotent by key: a charge, refund or void repeated with the same key
 * returns the first outcome. Its state lives in Redis, so every replica and every retry shares it:
 *   pos:sim:charge:<tenantId>:<key>     hash: status, ref, amount, currency, refunded, brand, last4, calls…
 *   pos:sim:ref:<tenantId>:<chargeRef>  the charge's key (refunds name the charge by its ref)
 *   pos:sim:refund:<tenantId>:<key>     the refund ref recorded for a refund key
 * Void cancels by the charge key: a captured charge is reversed (what was not refunded), and a key
 * never charged is marked voided so that a late charge with it is refused (outcome `voided`).
 */

export interface SimulatedCard {
  brand: string;
  last4: string;
  behaviour: 'approve' | 'decline' | 'outage' | 'slow';
  declineCode?: string;
  reason?: string;
}

export const SIMULATOR_CARDS: Readonly<Record<string, SimulatedCard>> = {
  tok_visa: { brand: 'visa', last4: '4242', behaviour: 'approve' },
  tok_mastercard: { brand: 'mastercard', last4: '4444', behaviour: 'approve' },
  tok_amex: { brand: 'amex', last4: '0005', behaviour: 'approve' },
  tok_timeout: { brand: 'visa', last4: '1881', behaviour: 'slow' },
  tok_chargeDeclined: { brand: 'visa', last4: '0002', behaviour: 'decline', declineCode: 'card_declined', reason: 'The card was declined.' },
  tok_insufficientFunds: { brand: 'visa', last4: '9995', behaviour: 'decline', declineCode: 'insufficient_funds', reason: 'The card has insufficient funds.' },
  tok_processingError: { brand: 'visa', last4: '0119', behaviour: 'outage' },
};

export const UNKNOWN_TOKEN: SimulatedCard = { brand: 'unknown', last4: '0000', behaviour: 'decline', declineCode: 'invalid_token', reason: 'The card token is not recognised.' };

export const simulatedCard = (token: string): SimulatedCard => (Object.hasOwn(SIMULATOR_CARDS, token) ? SIMULATOR_CARDS[token]! : UNKNOWN_TOKEN);

export const SIMULATOR_PREFIX = 'pos:sim';
export const simulatorChargeKey = (tenantId: string, key: string) => `${SIMULATOR_PREFIX}:charge:${tenantId}:${key}`;
const refIndexKey = (tenantId: string, ref: string) => `${SIMULATOR_PREFIX}:ref:${tenantId}:${ref}`;
const refundKey = (tenantId: string, key: string) => `${SIMULATOR_PREFIX}:refund:${tenantId}:${key}`;

// Records the first outcome for a key, atomically; later calls only count and read it back.
const CHARGE_SCRIPT = `
if redis.call('HEXISTS', KEYS[1], 'status') == 1 then
  redis.call('HINCRBY', KEYS[1], 'calls', 1)
  return {0, redis.call('HGET', KEYS[1], 'status'), redis.call('HGET', KEYS[1], 'ref'), redis.call('HGET', KEYS[1], 'amount'),
          redis.call('HGET', KEYS[1], 'currency'), redis.call('HGET', KEYS[1], 'brand'), redis.call('HGET', KEYS[1], 'last4'),
          redis.call('HGET', KEYS[1], 'declineCode'), redis.call('HGET', KEYS[1], 'reason')}
end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'ref', ARGV[3], 'amount', ARGV[4], 'currency', ARGV[5], 'brand', ARGV[6],
           'last4', ARGV[7], 'declineCode', ARGV[8], 'reason', ARGV[9], 'refunded', 0, 'calls', 1, 'createdAt', ARGV[10])
redis.call('EXPIRE', KEYS[1], ARGV[1])
if ARGV[3] ~= '' then redis.call('SET', KEYS[2], KEYS[1], 'EX', ARGV[1]) end
return {1}
`;

// KEYS[1] ref index, KEYS[2] refund record; ARGV: ttl, amount, currency, new refund ref.
const REFUND_SCRIPT = `
local done = redis.call('GET', KEYS[2])
if done then return {'ok', done} end
local charge = redis.call('GET', KEYS[1])
if not charge then return {'unknown_charge', ''} end
local status = redis.call('HGET', charge, 'status')
if status ~= 'approved' then return {'not_captured', status or ''} end
if redis.call('HGET', charge, 'currency') ~= ARGV[3] then return {'currency_mismatch', ''} end
local left = tonumber(redis.call('HGET', charge, 'amount')) - tonumber(redis.call('HGET', charge, 'refunded'))
if tonumber(ARGV[2]) > left then return {'exceeds_captured', tostring(left)} end
redis.call('HINCRBY', charge, 'refunded', ARGV[2])
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[1])
return {'ok', ARGV[4]}
`;

// KEYS[1] charge hash; ARGV: ttl, now.
const VOID_SCRIPT = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  redis.call('HSET', KEYS[1], 'status', 'voided', 'ref', '', 'amount', 0, 'refunded', 0, 'voidedAmount', 0, 'calls', 0, 'createdAt', ARGV[2])
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  return {'0', ''}
end
local ref = redis.call('HGET', KEYS[1], 'ref') or ''
if status == 'approved' then
  local left = tonumber(redis.call('HGET', KEYS[1], 'amount')) - tonumber(redis.call('HGET', KEYS[1], 'refunded'))
  redis.call('HSET', KEYS[1], 'status', 'voided', 'voidedAmount', left, 'voidedAt', ARGV[2])
  return {tostring(left), ref}
end
return {'0', ref}
`;

export interface SimulatorOptions {
  /** How late tok_timeout answers its first call; must exceed the caller's PROCESSOR_TIMEOUT_MS. */
  slowResponseMs: number;
  ttlSeconds?: number;
}

function abortable(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new ProcessorUnavailableError('aborted by the caller', true));
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(new ProcessorUnavailableError('aborted by the caller', true));
      },
      { once: true },
    );
  });
}

const newRef = (prefix: string) => `${prefix}_sim_${randomBytes(12).toString('hex')}`;

export class SimulatorProcessor implements PaymentProcessor {
  readonly name = 'simulator';
  private readonly ttl: number;

  constructor(
    private readonly redis: Redis,
    private readonly options: SimulatorOptions,
  ) {
    this.ttl = options.ttlSeconds ?? 7 * 24 * 3600;
  }

  async charge(req: ChargeRequest): Promise<ChargeResult> {
    const card = simulatedCard(req.token);
    if (card.behaviour === 'outage') {
      // An outage records nothing (a voided key still answers as voided).
      const existing = await this.redis.hgetall(simulatorChargeKey(req.tenantId, req.key)).catch(outage);
      if (existing.status) return this.recorded(req, existing);
      throw new ProcessorUnavailableError('simulated processing error (tok_processingError)');
    }

    const approved = card.behaviour === 'approve' || card.behaviour === 'slow';
    const ref = approved ? newRef('ch') : '';
    const created = (await this.redis
      .eval(
        CHARGE_SCRIPT,
        2,
        simulatorChargeKey(req.tenantId, req.key),
        refIndexKey(req.tenantId, ref),
        this.ttl,
        approved ? 'approved' : 'declined',
        ref,
        req.amount.amount,
        req.amount.currency,
        card.brand,
        card.last4,
        card.declineCode ?? '',
        card.reason ?? '',
        new Date().toISOString(),
      )
      .catch(outage)) as Array<string | number | null>;
    if (created[0] !== 1) {
      const [, status, chargeRef, amount, currency, brand, last4, declineCode, reason] = created.map((v) => (v === null ? '' : String(v)));
      return this.recorded(req, { status: status!, ref: chargeRef!, amount: amount!, currency: currency!, brand: brand!, last4: last4!, declineCode: declineCode!, reason: reason! });
    }
    // The charge is recorded; the answer is late, as when a real processor's response is lost.
    if (card.behaviour === 'slow') await abortable(this.options.slowResponseMs, req.signal);
    return approved
      ? { outcome: 'approved', chargeRef: ref, brand: card.brand, last4: card.last4 }
      : { outcome: 'declined', declineCode: card.declineCode!, reason: card.reason!, brand: card.brand, last4: card.last4 };
  }

  private recorded(req: ChargeRequest, r: Record<string, string>): ChargeResult {
    if (r.status === 'voided') return { outcome: 'voided', chargeRef: r.ref || null };
    if (r.amount !== String(req.amount.amount) || r.currency !== req.amount.currency) {
      throw new ProcessorRejectedError('idempotency_key_reused', 'This processor key was used for a different charge');
    }
    if (r.status === 'approved') return { outcome: 'approved', chargeRef: r.ref!, brand: r.brand!, last4: r.last4! };
    return { outcome: 'declined', declineCode: r.declineCode!, reason: r.reason!, brand: r.brand || null, last4: r.last4 || null };
  }

  async refund(req: RefundRequest): Promise<RefundResult> {
    const [result, value] = (await this.redis
      .eval(REFUND_SCRIPT, 2, refIndexKey(req.tenantId, req.chargeRef), refundKey(req.tenantId, req.key), this.ttl, req.amount.amount, req.amount.currency, newRef('re'))
      .catch(outage)) as [string, string];
    if (result === 'ok') return { refundRef: value };
    const messages: Record<string, string> = {
      unknown_charge: 'The processor has no such charge',
      not_captured: `The charge is ${value || 'not captured'}`,
      currency_mismatch: 'The refund currency differs from the charge',
      exceeds_captured: `The processor can refund at most ${value}`,
    };
    throw new ProcessorRejectedError(result, messages[result] ?? result);
  }

  async void(req: VoidRequest): Promise<VoidResult> {
    const [amount, ref] = (await this.redis.eval(VOID_SCRIPT, 1, simulatorChargeKey(req.tenantId, req.key), this.ttl, new Date().toISOString()).catch(outage)) as [string, string];
    return { voidedAmount: Number(amount), chargeRef: ref || null };
  }
}

/** Redis trouble is, to the caller, the processor being unreachable. */
function outage(err: unknown): never {
  throw new ProcessorUnavailableError(`simulator state unavailable: ${err instanceof Error ? err.message : String(err)}`);
}
