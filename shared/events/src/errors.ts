/**
 * Thrown by a handler when the failure is an outage of something it depends on (for example a
 * downstream service answering 503), so the message is retried without counting toward the DLQ.
 */
export class TransientEventError extends Error {
  readonly transient = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransientEventError';
  }
}

export class InvalidEventError extends Error {
  constructor(
    message: string,
    readonly issues: unknown[] = [],
  ) {
    super(message);
    this.name = 'InvalidEventError';
  }
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
]);

// SQLSTATEs of an unavailable or overloaded database, a statement timeout, or a transient conflict:
// none of them says anything about the event itself.
const PG_TRANSIENT_CODES = new Set(['57P01', '57P02', '57P03', '57014', '53300', '40001', '40P01']);

// Errors that pg, pg-pool and ioredis raise without a code.
const TRANSIENT_MESSAGE = new RegExp(
  [
    'Connection terminated', // pg: server went away, or connect timeout
    'timeout exceeded when trying to connect', // pg-pool checkout
    'Client has encountered a connection error', // pg: reuse of a broken client
    'Connection is closed', // ioredis
    "Stream isn't writeable", // ioredis without offline queue
    'Reached the max retries per request limit', // ioredis
    'socket hang up',
  ].join('|'),
  'i',
);

const TRANSIENT_NAMES = new Set(['TimeoutError', 'MaxRetriesPerRequestError', 'TransientEventError']);

/**
 * True for connection failures and timeouts (an outage), which must never push a message toward the
 * dead-letter stream. Looks through `cause` and AggregateError members, since fetch and
 * happy-eyeballs connects wrap the socket error.
 */
export function isTransientError(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 5) return false;
  const e = err as { code?: unknown; name?: unknown; message?: unknown; transient?: unknown; cause?: unknown; errors?: unknown };
  if (e.transient === true) return true;
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code && (NETWORK_CODES.has(code) || PG_TRANSIENT_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code))) return true;
  if (typeof e.name === 'string' && TRANSIENT_NAMES.has(e.name)) return true;
  if (typeof e.message === 'string' && TRANSIENT_MESSAGE.test(e.message)) return true;
  if (Array.isArray(e.errors) && e.errors.some((inner) => isTransientError(inner, depth + 1))) return true;
  return isTransientError(e.cause, depth + 1);
}
