import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import request from 'supertest';
import { withTenant } from '@pos/database';
import { z } from '@pos/types';
import { ProblemError, conflict, type Logger } from '@pos/utils';
import { createServiceApp, idempotency, IdempotencyKeyHeader, idempotencyRequestHash, pruneExpiredIdempotencyKeys, type RouteContext, type TokenVerifier } from '../src';
import { createTempSchema, type TempSchema } from '../../../scripts/test/temp-schema';

const THIRTY_DAYS = 30 * 24 * 60 * 60;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// The bearer token is the tenant id, so a test can act as any tenant.
const verifier: TokenVerifier = {
  verify: async (token) => ({ userId: 'u-1', tenantId: token, role: 'owner', stores: [], tokenId: 'x', token }),
};

const ThingBody = z.object({ name: z.string(), qty: z.number().int(), delayMs: z.number().int().optional() });

describe('idempotency middleware', () => {
  let db: TempSchema;
  let server: Server;
  const logged: Array<{ level: string; message: string }> = [];
  const flakyAttempts = new Map<string, number>();
  const tenantA = randomUUID();
  const tenantB = randomUUID();

  const fakeLogger = {
    error: (message: string) => void logged.push({ level: 'error', message }),
    warn: (message: string) => void logged.push({ level: 'warn', message }),
    info: () => undefined,
    debug: () => undefined,
  } as unknown as Logger;

  const effects = async (key: string) =>
    (await db.adminPool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${db.schema}.effects WHERE key = $1`, [key])).rows[0]!.n;
  const records = async (key: string) =>
    (
      await db.adminPool.query(
        `SELECT tenant_id, route, state, response_status, response_body, locked_until, expires_at - created_at AS kept
           FROM ${db.schema}.idempotency_keys WHERE key = $1 ORDER BY tenant_id`,
        [key],
      )
    ).rows;

  const post = (path: string, key: string | undefined, body: object, tenant = tenantA) => {
    const r = request(server).post(path).set('Authorization', `Bearer ${tenant}`);
    if (key !== undefined) r.set('Idempotency-Key', key);
    return r.send(body);
  };

  beforeAll(async () => {
    db = await createTempSchema(`CREATE TABLE effects (id bigserial PRIMARY KEY, tenant_id uuid NOT NULL, key text NOT NULL, payload jsonb NOT NULL);`);
    const record = async (tenantId: string, key: string, payload: unknown) =>
      (await db.appPool.query<{ id: number }>(`INSERT INTO ${db.schema}.effects (tenant_id, key, payload) VALUES ($1, $2, $3) RETURNING id`, [tenantId, key, JSON.stringify(payload)]))
        .rows[0]!.id;
    /** Records each attempt per key, and throws `firstError()` on the first one. */
    const failsOnFirstAttempt =
      (firstError: () => Error) =>
      async ({ auth, req }: RouteContext<unknown, unknown, unknown>) => {
        const key = req.get('idempotency-key')!;
        const attempt = (flakyAttempts.get(key) ?? 0) + 1;
        flakyAttempts.set(key, attempt);
        await record(auth.tenantId, key, { attempt });
        if (attempt === 1) throw firstError();
        return { attempt };
      };
    const { app } = createServiceApp({
      name: 'idempotency-test',
      logger: fakeLogger,
      corsOrigins: [],
      verifier,
      routes: ({ table }) => {
        const options = { pool: db.appPool, schema: db.schema, logger: fakeLogger };
        table.add({
          method: 'post',
          path: '/api/v1/things',
          summary: 'Create a thing',
          roles: ['owner'],
          headers: IdempotencyKeyHeader,
          body: ThingBody,
          responses: { 201: { description: 'Created' } },
          before: [idempotency({ ...options, ttlSeconds: THIRTY_DAYS })],
          handler: async ({ body, auth, req }) => {
            if (body.delayMs) await sleep(body.delayMs);
            const id = await record(auth.tenantId, req.get('idempotency-key')!, body);
            if (body.name === 'conflict') throw conflict('This thing conflicts', 'thing_conflict');
            return { id, name: body.name, qty: body.qty };
          },
        });
        table.add({
          method: 'post',
          path: '/api/v1/things/:thingId/void',
          summary: 'Void a thing',
          roles: ['owner'],
          params: z.object({ thingId: z.string() }),
          body: z.object({ reason: z.string() }),
          responses: { 200: { description: 'Voided' } },
          before: [idempotency(options)],
          handler: async ({ params, body, auth, req }) => {
            const id = await record(auth.tenantId, req.get('idempotency-key')!, { ...params, ...body });
            return { id, voided: params.thingId };
          },
        });
        table.add({
          method: 'post',
          path: '/api/v1/flaky',
          summary: 'Fails on the first attempt per key',
          roles: ['owner'],
          responses: { 201: { description: 'Created' } },
          before: [idempotency(options)],
          handler: failsOnFirstAttempt(() => new Error('processor exploded')),
        });
        table.add({
          method: 'post',
          path: '/api/v1/busy-first',
          summary: 'Answers "still running, retry" (409 with Retry-After) on the first attempt per key',
          roles: ['owner'],
          responses: { 201: { description: 'Created' }, 409: { description: 'Still running' } },
          before: [idempotency(options)],
          handler: failsOnFirstAttempt(() => new ProblemError(409, 'thing_in_progress', 'Conflict', 'Still running; retry shortly', undefined, { 'Retry-After': '2' })),
        });
        table.add({
          method: 'post',
          path: '/api/v1/self-send',
          summary: 'Sends its own answer and also returns a value',
          roles: ['owner'],
          responses: { 200: { description: 'OK' } },
          before: [idempotency(options)],
          handler: async ({ auth, req, res }) => {
            const id = await record(auth.tenantId, req.get('idempotency-key')!, {});
            res.status(202).json({ id, accepted: true });
            return { id, accepted: false };
          },
        });
        table.add({
          method: 'post',
          path: '/api/v1/public',
          summary: 'Misconfigured: idempotency without authentication',
          roles: 'public',
          responses: { 200: { description: 'OK' } },
          before: [idempotency(options)],
          handler: () => ({ ok: true }),
        });
      },
    });
    server = app.listen(0);
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await db.drop();
  });

  it('when the same key and body are sent twice, then the first answer is replayed with Idempotent-Replayed and the handler ran once', async () => {
    const key = randomUUID();
    const first = await post('/api/v1/things', key, { name: 'widget', qty: 2 });
    expect(first.status).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();

    // Same body with another key order is the same request.
    const second = await post('/api/v1/things', key, { qty: 2, name: 'widget' });
    expect(second.status).toBe(201);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.headers['content-type']).toMatch(/^application\/json/);
    expect(second.body).toEqual(first.body);

    expect(await effects(key)).toBe(1);
    const [row] = await records(key);
    expect(row).toMatchObject({ tenant_id: tenantA, route: 'POST /api/v1/things', state: 'completed', response_status: 201, response_body: first.body, locked_until: null });
    // The route was configured with a 30-day ttl (POST /transactions keeps keys for offline sync).
    expect(row.kept).toMatchObject({ days: 30 });
  });

  it('when the same key comes with a different body, then 422 idempotency_key_reused and the handler does not run again', async () => {
    const key = randomUUID();
    const first = await post('/api/v1/things', key, { name: 'widget', qty: 2 });
    expect(first.status).toBe(201);

    const second = await post('/api/v1/things', key, { name: 'widget', qty: 3 });
    expect(second.status).toBe(422);
    expect(second.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(second.body).toMatchObject({ status: 422, code: 'idempotency_key_reused' });

    expect(await effects(key)).toBe(1);
    const [row] = await records(key);
    expect(row).toMatchObject({ state: 'completed', response_status: 201, response_body: first.body });
  });

  it('when one key is used for two different path ids, then the second is a reuse (422), not a replay of the first id', async () => {
    const key = randomUUID();
    const a = await post(`/api/v1/things/${randomUUID()}/void`, key, { reason: 'typo' });
    expect(a.status).toBe(200);
    const b = await post(`/api/v1/things/${randomUUID()}/void`, key, { reason: 'typo' });
    expect(b.status).toBe(422);
    expect(b.body.code).toBe('idempotency_key_reused');

    expect(await effects(key)).toBe(1);
    const rows = await records(key);
    expect(rows).toHaveLength(1);
    expect(rows[0].route).toBe('POST /api/v1/things/:thingId/void');
  });

  it('when 10 requests with one key arrive together while the handler is slow, then exactly one runs (201) and the others get 409 with Retry-After', async () => {
    const key = randomUUID();
    const body = { name: 'slow', qty: 1, delayMs: 600 };
    const responses = await Promise.all(Array.from({ length: 10 }, () => post('/api/v1/things', key, body)));

    const fresh = responses.filter((r) => r.status === 201 && r.headers['idempotent-replayed'] === undefined);
    const busy = responses.filter((r) => r.status === 409);
    const replayed = responses.filter((r) => r.status === 201 && r.headers['idempotent-replayed'] === 'true');
    expect(fresh).toHaveLength(1);
    expect(busy.length + replayed.length).toBe(9);
    for (const r of busy) {
      expect(r.body).toMatchObject({ status: 409, code: 'idempotency_in_progress' });
      expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }
    for (const r of replayed) expect(r.body).toEqual(fresh[0]!.body);

    expect(await effects(key)).toBe(1);
    const [row] = await records(key);
    expect(row).toMatchObject({ state: 'completed', response_status: 201, response_body: fresh[0]!.body });

    const retry = await post('/api/v1/things', key, body);
    expect(retry.status).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(fresh[0]!.body);
  });

  it('when a request finds an in-progress record whose lease has not lapsed, then 409 idempotency_in_progress and nothing runs', async () => {
    const key = randomUUID();
    const body = { name: 'held', qty: 1 };
    await insertRecord(tenantA, key, body, { lockedUntil: "now() + interval '20 seconds'" });

    const res = await post('/api/v1/things', key, body);
    expect(res.status).toBe(409);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.body).toMatchObject({ code: 'idempotency_in_progress' });
    expect(res.body.leaseRemainingSeconds).toBeGreaterThan(10);
    expect(await effects(key)).toBe(0);
    expect((await records(key))[0]).toMatchObject({ state: 'in_progress' });
  });

  it('when the in-progress record of a crashed replica has a lapsed lease, then a retry takes it over and completes', async () => {
    const key = randomUUID();
    const body = { name: 'orphan', qty: 4 };
    await insertRecord(tenantA, key, body, { lockedUntil: "now() - interval '5 seconds'" });

    const res = await post('/api/v1/things', key, body);
    expect(res.status).toBe(201);
    expect(res.headers['idempotent-replayed']).toBeUndefined();
    expect(res.body).toMatchObject({ name: 'orphan', qty: 4 });

    expect(await effects(key)).toBe(1);
    expect((await records(key))[0]).toMatchObject({ state: 'completed', response_status: 201, response_body: res.body });
  });

  it('when several retries race for one lapsed lease, then exactly one takes it over and the others get 409', async () => {
    const key = randomUUID();
    const body = { name: 'orphan', qty: 5, delayMs: 500 };
    await insertRecord(tenantA, key, body, { lockedUntil: "now() - interval '5 seconds'" });

    const responses = await Promise.all(Array.from({ length: 5 }, () => post('/api/v1/things', key, body)));
    expect(responses.filter((r) => r.status === 201 && r.headers['idempotent-replayed'] === undefined)).toHaveLength(1);
    expect(responses.filter((r) => r.status === 409 || r.headers['idempotent-replayed'] === 'true')).toHaveLength(4);
    expect(await effects(key)).toBe(1);
    expect((await records(key))[0]).toMatchObject({ state: 'completed', response_status: 201 });
  });

  it('when a slow request loses its lease to a retry, then its late answer does not overwrite the record of the retry', async () => {
    const key = randomUUID();
    const body = { name: 'slowpoke', qty: 1, delayMs: 1200 };
    const slow = post('/api/v1/things', key, body).then((r) => r);
    await sleep(300);
    // The lease lapses while the first request is still running.
    await db.adminPool.query(`UPDATE ${db.schema}.idempotency_keys SET locked_until = now() - interval '1 second' WHERE key = $1`, [key]);
    const retry = await post('/api/v1/things', key, body);
    const first = await slow;

    expect(first.status).toBe(201);
    expect(retry.status).toBe(201);
    expect(retry.body.id).not.toBe(first.body.id);
    // Both ran (a takeover re-runs the handler; domain keys must dedupe), but the record is the retry's.
    expect(await effects(key)).toBe(2);
    expect((await records(key))[0]).toMatchObject({ state: 'completed', response_body: retry.body });
    expect(logged.some((l) => l.level === 'warn' && /lease was taken over/.test(l.message))).toBe(true);

    const replay = await post('/api/v1/things', key, body);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(retry.body);
  });

  it('when the handler fails with a 5xx, then nothing is stored and a retry with the same key runs the handler again', async () => {
    const key = randomUUID();
    const first = await post('/api/v1/flaky', key, {});
    expect(first.status).toBe(500);
    expect(first.body).toMatchObject({ code: 'internal_error' });
    expect(await records(key)).toHaveLength(0);

    const second = await post('/api/v1/flaky', key, {});
    expect(second.status).toBe(201);
    expect(second.headers['idempotent-replayed']).toBeUndefined();
    expect(second.body).toEqual({ attempt: 2 });

    expect(await effects(key)).toBe(2);
    expect((await records(key))[0]).toMatchObject({ state: 'completed', response_status: 201, response_body: { attempt: 2 } });
  });

  it('when the handler answers "retry later" (a 409 with Retry-After), then it is not stored and the retry gets the real outcome', async () => {
    // A stored "still running" would be replayed for the key's whole life (30 days for sales): the
    // register would never learn whether the sale completed (found by npm run test:faults).
    const key = randomUUID();
    const first = await post('/api/v1/busy-first', key, {});
    expect(first.status).toBe(409);
    expect(first.headers['retry-after']).toBe('2');
    expect(await records(key)).toHaveLength(0);

    const second = await post('/api/v1/busy-first', key, {});
    expect(second.status).toBe(201);
    expect(second.headers['idempotent-replayed']).toBeUndefined();
    expect(second.body).toEqual({ attempt: 2 });
    expect((await records(key))[0]).toMatchObject({ state: 'completed', response_status: 201 });
  });

  it('when the handler answers a 4xx problem, then it is stored and replayed as application/problem+json', async () => {
    const key = randomUUID();
    const first = await post('/api/v1/things', key, { name: 'conflict', qty: 1 });
    expect(first.status).toBe(409);
    expect(first.body.code).toBe('thing_conflict');

    const second = await post('/api/v1/things', key, { name: 'conflict', qty: 1 });
    expect(second.status).toBe(409);
    expect(second.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.body).toEqual(first.body);
    expect(await effects(key)).toBe(1);
  });

  it('when a handler sends its own answer and also returns a value, then the answer it sent is the one recorded and replayed', async () => {
    const key = randomUUID();
    const first = await post('/api/v1/self-send', key, {});
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ accepted: true });
    const second = await post('/api/v1/self-send', key, {});
    expect(second.status).toBe(202);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.body).toEqual(first.body);
    expect(await effects(key)).toBe(1);
    expect((await records(key))[0]).toMatchObject({ state: 'completed', response_status: 202, response_body: first.body });
  });

  it('when the Idempotency-Key header is missing or malformed, then 400 names the header and nothing runs', async () => {
    const missing = await post('/api/v1/things', undefined, { name: 'x', qty: 1 });
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ status: 400, code: 'idempotency_key_required', errors: [{ path: 'headers.idempotency-key', message: 'is required' }] });

    for (const bad of ['a'.repeat(256), 'has space']) {
      const res = await post('/api/v1/things', bad, { name: 'x', qty: 1 });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'idempotency_key_invalid', errors: [{ path: 'headers.idempotency-key' }] });
      expect(await effects(bad)).toBe(0);
    }
    const longest = 'k'.repeat(255);
    expect((await post('/api/v1/things', longest, { name: 'x', qty: 1 })).status).toBe(201);
  });

  it('when two tenants use the same key, then they do not collide: both run and each has its own record', async () => {
    const key = randomUUID();
    const a = await post('/api/v1/things', key, { name: 'a', qty: 1 }, tenantA);
    const b = await post('/api/v1/things', key, { name: 'b', qty: 9 }, tenantB);
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.headers['idempotent-replayed']).toBeUndefined();
    expect(b.body).toMatchObject({ name: 'b', qty: 9 });

    expect(await effects(key)).toBe(2);
    const rows = await records(key);
    expect(rows.map((r) => r.tenant_id).sort()).toEqual([tenantA, tenantB].sort());
    // Row-level security: tenant B's transaction sees only its own record.
    const seenByB = await withTenant(db.appPool, tenantB, (c) => c.query(`SELECT tenant_id FROM ${db.schema}.idempotency_keys WHERE key = $1`, [key]));
    expect(seenByB.rows).toEqual([{ tenant_id: tenantB }]);
  });

  it('when a record has expired, then the key is treated as new and the request runs', async () => {
    const key = randomUUID();
    await insertRecord(tenantA, key, { name: 'old', qty: 1 }, { state: 'completed', expiresAt: "now() - interval '1 second'" });

    const res = await post('/api/v1/things', key, { name: 'new', qty: 2 });
    expect(res.status).toBe(201);
    expect(res.headers['idempotent-replayed']).toBeUndefined();
    expect(await effects(key)).toBe(1);
    expect((await records(key))[0]).toMatchObject({ state: 'completed', response_body: res.body });
  });

  it('when expired records are pruned with the worker pool, then every tenant loses its expired records and keeps the live ones', async () => {
    const [expiredA, expiredB, live] = [randomUUID(), randomUUID(), randomUUID()];
    await insertRecord(tenantA, expiredA, {}, { state: 'completed', expiresAt: "now() - interval '1 minute'" });
    await insertRecord(tenantB, expiredB, {}, { state: 'completed', expiresAt: "now() - interval '1 minute'" });
    await insertRecord(tenantA, live, {}, { state: 'completed' });

    expect(await pruneExpiredIdempotencyKeys(db.workerPool, db.schema)).toBeGreaterThanOrEqual(2);
    expect(await records(expiredA)).toHaveLength(0);
    expect(await records(expiredB)).toHaveLength(0);
    expect(await records(live)).toHaveLength(1);
  });

  it('when the middleware runs without an authenticated caller, then 401', async () => {
    const res = await request(server).post('/api/v1/public').set('Idempotency-Key', randomUUID()).send({});
    expect(res.status).toBe(401);
  });

  it('when the OpenAPI document is built, then the route documents the Idempotency-Key header', async () => {
    const res = await request(server).get('/openapi.json');
    const parameters = res.body.paths['/api/v1/things'].post.parameters as Array<{ name: string; in: string; required: boolean }>;
    expect(parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'idempotency-key', in: 'header', required: true })]));
  });

  /** A record as another replica would have left it (same hash as the test's request). */
  async function insertRecord(
    tenantId: string,
    key: string,
    body: object,
    opts: { state?: 'in_progress' | 'completed'; lockedUntil?: string; expiresAt?: string },
  ): Promise<void> {
    const route = 'POST /api/v1/things';
    const hash = idempotencyRequestHash({ method: 'POST', route, params: {}, query: {}, body });
    const completed = opts.state === 'completed';
    await withTenant(db.appPool, tenantId, (c) =>
      c.query(
        `INSERT INTO ${db.schema}.idempotency_keys (tenant_id, route, key, request_hash, state, response_status, response_body, locked_until, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, ${opts.lockedUntil ?? 'NULL'}, ${opts.expiresAt ?? "now() + interval '1 day'"})`,
        [tenantId, route, key, hash, completed ? 'completed' : 'in_progress', completed ? 201 : null, completed ? JSON.stringify({ stale: true }) : null],
      ),
    );
  }
});
