import { createHash } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { withTenant, type Pool, type PoolClient } from '@pos/database';
import { z } from '@pos/types';
import { ProblemError, badRequest, createLogger, unauthorized, unprocessable, type Logger } from '@pos/utils';
import { PROBLEM_CONTENT_TYPE } from './errors';

/*
 * Idempotency-Key handling for writes that move money or stock (POS-DESIGN §3, §11 "Idempotency
 * lifecycle"). Records live in the service schema's `idempotency_keys` table (Postgres, so every
 * replica sees them) under row-level security, scoped by (tenant, route, key).
 *
 * Lifecycle of one key:
 *   absent/expired --INSERT in_progress (lease)--> in_progress --response < 500--> completed (replayed)
 *                                                   |   \--response >= 500 or Retry-After--> deleted (a retry runs again)
 *                                                   \--lease lapsed: one retry takes it over atomically
 *
 * Scope and hash:
 * - `route` is `${METHOD} ${baseUrl}${route template}`, e.g. `POST /api/v1/sales/:saleId/void`: path ids
 *   are NOT part of the scope (bounded, readable rows). They are part of the request hash instead, so
 *   one key sent to `/sales/A/void` and then to `/sales/B/void` is a reuse with different input -> 422,
 *   never a replay of A's answer for B. Use `routeName` to override the scope name.
 * - The request hash is sha256 over method, route and the canonical JSON (object keys sorted) of
 *   `{ params, query, body }`. Key order and whitespace in the body therefore do not matter.
 *
 * Responses:
 * - The record is written (completed, or deleted for 5xx) BEFORE the response leaves the process, so a
 *   client that has seen the answer and retries always gets the replay, never a spurious 409.
 * - Replays send the stored status and JSON body (jsonb: key order may differ from the original bytes)
 *   with `Idempotent-Replayed: true`; problem bodies (status >= 400) go out as application/problem+json.
 *   Other response headers (e.g. Location) are not stored. Routes behind this middleware answer JSON;
 *   a non-JSON body is stored and replayed as a JSON string.
 * - Every answer < 500 is stored, including 4xx from validation or domain rules; 5xx is never stored,
 *   nor is an answer with a Retry-After header (e.g. 409 sale_in_progress): it asks the client to come
 *   back, so the retry must run again and get the real outcome, not a replay of "still running".
 * - A request whose lease was taken over (it ran longer than leaseSeconds) still answers its own client,
 *   but its outcome is fenced out of the record: only the current lease holder may complete or delete it.
 *   Handlers must still be idempotent in their domain (e.g. sales unique on tenant + key), because a
 *   takeover re-runs the handler.
 */

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
export const IDEMPOTENT_REPLAYED_HEADER = 'Idempotent-Replayed';
/** What an Idempotency-Key may be: 1 to 255 visible ASCII characters. */
const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7E]{1,255}$/;
const SCHEMA_PATTERN = /^[a-z_][a-z0-9_]*$/;

/** Document the header on a route: `headers: IdempotencyKeyHeader`. */
export const IdempotencyKeyHeader = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x21-\x7E]+$/, 'must be visible ASCII characters')
    .openapi({
      description:
        'Client-chosen key (1-255 visible ASCII characters, e.g. a UUID) that makes this write safe to retry: the same key with the same request replays the first answer (`Idempotent-Replayed: true`); with a different request -> 422; while the first is still running -> 409.',
      example: '4f7c2a36-5d0e-4a8b-9a51-2b1f0c7d9e13',
    }),
});

export interface IdempotencyOptions {
  /** The service's app pool (row-level security applies; every query runs inside withTenant). */
  pool: Pool;
  /** The service schema holding `idempotency_keys`. */
  schema: string;
  /** How long a key is kept (default 24 h; POST /transactions uses 30 days). */
  ttlSeconds?: number;
  /** How long an in-progress marker holds before a retry may take it over (default 30 s). */
  leaseSeconds?: number;
  /** Scope name instead of `${METHOD} ${baseUrl}${route template}`. */
  routeName?: string;
  /** Retry-After on 409 idempotency_in_progress (default 1 s). */
  retryAfterSeconds?: number;
  logger?: Logger;
}

export interface RequestHashInput {
  method: string;
  route: string;
  params?: unknown;
  query?: unknown;
  body?: unknown;
}

/** JSON with object keys sorted at every level, so equal values always give equal text. */
export function canonicalJson(value: unknown): string {
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  const withToJson = value as { toJSON?: () => unknown };
  if (typeof withToJson.toJSON === 'function') return canonicalJson(withToJson.toJSON());
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item)).join(',')}]`;
  const record = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of Object.keys(record).sort()) {
    const item = record[key];
    if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
    parts.push(`${JSON.stringify(key)}:${canonicalJson(item)}`);
  }
  return `{${parts.join(',')}}`;
}

export function idempotencyRequestHash({ method, route, params, query, body }: RequestHashInput): string {
  const canonical = canonicalJson({ params: params ?? {}, query: query ?? {}, body: body ?? null });
  return createHash('sha256').update(`${method.toUpperCase()}\n${route}\n${canonical}`).digest('hex');
}

/** The default scope name: method and route template, never the concrete path with its ids. */
export function idempotencyRouteName(req: Request): string {
  const template = req.route?.path;
  const path = typeof template === 'string' ? `${req.baseUrl}${template}` : `${req.baseUrl}${req.path}`;
  return `${req.method.toUpperCase()} ${path}`;
}

/** Why an Idempotency-Key header cannot be used (400), or undefined when it can. */
export function idempotencyKeyProblem(key: string | undefined): ProblemError | undefined {
  if (key === undefined || key === '') {
    return badRequest(`This request requires an ${IDEMPOTENCY_KEY_HEADER} header`, [{ path: 'headers.idempotency-key', message: 'is required' }], 'idempotency_key_required');
  }
  if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
    return badRequest(
      `The ${IDEMPOTENCY_KEY_HEADER} header is not valid`,
      [{ path: 'headers.idempotency-key', message: 'must be 1 to 255 visible ASCII characters' }],
      'idempotency_key_invalid',
    );
  }
  return undefined;
}

/** For a route whose own data is its idempotency record: only the header's presence and form. */
export const requireIdempotencyKey: RequestHandler = (req, _res, next) => next(idempotencyKeyProblem(req.get(IDEMPOTENCY_KEY_HEADER)));

type Acquired =
  | { kind: 'proceed'; lease: string }
  | { kind: 'replay'; status: number; body: string | null }
  | { kind: 'mismatch' }
  | { kind: 'busy'; remainingSeconds: number };

interface Scope {
  table: string;
  tenantId: string;
  route: string;
  key: string;
}

async function acquire(client: PoolClient, s: Scope, hash: string, ttlSeconds: number, leaseSeconds: number): Promise<Acquired> {
  const pk = [s.tenantId, s.route, s.key];
  // A row can vanish between our INSERT conflicting and our SELECT (a 5xx release or an expiry
  // delete in another transaction); then insert again. An expired record is deleted only when it is
  // in the way: almost every key is new, and then the INSERT is the only statement.
  for (let attempt = 0; attempt < 3; attempt++) {
    const inserted = await client.query<{ lease: string }>(
      `INSERT INTO ${s.table} (tenant_id, route, key, request_hash, state, locked_until, expires_at)
       VALUES ($1, $2, $3, $4, 'in_progress', now() + make_interval(secs => $5), now() + make_interval(secs => $6))
       ON CONFLICT (tenant_id, route, key) DO NOTHING
       RETURNING locked_until::text AS lease`,
      [...pk, hash, leaseSeconds, ttlSeconds],
    );
    if (inserted.rows[0]) return { kind: 'proceed', lease: inserted.rows[0].lease };

    const found = await client.query<{
      request_hash: string;
      state: 'in_progress' | 'completed';
      response_status: number | null;
      body: string | null;
      remaining: number;
      expired: boolean;
    }>(
      `SELECT request_hash, state, response_status, response_body::text AS body,
              GREATEST(1, ceil(extract(epoch FROM coalesce(locked_until, now()) - now())))::int AS remaining,
              expires_at < now() AS expired
         FROM ${s.table} WHERE tenant_id = $1 AND route = $2 AND key = $3`,
      pk,
    );
    const row = found.rows[0];
    if (!row) continue;
    if (row.expired) {
      await client.query(`DELETE FROM ${s.table} WHERE tenant_id = $1 AND route = $2 AND key = $3 AND expires_at < now()`, pk);
      continue;
    }
    if (row.request_hash !== hash) return { kind: 'mismatch' };
    if (row.state === 'completed') return { kind: 'replay', status: row.response_status ?? 200, body: row.body };

    // In progress: take it over only if the lease has lapsed. The row lock makes this atomic: of
    // several concurrent takers one updates, the others re-check a fresh lease and get nothing.
    const taken = await client.query<{ lease: string }>(
      `UPDATE ${s.table} SET locked_until = now() + make_interval(secs => $5)
        WHERE tenant_id = $1 AND route = $2 AND key = $3 AND request_hash = $4 AND state = 'in_progress'
          AND (locked_until IS NULL OR locked_until < now())
        RETURNING locked_until::text AS lease`,
      [...pk, hash, leaseSeconds],
    );
    if (taken.rows[0]) return { kind: 'proceed', lease: taken.rows[0].lease };
    return { kind: 'busy', remainingSeconds: row.remaining };
  }
  return { kind: 'busy', remainingSeconds: leaseSeconds };
}

function isJsonContentType(contentType: unknown): boolean {
  if (typeof contentType !== 'string') return false;
  const mime = contentType.split(';')[0]!.trim().toLowerCase();
  return mime === 'application/json' || mime.endsWith('+json');
}

/** The stored form of a captured body: JSON text for jsonb, or null for an empty body. */
function storedBody(chunks: Buffer[], contentType: unknown): string | null {
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.length === 0) return null;
  if (isJsonContentType(contentType)) {
    try {
      JSON.parse(text);
      return text;
    } catch {
      // fall through: store the text as a JSON string
    }
  }
  return JSON.stringify(text);
}

function looksLikeProblem(body: unknown): boolean {
  return typeof body === 'object' && body !== null && !Array.isArray(body) && 'type' in body && 'title' in body && 'status' in body;
}

function replay(res: Response, status: number, bodyText: string | null): void {
  res.setHeader(IDEMPOTENT_REPLAYED_HEADER, 'true');
  res.status(status);
  if (bodyText === null) {
    res.end();
    return;
  }
  const body: unknown = JSON.parse(bodyText);
  if (status >= 400 && looksLikeProblem(body)) {
    res.type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(body));
    return;
  }
  res.type('application/json').send(JSON.stringify(body));
}

type EndArgs = Parameters<Response['end']>;

/**
 * Holds the response in the route's `before` list (after authentication, so req.auth is set) until
 * the idempotency record says this request may run, and records its answer before it is sent.
 */
export function idempotency(options: IdempotencyOptions): RequestHandler {
  const { pool, schema, ttlSeconds = 24 * 60 * 60, leaseSeconds = 30, retryAfterSeconds = 1 } = options;
  if (!SCHEMA_PATTERN.test(schema)) throw new TypeError(`idempotency: invalid schema name ${JSON.stringify(schema)}`);
  for (const [name, value] of Object.entries({ ttlSeconds, leaseSeconds, retryAfterSeconds })) {
    if (!Number.isInteger(value) || value <= 0) throw new TypeError(`idempotency: ${name} must be a positive integer`);
  }
  const table = `${schema}.idempotency_keys`;
  let logger = options.logger;
  const log = () => (logger ??= createLogger({ service: 'idempotency', level: process.env.LOG_LEVEL ?? 'info' }));

  return (req: Request, res: Response, next: NextFunction) => {
    const auth = req.auth;
    if (!auth) return next(unauthorized());
    const key = req.get(IDEMPOTENCY_KEY_HEADER);
    const problem = idempotencyKeyProblem(key);
    if (problem || key === undefined) return next(problem);

    const scope: Scope = { table, tenantId: auth.tenantId, route: options.routeName ?? idempotencyRouteName(req), key };
    const hash = idempotencyRequestHash({ method: req.method, route: scope.route, params: req.params, query: req.query, body: req.body });

    Promise.resolve()
      .then(() => withTenant(pool, auth.tenantId, (client) => acquire(client, scope, hash, ttlSeconds, leaseSeconds)))
      .then(
        (result) => {
          switch (result.kind) {
            case 'mismatch':
              return next(
                unprocessable(
                  `This ${IDEMPOTENCY_KEY_HEADER} was already used with a different request; use a new key for a new request`,
                  'idempotency_key_reused',
                ),
              );
            case 'busy':
              return next(
                new ProblemError(
                  409,
                  'idempotency_in_progress',
                  'Conflict',
                  `A request with this ${IDEMPOTENCY_KEY_HEADER} is still being processed; retry shortly to get its result`,
                  undefined,
                  { 'Retry-After': String(retryAfterSeconds) },
                  { leaseRemainingSeconds: result.remainingSeconds },
                ),
              );
            case 'replay':
              return replay(res, result.status, result.body);
            case 'proceed':
              record(req, res, scope, result.lease);
              return next();
          }
        },
        (err: unknown) => next(err),
      );
  };

  /** Captures the body and, on the first end(), completes or releases the record before sending. */
  function record(req: Request, res: Response, scope: Scope, lease: string): void {
    const chunks: Buffer[] = [];
    const toBuffer = (chunk: unknown, encoding: unknown): Buffer | undefined => {
      if (chunk === undefined || chunk === null || typeof chunk === 'function') return undefined;
      if (Buffer.isBuffer(chunk)) return chunk;
      if (chunk instanceof Uint8Array) return Buffer.from(chunk);
      return Buffer.from(String(chunk), typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
    };
    const originalWrite = res.write;
    const originalEnd = res.end;
    let ended = false;

    res.write = function (this: Response, ...args: unknown[]) {
      const buf = toBuffer(args[0], args[1]);
      if (buf) chunks.push(buf);
      return (originalWrite as (...a: unknown[]) => boolean).apply(this, args);
    } as Response['write'];

    res.end = function (this: Response, ...args: unknown[]) {
      // A second end() while the record is being written is dropped: the first answer is the one
      // recorded and sent (as it would be without this middleware).
      if (ended) return res;
      ended = true;
      // The answer is decided: code that checks headersSent (the route table, the error handler)
      // must not try to send another one while the record is written.
      Object.defineProperty(res, 'headersSent', { configurable: true, get: () => true });
      const buf = toBuffer(args[0], args[1]);
      if (buf) chunks.push(buf);
      const status = res.statusCode;
      const pk = [scope.tenantId, scope.route, scope.key];
      const finish = () => {
        Reflect.deleteProperty(res, 'headersSent');
        res.write = originalWrite;
        res.end = originalEnd;
        originalEnd.apply(res, args as EndArgs);
      };
      // "Ask again later" (a 5xx, or any answer with Retry-After such as 409 sale_in_progress) is
      // not the outcome: stored, it would be replayed for the key's whole life instead of the result.
      const work =
        status >= 500 || res.getHeader('retry-after') !== undefined
          ? withTenant(pool, scope.tenantId, (c) =>
              c.query(`DELETE FROM ${table} WHERE tenant_id = $1 AND route = $2 AND key = $3 AND state = 'in_progress' AND locked_until = $4::timestamptz`, [
                ...pk,
                lease,
              ]),
            )
          : withTenant(pool, scope.tenantId, (c) =>
              c.query(
                `UPDATE ${table} SET state = 'completed', response_status = $5, response_body = $6::jsonb, locked_until = NULL
                  WHERE tenant_id = $1 AND route = $2 AND key = $3 AND state = 'in_progress' AND locked_until = $4::timestamptz`,
                [...pk, lease, status, storedBody(chunks, res.getHeader('content-type'))],
              ),
            );
      work
        .then((r) => {
          if (r.rowCount === 0) {
            log().warn('idempotency record not updated: the lease was taken over by a retry', { route: scope.route, status, path: req.path });
          }
        })
        .catch((err: unknown) => {
          // The answer still goes out; the record stays in progress until its lease lapses.
          log().error('idempotency record could not be written', { route: scope.route, status, err: err instanceof Error ? err.message : String(err) });
        })
        .finally(finish);
      return res;
    } as Response['end'];
  }
}

/** Deletes expired records (worker pool: BYPASSRLS, all tenants). Returns how many were removed. */
export async function pruneExpiredIdempotencyKeys(pool: Pool, schema: string): Promise<number> {
  if (!SCHEMA_PATTERN.test(schema)) throw new TypeError(`pruneExpiredIdempotencyKeys: invalid schema name ${JSON.stringify(schema)}`);
  const result = await pool.query(`DELETE FROM ${schema}.idempotency_keys WHERE expires_at < now()`);
  return result.rowCount ?? 0;
}
