import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { Redis } from 'ioredis';
import { signToken, startJwksServer, type JwksServer } from '../../../scripts/test/test-keys';
import { buildGateway, testRedis } from './helpers';
import type { GatewayApp } from '../src/app';

interface Stream {
  events: Array<{ event: string; data: { id: string; tenantId: string } }>;
  close(): void;
}

/** Opens an SSE stream like a fetch-based browser client and collects its events. */
function openStream(baseUrl: string, path: string, token?: string): Promise<Stream & { status: number }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${baseUrl}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      const events: Stream['events'] = [];
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let idx;
        while ((idx = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, idx);
          buffer = buffer.slice(idx + 2);
          const event = /^event: (.+)$/m.exec(block)?.[1];
          const data = /^data: (.+)$/m.exec(block)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) });
        }
      });
      // Resolve once the headers (and the "connected" comment) are in.
      setTimeout(() => resolve({ status: res.statusCode ?? 0, events, close: () => req.destroy() }), 100);
    });
    req.on('error', reject);
  });
}

const waitFor = async (check: () => boolean, ms = 2_000) => {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
};

describe('api-gateway live sales (Server-Sent Events)', () => {
  let jwks: JwksServer;
  let redis: Redis;
  let subscriber: Redis;
  let gateway: GatewayApp;
  let server: http.Server;
  let baseUrl: string;
  const prefix = `test-live-${randomUUID().slice(0, 8)}:`;
  const [tenantA, tenantB, storeA1, storeA2] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];

  beforeAll(async () => {
    jwks = await startJwksServer();
    redis = testRedis();
    subscriber = testRedis();
    gateway = await buildGateway({ redis, jwksUrl: jwks.url, deps: { subscriber, liveChannelPrefix: prefix } });
    server = gateway.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    gateway.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await Promise.all([redis.quit(), subscriber.quit()]);
    await jwks.close();
  });

  const sale = (tenantId: string, storeId: string, type = 'sale.completed') => JSON.stringify({ id: randomUUID(), type, version: 1, tenantId, occurredAt: new Date().toISOString(), data: { id: randomUUID(), storeId } });

  it('when a sale completes, then an owner of that tenant receives it and another tenant never does', async () => {
    const owner = await openStream(baseUrl, '/api/v1/live/sales', signToken({ tid: tenantA, role: 'owner', stores: [] }));
    const other = await openStream(baseUrl, '/api/v1/live/sales', signToken({ tid: tenantB, role: 'owner', stores: [] }));
    expect(owner.status).toBe(200);
    const a = sale(tenantA, storeA1);
    await redis.publish(`${prefix}${tenantA}`, a);
    // A forged message on B's channel claiming tenant A is not delivered either.
    await redis.publish(`${prefix}${tenantB}`, sale(tenantA, storeA1));
    await waitFor(() => owner.events.length === 1);
    expect(owner.events.map((e) => e.data.id)).toEqual([JSON.parse(a).id]);
    expect(owner.events[0]!.event).toBe('sale.completed');
    expect(other.events).toEqual([]);
    owner.close();
    other.close();
  });

  it("when a manager listens, then only sales of the manager's stores arrive, and other event types are not sent", async () => {
    const manager = await openStream(baseUrl, '/api/v1/live/sales', signToken({ tid: tenantA, role: 'manager', stores: [storeA1] }));
    await redis.publish(`${prefix}${tenantA}`, sale(tenantA, storeA2));
    await redis.publish(`${prefix}${tenantA}`, sale(tenantA, storeA1, 'stock.changed'));
    const mine = sale(tenantA, storeA1, 'sale.refunded');
    await redis.publish(`${prefix}${tenantA}`, mine);
    await waitFor(() => manager.events.length >= 1);
    await new Promise((r) => setTimeout(r, 100));
    expect(manager.events.map((e) => e.data.id)).toEqual([JSON.parse(mine).id]);
    manager.close();
  });

  it('when a cashier or nobody connects, then 403 / 401', async () => {
    const cashier = await openStream(baseUrl, '/api/v1/live/sales', signToken({ tid: tenantA, role: 'cashier', stores: [storeA1] }));
    expect(cashier.status).toBe(403);
    cashier.close();
    const anonymous = await openStream(baseUrl, '/api/v1/live/sales');
    expect(anonymous.status).toBe(401);
    anonymous.close();
  });

  it('when an EventSource uses a ticket, then it works once and the ticket cannot be replayed', async () => {
    const token = signToken({ tid: tenantA, role: 'owner', stores: [] });
    const res = await request(gateway.app).post('/api/v1/live/tickets').set('Authorization', `Bearer ${token}`).expect(201);
    const first = await openStream(baseUrl, `/api/v1/live/sales?ticket=${res.body.ticket}`);
    expect(first.status).toBe(200);
    const again = await openStream(baseUrl, `/api/v1/live/sales?ticket=${res.body.ticket}`);
    expect(again.status).toBe(401);
    first.close();
    again.close();
    await request(gateway.app).post('/api/v1/live/tickets').set('Authorization', `Bearer ${signToken({ tid: tenantA, role: 'cashier', stores: [] })}`).expect(403);
  });
});
