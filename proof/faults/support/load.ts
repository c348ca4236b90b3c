// A steady checkout load: a few registers (closed loop), each posting sales with a fresh
// Idempotency-Key and, like a real register, sending the SAME key again after a connection error,
// a 503/502/504 or a 409 "still running", until it gets an answer it can act on (bounded).
import { randomUUID } from 'node:crypto';
import { sleep } from './children';
import { mulberry32 } from '../../../scripts/test/seeded-random';

export interface Catalog {
  storeId: string;
  /** Products in plenty; each sale takes 3 distinct products. */
  productIds: string[];
  /** A product that runs out (409 insufficient_stock): one line of a quarter of the sales. */
  scarceProductId: string;
  customerIds: string[];
}

/** One answer (or connection error, as status 0) to one attempt. */
export interface Attempt {
  status: number;
  code?: string;
  at: number;
}

/** Everything one register learnt about one Idempotency-Key. */
export interface KeyOutcome {
  key: string;
  tender: 'cash' | 'card' | 'declined-card';
  customerId: string | null;
  attempts: Attempt[];
  /** The last answer; 0 when only connection errors came back before the budget ran out. */
  finalStatus: number;
  finalCode?: string;
  /** Sale id and total of a 2xx answer (or the saleId a problem named). */
  saleId?: string;
  total?: number;
  /** Any attempt answered 2xx (a success the system must not lose). */
  succeeded: boolean;
}

/** Statuses a client may get (others are findings); 0 = no connection, retried. */
export const ACTIONABLE = new Set([200, 201, 402, 409, 503]);
const RETRY_STATUSES = new Set([0, 502, 503, 504]);
/** 409s that mean "still running, ask again": not an outcome. */
export const IN_PROGRESS_CODES = new Set(['sale_in_progress', 'idempotency_in_progress']);

export interface LoadOptions {
  gatewayUrl: string;
  token: () => string;
  catalog: Catalog;
  registers: number;
  /** How long one key is retried before the register gives up on it. */
  keyBudgetMs: number;
  requestTimeoutMs: number;
  /** Seeded, so a run's mix of sales is reproducible. */
  seed: number;
}

export class CheckoutLoad {
  readonly outcomes: KeyOutcome[] = [];
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly rnd: () => number;

  constructor(private readonly options: LoadOptions) {
    this.rnd = mulberry32(options.seed);
  }

  start(): void {
    this.running = true;
    this.loops = Array.from({ length: this.options.registers }, () => this.register());
  }

  /** Stops taking new sales; a key in flight is finished (retried until it has an answer). */
  async stop(): Promise<KeyOutcome[]> {
    this.running = false;
    await Promise.all(this.loops);
    return this.outcomes;
  }

  private async register(): Promise<void> {
    while (this.running) this.outcomes.push(await this.sell());
  }

  private body(): { body: Record<string, unknown>; tender: KeyOutcome['tender']; customerId: string | null } {
    const { catalog } = this.options;
    const pool = [...catalog.productIds];
    const picked = [0, 1, 2].map(() => pool.splice(Math.floor(this.rnd() * pool.length), 1)[0]!);
    if (this.rnd() < 0.25) picked[2] = catalog.scarceProductId;
    const lines = picked.map((productId) => ({ productId, quantity: 1 + Math.floor(this.rnd() * 2) }));
    const customerId = this.rnd() < 0.4 ? catalog.customerIds[Math.floor(this.rnd() * catalog.customerIds.length)]! : null;
    const r = this.rnd();
    const tender: KeyOutcome['tender'] = r < 0.55 ? 'cash' : r < 0.93 ? 'card' : 'declined-card';
    // Every sale's total is above 5.00 (see the catalog), so the card part never exceeds it; cash
    // covers the rest with change.
    const cash = { method: 'cash', amount: { amount: 100_000, currency: 'USD' } };
    const card = (token: string) => ({ method: 'card', amount: { amount: 500, currency: 'USD' }, cardToken: token });
    const tenders = tender === 'cash' ? [cash] : [card(tender === 'card' ? 'tok_visa' : 'tok_chargeDeclined'), cash];
    return { body: { storeId: catalog.storeId, ...(customerId ? { customerId } : {}), lines, tenders }, tender, customerId };
  }

  private async sell(): Promise<KeyOutcome> {
    const key = randomUUID();
    const { body, tender, customerId } = this.body();
    const outcome: KeyOutcome = { key, tender, customerId, attempts: [], finalStatus: 0, succeeded: false };
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      let status = 0;
      let json: { id?: string; saleId?: string; code?: string; total?: { amount: number } } | undefined;
      try {
        const res = await fetch(`${this.options.gatewayUrl}/api/v1/transactions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${this.options.token()}`, 'idempotency-key': key },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(this.options.requestTimeoutMs),
        });
        status = res.status;
        const text = await res.text();
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
      } catch {
        status = 0;
      }
      outcome.attempts.push({ status, code: json?.code, at: Date.now() });
      outcome.finalStatus = status;
      outcome.finalCode = json?.code;
      if (status === 200 || status === 201) {
        outcome.succeeded = true;
        outcome.saleId = json?.id;
        outcome.total = json?.total?.amount;
      } else if (json?.saleId) {
        outcome.saleId = json.saleId;
      }
      const retry = RETRY_STATUSES.has(status) || (status === 409 && IN_PROGRESS_CODES.has(json?.code ?? ''));
      if (!retry || Date.now() - started > this.options.keyBudgetMs) return outcome;
      await sleep(Math.min(2_000, 200 * 2 ** Math.min(attempt, 3)) + Math.floor(this.rnd() * 100));
    }
  }
}

/** Counts of every answer (all attempts), by status ("0" = no connection). */
export function statusCounts(outcomes: KeyOutcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) for (const a of o.attempts) counts[String(a.status)] = (counts[String(a.status)] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => Number(a) - Number(b)));
}

/** Counts of every non-2xx answer by status and problem code (where the 503s and 409s came from). */
export function codeCounts(outcomes: KeyOutcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) {
    for (const a of o.attempts) {
      if (a.status === 200 || a.status === 201) continue;
      const k = a.status === 0 ? 'connection error' : `${a.status} ${a.code ?? ''}`.trim();
      counts[k] = (counts[k] ?? 0) + 1;
    }
  }
  return Object.fromEntries(Object.entries(counts).sort());
}

/** Counts of the final answer per key. */
export function finalCounts(outcomes: KeyOutcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) {
    const k = o.finalStatus === 0 ? 'no answer' : o.finalCode && o.finalStatus !== 201 ? `${o.finalStatus} ${o.finalCode}` : String(o.finalStatus);
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(counts).sort());
}
