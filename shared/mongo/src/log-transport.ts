import winston from 'winston';
import Transport from 'winston-transport';
import type { Collection, Db, Document } from 'mongodb';
import { ConfigError, createLogger, type Logger } from '@pos/utils';
import { connectMongo } from './connection';

export const SYSTEM_LOGS = 'system_logs';

export interface MongoLogTransportOptions {
  db: Db;
  collection?: string;
  level?: string;
  /** Lines per insertMany. */
  batchSize?: number;
  /** A partial batch is written after this long (ms). */
  flushIntervalMs?: number;
  /** Lines kept while MongoDB is down; beyond it the oldest are dropped (and counted). */
  maxBuffered?: number;
  /** Told about write failures, at most once per `reportEveryMs`; defaults to one line on stderr. */
  onWriteError?: (err: Error, info: { buffered: number; dropped: number }) => void;
  reportEveryMs?: number;
}

interface LogDocument extends Document {
  at: Date;
  level: string;
  message: string;
  service?: string;
  requestId?: string;
  tenantId?: string;
  userId?: string;
  meta: Record<string, unknown>;
}

/**
 * The optional winston transport for `system_logs` (LOG_TO_MONGO=true). It never blocks or fails a
 * log call: lines are buffered and written in batches (insertMany, unordered) by a timer; while
 * MongoDB is down the buffer is kept up to `maxBuffered` lines and the oldest are dropped beyond it.
 * Lines reach it already redacted (the logger's formats run before any transport).
 */
export class MongoLogTransport extends Transport {
  private readonly collection: Collection<LogDocument>;
  private readonly batchSize: number;
  private readonly maxBuffered: number;
  private readonly reportEveryMs: number;
  private readonly onWriteError: NonNullable<MongoLogTransportOptions['onWriteError']>;
  private buffer: LogDocument[] = [];
  private flushing: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private lastReportAt = 0;
  private stopped = false;
  /** Lines dropped because the buffer was full (MongoDB down too long) or a batch was refused. */
  dropped = 0;
  written = 0;

  constructor(options: MongoLogTransportOptions) {
    super({ level: options.level });
    this.collection = options.db.collection<LogDocument>(options.collection ?? SYSTEM_LOGS);
    this.batchSize = options.batchSize ?? 200;
    this.maxBuffered = options.maxBuffered ?? 10_000;
    this.reportEveryMs = options.reportEveryMs ?? 60_000;
    this.onWriteError =
      options.onWriteError ??
      ((err, info) => process.stderr.write(`system_logs: MongoDB write failed (${err.message}); ${info.buffered} lines buffered, ${info.dropped} dropped\n`));
    this.timer = setInterval(() => void this.flush(), options.flushIntervalMs ?? 1_000);
    this.timer.unref();
  }

  override log(info: Record<string, unknown>, callback: () => void): void {
    try {
      if (!this.stopped) {
        this.buffer.push(toDocument(info));
        if (this.buffer.length > this.maxBuffered) {
          const over = this.buffer.length - this.maxBuffered;
          this.buffer.splice(0, over);
          this.dropped += over;
        }
        if (this.buffer.length >= this.batchSize) void this.flush();
      }
    } catch {
      this.dropped += 1;
    }
    setImmediate(() => this.emit('logged', info));
    callback();
  }

  get buffered(): number {
    return this.buffer.length;
  }

  /** Writes what is buffered (one batch at a time); never rejects. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.buffer.length === 0) return Promise.resolve();
    this.flushing = this.writeAll().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async writeAll(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, this.batchSize);
      try {
        await this.collection.insertMany(batch, { ordered: false });
        this.written += batch.length;
      } catch (err) {
        const e = err as Error & { insertedCount?: number; result?: { insertedCount?: number } };
        const inserted = e.result?.insertedCount ?? e.insertedCount ?? 0;
        if (inserted > 0) {
          // Some documents were refused (not an outage): keep nothing of this batch.
          this.written += inserted;
          this.dropped += batch.length - inserted;
        } else {
          // Most likely MongoDB is unreachable: put the batch back and try again on the next tick.
          this.buffer.unshift(...batch);
          if (this.buffer.length > this.maxBuffered) {
            const over = this.buffer.length - this.maxBuffered;
            this.buffer.splice(0, over);
            this.dropped += over;
          }
        }
        this.report(e);
        return;
      }
    }
  }

  private report(err: Error): void {
    if (Date.now() - this.lastReportAt < this.reportEveryMs) return;
    this.lastReportAt = Date.now();
    try {
      this.onWriteError(err, { buffered: this.buffer.length, dropped: this.dropped });
    } catch {
      // reporting must not fail either
    }
  }

  override close(): void {
    void this.closeAsync();
  }

  /** Stops the timer and makes one last attempt to write what is buffered (bounded by `timeoutMs`). */
  async closeAsync(timeoutMs = 2_000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.flush(), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }
}

const OWN_FIELDS = new Set(['level', 'message', 'timestamp', 'service', 'requestId', 'tenantId', 'userId']);

function toDocument(info: Record<string, unknown>): LogDocument {
  const at = typeof info.timestamp === 'string' ? new Date(info.timestamp) : new Date();
  const meta: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(info)) {
    if (!OWN_FIELDS.has(key) && value !== undefined) meta[key] = plain(value);
  }
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const doc: LogDocument = {
    at: Number.isNaN(at.getTime()) ? new Date() : at,
    level: String(info.level ?? 'info'),
    message: typeof info.message === 'string' ? info.message : JSON.stringify(info.message ?? ''),
    meta,
  };
  for (const key of ['service', 'requestId', 'tenantId', 'userId'] as const) {
    const v = str(info[key]);
    if (v) doc[key] = v;
  }
  return doc;
}

/** A JSON-safe copy (no functions, cycles or class instances MongoDB cannot store). */
function plain(value: unknown): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (value instanceof Date) return value;
  try {
    return JSON.parse(JSON.stringify(value)) as unknown;
  } catch {
    return String(value);
  }
}

/**
 * The transports for a service's logger: undefined (the logger's default console) unless
 * `enabled` (LOG_TO_MONGO=true), then the console plus a MongoLogTransport on `db`.
 */
export function logTransports(options: { enabled: boolean; db: Db; level?: string }): winston.transport[] | undefined {
  if (!options.enabled) return undefined;
  return [new winston.transports.Console(), new MongoLogTransport({ db: options.db, level: options.level })];
}

/** Flushes and stops every MongoLogTransport of a logger (on shutdown). */
export async function closeLogTransports(logger: winston.Logger): Promise<void> {
  await Promise.all(logger.transports.filter((t): t is MongoLogTransport => t instanceof MongoLogTransport).map((t) => t.closeAsync()));
}

export interface ServiceLogConfig {
  LOG_LEVEL: string;
  LOG_TO_MONGO: boolean;
  MONGODB_URI?: string;
  MONGODB_DB: string;
}

/**
 * A service's logger: JSON lines on the console and, with LOG_TO_MONGO=true, also MongoDB
 * `system_logs` (batched; a log call never waits for MongoDB). `close` flushes what is buffered and
 * disconnects: call it last on shutdown, so the shutdown's own lines are kept.
 */
export function createServiceLogger(service: string, config: ServiceLogConfig): { logger: Logger; close(): Promise<void> } {
  if (!config.LOG_TO_MONGO) return { logger: createLogger({ service, level: config.LOG_LEVEL }), close: async () => undefined };
  if (!config.MONGODB_URI) throw new ConfigError(['MONGODB_URI: is required when LOG_TO_MONGO=true']);
  const mongo = connectMongo(config.MONGODB_URI, config.MONGODB_DB, { appName: `${service}-logs` });
  const logger = createLogger({ service, level: config.LOG_LEVEL, transports: logTransports({ enabled: true, db: mongo.db }) });
  return {
    logger,
    async close() {
      await closeLogTransports(logger);
      await mongo.close();
    },
  };
}
