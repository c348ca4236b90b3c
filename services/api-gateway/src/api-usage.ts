import type { RequestHandler } from 'express';
import { factId, isMongoUnavailable, type Collection, type Db, type Document, type ObjectId } from '@pos/mongo';
import type { Logger } from '@pos/utils';

/** Per user and route call counts and latency (POS-DESIGN §7), one document per aggregation key. */
export const API_USAGE = 'api_usage';

/** One finished call, as the middleware sees it. */
export interface ApiUsageCall {
  tenantId: string;
  userId: string;
  role: string;
  method: string;
  /** The routing-table prefix (`/api/v1/products`), never the raw path: no ids, bounded cardinality. */
  route: string;
  /** HTTP status; undefined when the client went away before an answer was sent. */
  status: number | undefined;
  latencyMs: number;
  /** When the call arrived (picks the minute bucket). */
  at: Date;
}

/** A stored api_usage document. */
export interface ApiUsageDocument extends Document {
  _id: ObjectId;
  tenantId: string;
  userId: string;
  method: string;
  route: string;
  /** `2xx`, `4xx`, …, or `aborted` (no answer was sent). */
  statusClass: string;
  /** Start of the minute the calls arrived in (UTC). */
  minute: Date;
  /** The role of the user's latest call in that minute. */
  role: string;
  count: number;
  totalLatencyMs: number;
  maxLatencyMs: number;
}

interface Entry {
  id: ObjectId;
  tenantId: string;
  userId: string;
  role: string;
  method: string;
  route: string;
  statusClass: string;
  minute: Date;
  count: number;
  totalLatencyMs: number;
  maxLatencyMs: number;
}

export interface ApiUsageRecorderOptions {
  /** The `api_usage` collection (injected, so tests can watch its writes). */
  collection: Collection<ApiUsageDocument>;
  /** The aggregate is written this often (ms). Default 10 s (API_USAGE_FLUSH_MS). */
  flushIntervalMs?: number;
  /** Keys kept while MongoDB is down; beyond it the oldest are dropped (and counted). Default 10,000. */
  maxKeys?: number;
  logger?: Logger;
  /** A failing write is logged at most this often (ms). Default 60 s. */
  reportEveryMs?: number;
  /** Clock for the minute buckets (tests pin it). */
  now?: () => number;
}

export const statusClassOf = (status: number | undefined): string => (status === undefined ? 'aborted' : `${Math.floor(status / 100)}xx`);

const MINUTE_MS = 60_000;
/** The aggregation key: tenant, user, method, route template, status class and minute. */
const keyOf = (e: Pick<Entry, 'tenantId' | 'userId' | 'method' | 'route' | 'statusClass' | 'minute'>) =>
  [e.tenantId, e.userId, e.method, e.route, e.statusClass, e.minute.toISOString()].join('|');
const round3 = (ms: number) => Math.round(ms * 1000) / 1000;

/**
 * Records every proxied /api/v1 call of a verified user into an in-memory aggregate keyed by
 * (tenant, user, method, route template, status class, minute) and writes it with ONE unordered
 * bulkWrite of `$inc`/`$max` upserts per flush — never one MongoDB write per request, and a request
 * never waits for MongoDB. A document's `_id` is `factId` of its key, so replicas and later flushes
 * add to the same document. While MongoDB is unreachable the aggregate is kept (up to `maxKeys`
 * keys, oldest dropped and counted) and written by a later flush.
 *
 * Counting is at least once: a flush whose connection breaks after MongoDB applied it is written
 * again (the driver cannot tell), so usage can be over-counted by one batch after such a failure.
 */
export class ApiUsageRecorder {
  private readonly collection: Collection<ApiUsageDocument>;
  private readonly maxKeys: number;
  private readonly reportEveryMs: number;
  private readonly logger: Logger | undefined;
  private readonly now: () => number;
  private readonly timer: NodeJS.Timeout;
  private pending = new Map<string, Entry>();
  private flushing: Promise<void> | undefined;
  private lastReportAt = 0;
  private stopped = false;
  /** Successful bulkWrites (each one flush). */
  flushes = 0;
  /** Calls written to MongoDB. */
  writtenCalls = 0;
  /** Flushes that failed and were kept for the next one. */
  failedFlushes = 0;
  /** Keys (and the calls they held) dropped: buffer full while MongoDB was down, or refused by it. */
  droppedKeys = 0;
  droppedCalls = 0;

  constructor(options: ApiUsageRecorderOptions) {
    this.collection = options.collection;
    this.maxKeys = options.maxKeys ?? 10_000;
    this.reportEveryMs = options.reportEveryMs ?? 60_000;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.timer = setInterval(() => void this.flush(), options.flushIntervalMs ?? 10_000);
    this.timer.unref();
  }

  /**
   * Middleware for one routing-table entry; mount it first in the route's chain so the latency is
   * the gateway's whole handling time. It only looks at the call once the response is done: by then
   * the gateway's token check has set `req.auth` (public routes and refused tokens have none and are
   * not recorded).
   */
  middleware(route: string): RequestHandler {
    return (req, res, next) => {
      const at = new Date(this.now());
      const started = process.hrtime.bigint();
      res.once('close', () => {
        try {
          const auth = req.auth;
          if (!auth) return;
          this.record({
            tenantId: auth.tenantId,
            userId: auth.userId,
            role: auth.role,
            method: req.method,
            route,
            status: res.headersSent ? res.statusCode : undefined,
            latencyMs: Number(process.hrtime.bigint() - started) / 1e6,
            at,
          });
        } catch (err) {
          // Recording must never disturb a request.
          this.logger?.debug('api usage not recorded', { err: (err as Error).message });
        }
      });
      next();
    };
  }

  /** Adds one call to the aggregate (synchronous, in memory). */
  record(call: ApiUsageCall): void {
    const statusClass = statusClassOf(call.status);
    const minute = new Date(Math.floor(call.at.getTime() / MINUTE_MS) * MINUTE_MS);
    const method = call.method.toUpperCase();
    const key = keyOf({ tenantId: call.tenantId, userId: call.userId, method, route: call.route, statusClass, minute });
    const latency = round3(Math.max(0, call.latencyMs));
    const existing = this.pending.get(key);
    if (existing) {
      existing.count += 1;
      existing.totalLatencyMs = round3(existing.totalLatencyMs + latency);
      existing.maxLatencyMs = Math.max(existing.maxLatencyMs, latency);
      existing.role = call.role;
      return;
    }
    this.pending.set(key, {
      id: factId(`${API_USAGE}|${key}`),
      tenantId: call.tenantId,
      userId: call.userId,
      role: call.role,
      method,
      route: call.route,
      statusClass,
      minute,
      count: 1,
      totalLatencyMs: latency,
      maxLatencyMs: latency,
    });
    this.trim();
  }

  /** Aggregation keys waiting for the next flush. */
  get pendingKeys(): number {
    return this.pending.size;
  }

  /** Calls waiting for the next flush. */
  get pendingCalls(): number {
    let n = 0;
    for (const e of this.pending.values()) n += e.count;
    return n;
  }

  /** Writes the aggregate with one bulkWrite; never rejects. A flush already running is joined. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.pending.size === 0) return Promise.resolve();
    this.flushing = this.writeBatch().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  /** Stops the timer and makes one last bounded attempt to write what is pending. */
  async close(timeoutMs = 2_000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.flush().then(() => this.flush()), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    if (this.pending.size > 0) this.logger?.warn('api usage not written at shutdown (MongoDB unreachable)', { keys: this.pending.size, calls: this.pendingCalls });
  }

  private async writeBatch(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    const entries = [...batch.values()];
    try {
      await this.collection.bulkWrite(
        entries.map((e) => ({
          updateOne: {
            filter: { _id: e.id },
            update: {
              $setOnInsert: { tenantId: e.tenantId, userId: e.userId, method: e.method, route: e.route, statusClass: e.statusClass, minute: e.minute },
              $set: { role: e.role },
              $inc: { count: e.count, totalLatencyMs: e.totalLatencyMs },
              $max: { maxLatencyMs: e.maxLatencyMs },
            },
            upsert: true,
          },
        })),
        { ordered: false },
      );
      this.flushes += 1;
      this.writtenCalls += entries.reduce((n, e) => n + e.count, 0);
    } catch (err) {
      const refused = documentErrors(err);
      if (refused && !isMongoUnavailable(err)) {
        // MongoDB refused some documents (not an outage); the others are written. A duplicate key
        // (two replicas inserting the same new document at once) is retried; anything else would
        // fail the same way again and is dropped.
        const retry = new Map<string, Entry>();
        for (const [index, code] of refused) {
          const e = entries[index];
          if (!e) continue;
          if (code === 11000) {
            retry.set(keyOf(e), e);
            continue;
          }
          this.droppedKeys += 1;
          this.droppedCalls += e.count;
        }
        this.writtenCalls += entries.reduce((n, e, i) => (refused.has(i) ? n : n + e.count), 0);
        if (retry.size > 0) this.restore(retry);
      } else {
        // Unreachable (or not known to be written): keep it, in front of what arrived meanwhile.
        this.failedFlushes += 1;
        this.restore(batch);
      }
      this.report(err as Error);
    }
  }

  /** Puts a failed batch back, merged with what was recorded since, oldest keys first. */
  private restore(batch: Map<string, Entry>): void {
    for (const [key, newer] of this.pending) {
      const older = batch.get(key);
      if (!older) {
        batch.set(key, newer);
        continue;
      }
      older.count += newer.count;
      older.totalLatencyMs = round3(older.totalLatencyMs + newer.totalLatencyMs);
      older.maxLatencyMs = Math.max(older.maxLatencyMs, newer.maxLatencyMs);
      older.role = newer.role;
    }
    this.pending = batch;
    this.trim();
  }

  private trim(): void {
    while (this.pending.size > this.maxKeys) {
      const [oldest, entry] = this.pending.entries().next().value as [string, Entry];
      this.pending.delete(oldest);
      this.droppedKeys += 1;
      this.droppedCalls += entry.count;
    }
  }

  private report(err: Error): void {
    if (Date.now() - this.lastReportAt < this.reportEveryMs) return;
    this.lastReportAt = Date.now();
    this.logger?.warn('api usage: MongoDB write failed; the counts are kept and written by a later flush', {
      err: err.message,
      pendingKeys: this.pending.size,
      droppedKeys: this.droppedKeys,
      droppedCalls: this.droppedCalls,
    });
  }
}

/** The operations a bulk write refused document by document (index -> error code), if that is what failed. */
function documentErrors(err: unknown): Map<number, number | undefined> | undefined {
  const writeErrors = (err as { writeErrors?: unknown }).writeErrors;
  const list = (Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : []) as Array<{ index?: number; code?: number }>;
  if (list.length === 0) return undefined;
  return new Map(list.map((w) => [w.index ?? -1, w.code]));
}

/** Indexes for reading api_usage per tenant and time, and per user; failures are logged, not fatal. */
export async function ensureApiUsageIndexes(db: Db, logger?: Logger): Promise<void> {
  const c = db.collection(API_USAGE);
  try {
    await c.createIndex({ tenantId: 1, minute: -1 });
    await c.createIndex({ tenantId: 1, userId: 1, minute: -1 });
  } catch (err) {
    logger?.warn('could not create api_usage indexes (will work without them)', { err: (err as Error).message });
  }
}
