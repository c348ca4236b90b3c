import { MongoClient, MongoError, type Db } from 'mongodb';
import type { Logger } from '@pos/utils';

export interface MongoOptions {
  /** How long an operation waits for a reachable server before failing (ms). Short: callers retry. */
  serverSelectionTimeoutMS?: number;
  connectTimeoutMS?: number;
  /** A socket that sends nothing back for this long is treated as broken (ms). */
  socketTimeoutMS?: number;
  maxPoolSize?: number;
  appName?: string;
  logger?: Logger;
}

/** A MongoDB client and database; the client connects on first use and reconnects by itself. */
export interface MongoHandle {
  readonly client: MongoClient;
  readonly db: Db;
  readonly dbName: string;
  /** Resolves once a server answers a ping; throws after serverSelectionTimeoutMS otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Creates the client without waiting for a server: services start (and keep answering requests)
 * while MongoDB is down. Every operation fails within `serverSelectionTimeoutMS` while no server is
 * reachable, which callers treat as an outage (see `isMongoUnavailable`). Works with real MongoDB 7
 * and the in-process stand-in (scripts/mongo-memory-server.mjs); keep to the subset both support.
 *
 * Driver 6 leaves a client whose FIRST connection failed closed for good (every later operation:
 * MongoTopologyClosedError) until `connect()` is called again. So the handle connects in the
 * background and retries with backoff until it succeeds; after that the driver's own monitoring
 * reconnects through any later outage.
 */
export function connectMongo(uri: string, dbName: string, options: MongoOptions = {}): MongoHandle {
  const { logger } = options;
  const client = new MongoClient(uri, {
    serverSelectionTimeoutMS: options.serverSelectionTimeoutMS ?? 2_000,
    connectTimeoutMS: options.connectTimeoutMS ?? 2_000,
    socketTimeoutMS: options.socketTimeoutMS ?? 10_000,
    maxPoolSize: options.maxPoolSize ?? 10,
    appName: options.appName,
    // The stand-in has no retryable writes; facts are idempotent upserts, so a retry is ours to make.
    retryWrites: false,
  });
  // The driver reports topology problems as events too; nothing here may crash the process.
  client.on('error', (err) => logger?.warn('mongodb client error', { err: err.message }));
  const db = client.db(dbName);
  let closed = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let failures = 0;
  let lastWarnAt = 0;

  const connectInBackground = (): void => {
    if (closed) return;
    client.connect().then(
      () => {
        if (failures > 0) logger?.info('connected to MongoDB', { afterFailedAttempts: failures });
        failures = 0;
      },
      (err: unknown) => {
        if (closed) return;
        failures += 1;
        if (Date.now() - lastWarnAt > 60_000) {
          lastWarnAt = Date.now();
          logger?.warn('MongoDB is not reachable yet; retrying in the background (audit and analytics catch up once it is)', { err: (err as Error).message });
        }
        retryTimer = setTimeout(connectInBackground, Math.min(5_000, 250 * 2 ** Math.min(failures, 5)));
        retryTimer.unref();
      },
    );
  };
  connectInBackground();

  return {
    client,
    db,
    dbName,
    async ping() {
      await db.command({ ping: 1 });
    },
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(retryTimer);
      await client.close().catch(() => undefined);
    },
  };
}

const OUTAGE_ERROR_NAMES = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'MongoServerClosedError',
  'MongoPoolClearedError',
  'MongoOperationTimeoutError',
]);

// Server codes that mean "not now" rather than "not this document": shutdown, step-down, network.
const OUTAGE_CODES = new Set([6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436, 91001]);

/** True when a MongoDB error means the server is unreachable or unavailable (retry later), not a bad document. */
export function isMongoUnavailable(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 4) return false;
  const e = err as { name?: unknown; code?: unknown; cause?: unknown };
  if (typeof e.name === 'string' && OUTAGE_ERROR_NAMES.has(e.name)) return true;
  if (err instanceof MongoError) {
    if (err.hasErrorLabel('RetryableWriteError') || err.hasErrorLabel('ResetPool')) return true;
    if (typeof e.code === 'number' && OUTAGE_CODES.has(e.code)) return true;
  }
  return isMongoUnavailable(e.cause, depth + 1);
}

/**
 * Thrown (by `withMongoOutage`) when MongoDB is unreachable. It carries `transient: true`, which the
 * event consumer (@pos/events) reads as an outage: the message is retried later and never counted
 * toward the dead-letter stream.
 */
export class MongoUnavailableError extends Error {
  readonly transient = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MongoUnavailableError';
  }
}

/** Runs a MongoDB operation and turns an outage error into a MongoUnavailableError. */
export async function withMongoOutage<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isMongoUnavailable(err)) throw new MongoUnavailableError(`MongoDB is unavailable (${what}): ${(err as Error).message}`, { cause: err });
    throw err;
  }
}

/** The URI without credentials, for log lines. */
export function describeMongoUri(uri: string): string {
  return uri.replace(/^(mongodb(?:\+srv)?:\/\/)[^@/]*@/, '$1***@');
}
