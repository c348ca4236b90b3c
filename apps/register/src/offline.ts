/**
 * Offline sales. When the gateway cannot be reached, a cash sale is completed at the register with
 * the Idempotency-Key it was going to be sent with and queued in IndexedDB as an offline sale
 * (POS-DESIGN §11): the body carries `offline: {occurredAt, terminalId}` and the price each line was
 * charged, so the server books what happened at the till, dated when it happened. When the
 * connection returns the queue is sent oldest first, one at a time, with the same key and body: if
 * an earlier sync did reach the server (answer lost), the server replays the stored sale instead of
 * making a second one, so every queued sale is booked exactly once.
 *
 * The online attempt that failed used the same key with the online body (`firstBody`). If it did
 * reach the server after all, the offline body is a different request for that key (422
 * idempotency_key_reused): then the online body is sent again, and the server replays that sale.
 *
 * What the server says decides each entry's fate — nothing is ever dropped:
 * - 201: synced (the server's receipt number, totals and flags are kept). If the server flagged the
 *   sale (prices that differ from its catalog, stock below zero, shift closed…) or its total differs
 *   from what the customer paid at the register, the entry is flagged for the manager.
 * - a definitive refusal (400 e.g. a sale older than 30 days, 402, 403, 409, 422): a conflict, shown
 *   to the manager, who retries it (with a new key since that sale failed for good) or marks it
 *   resolved; it stays in the list either way.
 * - no answer, 5xx, 429, sale still running, no open shift, session expired: the entry stays
 *   pending and syncing stops until the next attempt.
 *
 * Each sale is booked to the cashier who rang it up (`offline.cashierId`), whoever syncs: a cashier
 * sends only their own sales and leaves a colleague's pending for that colleague or a manager (the
 * server lets only managers and owners book a sale to someone else).
 */
import { ApiError } from './api';
import type { SaleRequest } from './cart';
import type { Db } from './db';
import { describeError } from './messages';

export type QueueStatus = 'pending' | 'synced' | 'conflict' | 'resolved';

export interface QueuedSale {
  /** The Idempotency-Key the sale is (re)sent with. */
  key: string;
  /** The key of the first attempt (differs from `key` after a manager retried a conflict). */
  originalKey: string;
  tenantId: string;
  storeId: string;
  userId: string;
  userName: string;
  terminalId: string;
  createdAt: string;
  /** What is synced: the offline sale (terminal prices, occurredAt, terminalId). */
  body: SaleRequest;
  /** The online body first sent with `key` before the connection failed, if that attempt may have arrived. */
  firstBody?: SaleRequest;
  /** What the register showed and took: for the manager's comparison. */
  local: { subtotal: number; discountTotal: number; taxTotal: number; total: number; changeDue: number; currency: string; lines: Array<{ name: string; quantity: number; total: number }> };
  localReceipt: string;
  status: QueueStatus;
  attempts: number;
  lastAttemptAt?: string;
  lastError?: string;
  problem?: { status: number; code?: string; detail?: string; shortages?: unknown };
  server?: { saleId: string; receiptNumber: number | null; total: number; changeDue: number; replayed: boolean; flags?: string[] };
  /** Set when the server flagged the sale or booked a different total than the register charged. */
  flag?: string;
  syncedAt?: string;
  syncedBy?: string;
  resolvedAt?: string;
  resolvedBy?: string;
  resolution?: string;
}

export interface ServerSale {
  id: string;
  receiptNumber: number | null;
  total: { amount: number; currency: string };
  changeDue: { amount: number; currency: string };
  /** The server's review flags (offline sales): price_mismatch, negative_stock, shift_closed… */
  flags?: string[];
}

const FLAG_TEXT: Record<string, string> = {
  price_mismatch: 'prices differ from the catalog',
  negative_stock: 'stock went below zero',
  product_inactive: 'a product is no longer for sale',
  shift_closed: 'booked to a shift already closed',
  outside_shift: 'booked to the shift open now',
  no_shift: 'booked without a shift',
};

/** The server's flags in words, e.g. "prices differ from the catalog, stock went below zero". */
export function describeServerFlags(flags: readonly string[]): string {
  return flags.map((f) => FLAG_TEXT[f] ?? f).join(', ');
}

/** What the manager should look at after a sync, or undefined when nothing. */
export function syncFlag(sale: ServerSale, local: QueuedSale['local']): string | undefined {
  const notes: string[] = [];
  if (sale.total.amount !== local.total) {
    notes.push(`Price changed: the register charged ${local.total} but the server booked ${sale.total.amount} (${local.currency} minor units); change due is now ${sale.changeDue.amount}`);
  }
  if (sale.flags?.length) notes.push(`Flagged by the server: ${describeServerFlags(sale.flags)}`);
  return notes.length ? notes.join('. ') : undefined;
}

/** Sends one sale; resolves with the server's sale and whether it was a replay. */
export type PostSale = (key: string, body: SaleRequest) => Promise<{ sale: ServerSale; replayed: boolean }>;

/** Who is logged in and syncing. */
export interface SyncActor {
  id: string;
  name: string;
  role: string;
}

export interface SyncResult {
  synced: number;
  conflicts: number;
  /** Sales rung up by another user, left pending for them or a manager. */
  othersWaiting: number;
  /** Why syncing stopped early (entries are still pending), if it did. */
  stoppedBy?: string;
  authExpired?: boolean;
}

/**
 * Whether `actor` may send this entry: their own sales; a manager or owner also a colleague's, when
 * the register recorded who rang it up (`offline.cashierId`). An entry of an older register has no
 * cashierId and would be booked to whoever sends it, so it waits for its own cashier.
 */
export function mayBeSentBy(entry: QueuedSale, actor: Pick<SyncActor, 'id' | 'role'>): boolean {
  if (entry.userId === actor.id) return true;
  return (actor.role === 'manager' || actor.role === 'owner') && entry.body.offline?.cashierId === entry.userId;
}

/** Errors after which the same request may succeed later: keep the entry pending. */
function isTransient(err: ApiError): boolean {
  return err.outcomeUnknown || err.status === 401 || err.code === 'no_open_shift' || err.code === 'sale_in_progress';
}

export class OfflineQueue {
  private running: Promise<SyncResult> | null = null;

  constructor(private readonly db: Db) {}

  async add(entry: QueuedSale): Promise<void> {
    await this.db.put('queue', entry);
  }

  async list(): Promise<QueuedSale[]> {
    const all = await this.db.getAll<QueuedSale>('queue');
    return all.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async pendingCount(tenantId?: string): Promise<number> {
    return (await this.list()).filter((e) => e.status === 'pending' && (!tenantId || e.tenantId === tenantId)).length;
  }

  /**
   * Sends every pending sale of the tenant, oldest first. Only one sync runs at a time in this
   * page (a second call joins the first); across tabs the Web Locks API serialises them. Even if
   * two ran, the shared Idempotency-Keys would keep every sale single.
   */
  sync(tenantId: string, post: PostSale, actor: SyncActor): Promise<SyncResult> {
    if (!this.running) {
      const run = () => this.syncOnce(tenantId, post, actor);
      const locks = typeof navigator !== 'undefined' ? (navigator as Navigator & { locks?: LockManager }).locks : undefined;
      this.running = (locks ? (locks.request('cloud-pos-offline-sync', run) as unknown as Promise<SyncResult>) : run()).finally(() => {
        this.running = null;
      });
    }
    return this.running;
  }

  private async syncOnce(tenantId: string, post: PostSale, actor: SyncActor): Promise<SyncResult> {
    const result: SyncResult = { synced: 0, conflicts: 0, othersWaiting: 0 };
    const pending = (await this.list()).filter((e) => e.status === 'pending' && e.tenantId === tenantId);
    for (const entry of pending) {
      if (!mayBeSentBy(entry, actor)) {
        result.othersWaiting += 1;
        continue;
      }
      const attemptAt = new Date().toISOString();
      try {
        const { sale, replayed } = await this.send(entry, post);
        const flag = syncFlag(sale, entry.local);
        await this.db.put('queue', {
          ...entry,
          status: 'synced',
          attempts: entry.attempts + 1,
          lastAttemptAt: attemptAt,
          lastError: undefined,
          problem: undefined,
          server: { saleId: sale.id, receiptNumber: sale.receiptNumber, total: sale.total.amount, changeDue: sale.changeDue.amount, replayed, flags: sale.flags ?? [] },
          flag,
          syncedAt: new Date().toISOString(),
          syncedBy: actor.name,
        } satisfies QueuedSale);
        result.synced += 1;
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        const message = describeError(err, (id) => entry.local.lines.find((_, i) => entry.body.lines[i]?.productId === id)?.name);
        if (isTransient(err)) {
          await this.db.put('queue', { ...entry, attempts: entry.attempts + 1, lastAttemptAt: attemptAt, lastError: message } satisfies QueuedSale);
          result.stoppedBy = message;
          result.authExpired = err.status === 401;
          return result;
        }
        await this.db.put('queue', {
          ...entry,
          status: 'conflict',
          attempts: entry.attempts + 1,
          lastAttemptAt: attemptAt,
          lastError: message,
          problem: { status: err.status, code: err.code, detail: err.problem?.detail, shortages: err.problem?.shortages },
        } satisfies QueuedSale);
        result.conflicts += 1;
      }
    }
    return result;
  }

  /** The offline body; if the key already booked the online attempt, that sale's replay. */
  private async send(entry: QueuedSale, post: PostSale): Promise<{ sale: ServerSale; replayed: boolean }> {
    try {
      return await post(entry.key, entry.body);
    } catch (err) {
      if (entry.firstBody && err instanceof ApiError && err.code === 'idempotency_key_reused') return post(entry.key, entry.firstBody);
      throw err;
    }
  }

  /**
   * A manager sends a conflict again. The sale under the old key failed for good (the server keeps
   * that answer for the key), so the retry needs a new key; the first key stays in `originalKey`.
   */
  async retry(key: string, newKey: string): Promise<void> {
    const entry = await this.db.get<QueuedSale>('queue', key);
    if (!entry || entry.status !== 'conflict') return;
    await this.db.delete('queue', key);
    // The new key never saw the online attempt.
    await this.db.put('queue', { ...entry, key: newKey, firstBody: undefined, status: 'pending', lastError: `Retry of ${key}` } satisfies QueuedSale);
  }

  /** A manager settles a conflict by hand (e.g. rang it up again, or wrote it off): kept, marked. */
  async resolve(key: string, by: string, resolution: string): Promise<void> {
    await this.db.update<QueuedSale>('queue', key, (e) => (e ? { ...e, status: 'resolved', resolvedAt: new Date().toISOString(), resolvedBy: by, resolution } : e));
  }
}
