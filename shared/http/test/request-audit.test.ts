import request from 'supertest';
import { z, type RequestAuditEntry } from '@pos/types';
import { createLogger, currentContext, unauthorized } from '@pos/utils';
import { createServiceApp, type TokenVerifier } from '../src';

const logger = createLogger({ service: 'test', level: 'error' });
const TENANT = '00000000-0000-4000-8000-000000000001';
const STORE = '00000000-0000-4000-8000-0000000000aa';
const verifier: TokenVerifier = {
  verify: async (token) => {
    const role = ({ manager: 'manager', cashier: 'cashier', service: 'service' } as const)[token];
    if (!role) throw unauthorized('bad token', 'invalid_token');
    return { userId: `user-${role}`, tenantId: TENANT, role, stores: [], tokenId: 'j', token };
  },
};

function build(sink: (e: RequestAuditEntry) => Promise<unknown>) {
  return createServiceApp({
    name: 'demo-service',
    logger,
    corsOrigins: [],
    verifier,
    auditRequests: sink,
    routes: ({ table }) => {
      const body = z.object({ storeId: z.string().uuid(), amount: z.number().int(), secret: z.string().optional() }).strict();
      table.add({ method: 'post', path: '/api/v1/drawers', summary: 'Open', roles: ['manager', 'cashier', 'service'], body, responses: { 201: { description: 'made' } }, handler: () => ({ id: 'drawer-1', ok: true }) });
      table.add({
        method: 'post',
        path: '/api/v1/drawers/:id/cash',
        summary: 'Pay in',
        roles: ['manager'],
        params: z.object({ id: z.string() }),
        body,
        responses: { 200: { description: 'done' } },
        handler: () => ({ ok: true }),
      });
      table.add({
        method: 'post',
        path: '/api/v1/evented',
        summary: 'A write that records itself through an event',
        roles: ['manager'],
        responses: { 201: { description: 'made' } },
        handler: () => {
          const ctx = currentContext()!;
          ctx.eventsWritten = (ctx.eventsWritten ?? 0) + 1;
          return { id: 'x' };
        },
      });
      table.add({ method: 'get', path: '/api/v1/drawers', summary: 'List', roles: ['manager'], responses: { 200: { description: 'ok' } }, handler: () => ({ data: [] }) });
    },
  });
}

/** Collects entries; tests wait for the count they expect, and that nothing more arrives. */
function collector(fail = false) {
  const entries: RequestAuditEntry[] = [];
  const sink = async (e: RequestAuditEntry) => {
    entries.push(e);
    if (fail) throw new Error('outbox unavailable');
  };
  const waitFor = async (n: number) => {
    const deadline = Date.now() + 5_000;
    while (entries.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50)); // and nothing more arrives
    return entries;
  };
  return { entries, sink, waitFor };
}

describe('recordRequestAudits (createServiceApp auditRequests)', () => {
  it('when a signed-in user writes without an event, then the sink gets who, what, where, the status and no body', async () => {
    const c = collector();
    const { app } = build(c.sink);
    await request(app)
      .post('/api/v1/drawers/d-7/cash')
      .set('authorization', 'Bearer manager')
      .set('user-agent', 'register/1.0')
      .set('x-request-id', 'req-audit-1')
      .send({ storeId: STORE, amount: 500, secret: 'hunter2-do-not-keep' })
      .expect(200);
    await request(app).post('/api/v1/drawers').set('authorization', 'Bearer cashier').send({ storeId: STORE, amount: 1 }).expect(201);
    const entries = await c.waitFor(2);
    expect(entries).toHaveLength(2);
    expect(entries[0]).toEqual({
      tenantId: TENANT,
      actorId: 'user-manager',
      actorRole: 'manager',
      requestId: 'req-audit-1',
      method: 'POST',
      route: '/api/v1/drawers/:id/cash',
      status: 200,
      resourceId: 'd-7',
      storeId: STORE,
      durationMs: expect.any(Number),
      replayed: false,
      ip: expect.stringMatching(/127\.0\.0\.1/),
      userAgent: 'register/1.0',
    });
    // A create is named by the id its answer gave.
    expect(entries[1]).toMatchObject({ route: '/api/v1/drawers', status: 201, resourceId: 'drawer-1', actorRole: 'cashier' });
    expect(JSON.stringify(entries)).not.toContain('hunter2');
  });

  it('when a write fails validation or is refused, then it is recorded with its status; a refused read too', async () => {
    const c = collector();
    const { app } = build(c.sink);
    await request(app).post('/api/v1/drawers/d-1/cash').set('authorization', 'Bearer manager').send({ storeId: 'nope', amount: 'x' }).expect(400);
    await request(app).post('/api/v1/drawers/d-1/cash').set('authorization', 'Bearer cashier').send({ storeId: STORE, amount: 1 }).expect(403);
    await request(app).get('/api/v1/drawers').set('authorization', 'Bearer cashier').expect(403);
    const entries = await c.waitFor(3);
    expect(entries.map((e) => `${e.method} ${e.status} ${e.actorRole} ${e.resourceId}`)).toEqual(['POST 400 manager d-1', 'POST 403 cashier d-1', 'GET 403 cashier null']);
  });

  it('when a request is a read, anonymous, unmatched, a service call or already recorded by an event, then nothing is recorded', async () => {
    const c = collector();
    const { app } = build(c.sink);
    await request(app).get('/api/v1/drawers').set('authorization', 'Bearer manager').expect(200);
    await request(app).post('/api/v1/drawers').send({ storeId: STORE, amount: 1 }).expect(401);
    await request(app).post('/api/v1/drawers').set('authorization', 'Bearer forged').send({ storeId: STORE, amount: 1 }).expect(401);
    await request(app).post('/api/v1/nowhere').set('authorization', 'Bearer manager').send({}).expect(404);
    await request(app).post('/api/v1/drawers').set('authorization', 'Bearer service').send({ storeId: STORE, amount: 1 }).expect(201);
    await request(app).post('/api/v1/evented').set('authorization', 'Bearer manager').expect(201);
    // The control: the same kind of write without an event is recorded, so the sink was live all along.
    await request(app).post('/api/v1/drawers').set('authorization', 'Bearer manager').send({ storeId: STORE, amount: 1 }).expect(201);
    const entries = await c.waitFor(1);
    expect(entries.map((e) => `${e.route} ${e.actorRole}`)).toEqual(['/api/v1/drawers manager']);
  });

  it('when the sink fails, then the request still succeeds and the service keeps serving', async () => {
    const c = collector(true);
    const { app } = build(c.sink);
    await request(app).post('/api/v1/drawers').set('authorization', 'Bearer manager').send({ storeId: STORE, amount: 1 }).expect(201);
    await c.waitFor(1);
    await request(app).post('/api/v1/drawers').set('authorization', 'Bearer manager').send({ storeId: STORE, amount: 2 }).expect(201);
    expect(await c.waitFor(2)).toHaveLength(2);
  });

  it('when a write is answered, then its record was written before the answer left (a crash after answering cannot lose it)', async () => {
    const written: string[] = [];
    const { app } = build(async (e) => {
      await new Promise((r) => setTimeout(r, 50));
      written.push(e.route);
    });
    await request(app).post('/api/v1/drawers/d-1/cash').set('authorization', 'Bearer manager').send({ storeId: STORE, amount: 1 }).expect(200);
    expect(written).toEqual(['/api/v1/drawers/:id/cash']);
    await request(app).post('/api/v1/drawers').set('authorization', 'Bearer cashier').send({ storeId: 'nope', amount: 1 }).expect(400);
    expect(written).toEqual(['/api/v1/drawers/:id/cash', '/api/v1/drawers']);
  });

  it('when the sink never answers, then the answer leaves anyway after the bounded wait', async () => {
    const { app } = build(() => new Promise(() => undefined));
    const res = await request(app).post('/api/v1/drawers').set('authorization', 'Bearer manager').send({ storeId: STORE, amount: 1 }).expect(201);
    expect(res.body).toEqual({ id: 'drawer-1', ok: true });
  });
});
