import { IDBFactory } from 'fake-indexeddb';
import { Api, ApiError, type Session } from '../src/api';
import { offlineSaleRequest, type SaleRequest } from '../src/cart';
import { Db, openDb } from '../src/db';
import { OfflineQueue, mayBeSentBy, type PostSale, type QueuedSale, type ServerSale } from '../src/offline';

// The offline queue and the session handling, without a browser: IndexedDB from fake-indexeddb and
// a fake server that behaves like POST /api/v1/transactions with idempotency keys.

const onlineBody = (productId: string, cash: number): SaleRequest => ({
  storeId: 'store-1',
  lines: [{ productId, quantity: 1 }],
  tenders: [{ method: 'cash', amount: { amount: cash, currency: 'USD' } }],
});
// What the register queues: the same sale with the price charged and when/where it happened.
const body = (productId: string, cash: number): SaleRequest =>
  offlineSaleRequest(onlineBody(productId, cash), [{ unitPrice: 500 }], 'USD', '2024-01-01T10:00:00.000Z', 'term', 'u1');

const CASS = { id: 'u1', name: 'Cass', role: 'cashier' };
const MIA = { id: 'u2', name: 'Mia', role: 'manager' };

let seq = 0;
function entry(over: Partial<QueuedSale> = {}): QueuedSale {
  seq += 1;
  const key = `key-${seq}`;
  return {
    key,
    originalKey: key,
    tenantId: 't1',
    storeId: 'store-1',
    userId: 'u1',
    userName: 'Cass',
    terminalId: 'term',
    createdAt: new Date(Date.UTC(2024, 0, 1, 10, 0, seq)).toISOString(),
    body: body(`p${seq}`, 1000),
    local: { subtotal: 500, discountTotal: 0, taxTotal: 0, total: 500, changeDue: 500, currency: 'USD', lines: [{ name: `Product ${seq}`, quantity: 1, total: 500 }] },
    localReceipt: `OFFLINE-${seq}`,
    status: 'pending',
    attempts: 1,
    ...over,
  };
}

/** A server with idempotency: the same key and body get the stored sale again. */
function fakeServer(price = 500, flags: string[] = []) {
  const sales = new Map<string, { body: string; sale: ServerSale }>();
  const calls: string[] = [];
  let receipt = 0;
  let behaviour: (key: string) => 'ok' | 'lost' | 'down' | 'short' | undefined = () => 'ok';
  const post: PostSale = async (key, b) => {
    calls.push(key);
    const mode = behaviour(key) ?? 'ok';
    if (mode === 'down') throw new ApiError(0, { status: 0, code: 'network_error' }, true);
    if (mode === 'short') throw new ApiError(409, { status: 409, code: 'insufficient_stock', detail: 'Not enough stock for A', shortages: [{ productId: b.lines[0]!.productId, requested: 1, available: 0 }] });
    const existing = sales.get(key);
    if (existing) {
      if (existing.body !== JSON.stringify(b)) throw new ApiError(422, { status: 422, code: 'idempotency_key_reused' });
      return { sale: existing.sale, replayed: true };
    }
    receipt += 1;
    const sale = { id: `sale-${receipt}`, receiptNumber: receipt, total: { amount: price, currency: 'USD' }, changeDue: { amount: 1000 - price, currency: 'USD' }, flags: b.offline ? flags : [] };
    sales.set(key, { body: JSON.stringify(b), sale });
    // The sale is made, but the answer never reaches the register.
    if (mode === 'lost') throw new ApiError(0, { status: 0, code: 'network_error' }, true);
    return { sale, replayed: false };
  };
  return { post, sales, calls, setBehaviour: (b: typeof behaviour) => (behaviour = b) };
}

let dbCounter = 0;
async function freshQueue() {
  dbCounter += 1;
  const db = new Db(await openDb(new IDBFactory(), `test-${dbCounter}`));
  return { db, queue: new OfflineQueue(db) };
}

describe('offline sales queue', () => {
  it("when a cashier syncs a queue holding a colleague's sale, then only their own is sent; a manager then sends the colleague's, still naming that colleague", async () => {
    const { queue } = await freshQueue();
    const server = fakeServer();
    const mine = entry();
    const theirs = entry({ userId: 'u3', userName: 'Theo', body: offlineSaleRequest(onlineBody('p-theo', 1000), [{ unitPrice: 500 }], 'USD', '2024-01-01T10:00:00.000Z', 'term', 'u3') });
    await queue.add(mine);
    await queue.add(theirs);
    const byCass = await queue.sync('t1', server.post, CASS);
    expect(byCass).toMatchObject({ synced: 1, conflicts: 0, othersWaiting: 1 });
    expect(server.calls).toEqual([mine.key]);
    expect((await queue.list()).find((e) => e.key === theirs.key)).toMatchObject({ status: 'pending' });
    const sent: SaleRequest[] = [];
    const byMia = await queue.sync('t1', (key, b) => (sent.push(b), server.post(key, b)), MIA);
    expect(byMia).toMatchObject({ synced: 1, othersWaiting: 0 });
    expect(sent.map((b) => b.offline?.cashierId)).toEqual(['u3']);
    expect((await queue.list()).find((e) => e.key === theirs.key)).toMatchObject({ status: 'synced', syncedBy: 'Mia' });

    // An older register's entry names no cashier: it would be booked to the manager, so it waits for its own.
    const legacy = entry({ userId: 'u4', userName: 'Lee', body: onlineBody('p-lee', 1000) });
    await queue.add(legacy);
    expect(mayBeSentBy(legacy, MIA)).toBe(false);
    expect(await queue.sync('t1', server.post, MIA)).toMatchObject({ synced: 0, othersWaiting: 1 });
    expect(await queue.sync('t1', server.post, { id: 'u4', name: 'Lee', role: 'cashier' })).toMatchObject({ synced: 1, othersWaiting: 0 });
  });

  it('when two queued sales are synced, then each is booked once, and syncing again sends nothing', async () => {
    const { queue } = await freshQueue();
    const server = fakeServer();
    await queue.add(entry());
    await queue.add(entry());
    const result = await queue.sync('t1', server.post, CASS);
    expect(result).toMatchObject({ synced: 2, conflicts: 0 });
    expect(server.sales.size).toBe(2);
    const list = await queue.list();
    expect(list.map((e) => e.status)).toEqual(['synced', 'synced']);
    expect(list.map((e) => e.server?.receiptNumber)).toEqual([1, 2]);
    await queue.sync('t1', server.post, CASS);
    expect(server.calls).toHaveLength(2);
  });

  it('when the answer of a sync is lost, then the next sync sends the same key and body and the server replays: still one sale', async () => {
    const { queue } = await freshQueue();
    const server = fakeServer();
    const e = entry();
    await queue.add(e);
    server.setBehaviour(() => 'lost');
    const first = await queue.sync('t1', server.post, CASS);
    expect(first.synced).toBe(0);
    expect(first.stoppedBy).toMatch(/No connection/);
    expect((await queue.list())[0]).toMatchObject({ status: 'pending', attempts: 2 });
    server.setBehaviour(() => 'ok');
    await queue.sync('t1', server.post, CASS);
    expect(server.calls).toEqual([e.key, e.key]);
    expect(server.sales.size).toBe(1);
    expect((await queue.list())[0]).toMatchObject({ status: 'synced', server: { replayed: true, receiptNumber: 1 } });
  });

  it('when the server is still unreachable, then syncing stops at the first sale and keeps the order', async () => {
    const { queue } = await freshQueue();
    const server = fakeServer();
    await queue.add(entry());
    await queue.add(entry());
    server.setBehaviour(() => 'down');
    const result = await queue.sync('t1', server.post, CASS);
    expect(result.synced).toBe(0);
    expect(server.calls).toHaveLength(1);
    expect((await queue.list()).map((e) => e.status)).toEqual(['pending', 'pending']);
  });

  it('when one sale is refused for stock, then it becomes a conflict (kept, with the reason) and the next one still syncs', async () => {
    const { queue } = await freshQueue();
    const server = fakeServer();
    const short = entry();
    await queue.add(short);
    await queue.add(entry());
    server.setBehaviour((key) => (key === short.key ? 'short' : 'ok'));
    const result = await queue.sync('t1', server.post, CASS);
    expect(result).toMatchObject({ synced: 1, conflicts: 1 });
    const [conflict, synced] = await queue.list();
    expect(conflict).toMatchObject({ status: 'conflict', problem: { status: 409, code: 'insufficient_stock' } });
    expect(conflict!.lastError).toMatch(/Not enough stock.*Product \d+: 1 wanted, 0 in stock/);
    expect(synced!.status).toBe('synced');
  });

  it('when a manager sends a conflict again after receiving stock, then it goes with a new key (the old one failed for good); resolving keeps it listed', async () => {
    const { queue } = await freshQueue();
    const server = fakeServer();
    const short = entry();
    await queue.add(short);
    server.setBehaviour(() => 'short');
    await queue.sync('t1', server.post, CASS);
    server.setBehaviour(() => 'ok');
    await queue.retry(short.key, 'new-key');
    await queue.sync('t1', server.post, MIA);
    const [retried] = await queue.list();
    expect(retried).toMatchObject({ key: 'new-key', originalKey: short.key, status: 'synced', syncedBy: 'Mia' });
    expect(retried!.firstBody).toBeUndefined();

    const other = entry();
    await queue.add(other);
    server.setBehaviour(() => 'short');
    await queue.sync('t1', server.post, CASS);
    await queue.resolve(other.key, 'Mia', 'Rang it up again by hand');
    expect((await queue.list()).find((e) => e.key === other.key)).toMatchObject({ status: 'resolved', resolvedBy: 'Mia', resolution: 'Rang it up again by hand' });
  });

  it('when the server books a different total (price changed while offline), then the sale is synced and flagged for the manager', async () => {
    const { queue } = await freshQueue();
    const server = fakeServer(650);
    await queue.add(entry());
    await queue.sync('t1', server.post, CASS);
    const [e] = await queue.list();
    expect(e).toMatchObject({ status: 'synced', server: { total: 650 } });
    expect(e!.flag).toMatch(/Price changed/);
  });

  it('when queued sales are synced, then each is sent as an offline sale with the prices charged, when and where it happened', async () => {
    const { queue } = await freshQueue();
    const sent: SaleRequest[] = [];
    const server = fakeServer();
    await queue.add(entry());
    await queue.sync('t1', (key, b) => (sent.push(b), server.post(key, b)), CASS);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ offline: { occurredAt: '2024-01-01T10:00:00.000Z', terminalId: 'term' }, lines: [{ unitPrice: { amount: 500, currency: 'USD' } }] });
  });

  it('when the server flags a synced offline sale (e.g. its prices differ from the catalog), then the entry is flagged for the manager although the total matches', async () => {
    const { queue } = await freshQueue();
    const server = fakeServer(500, ['price_mismatch', 'negative_stock']);
    await queue.add(entry());
    await queue.sync('t1', server.post, CASS);
    const [e] = await queue.list();
    expect(e).toMatchObject({ status: 'synced', server: { total: 500 } });
    expect(e!.flag).toBe('Flagged by the server: prices differ from the catalog, stock went below zero');
  });

  it('when the online attempt had reached the server after all, then the offline body is refused for that key (422) and the online body replays that one sale', async () => {
    const { queue } = await freshQueue();
    const server = fakeServer();
    const e = entry({ firstBody: onlineBody('p-first', 1000) });
    // The online attempt was booked, but its answer never reached the register.
    await server.post(e.key, e.firstBody!);
    await queue.add(e);
    const result = await queue.sync('t1', server.post, CASS);
    expect(result).toMatchObject({ synced: 1, conflicts: 0 });
    expect(server.sales.size).toBe(1);
    expect(server.calls).toEqual([e.key, e.key, e.key]);
    expect((await queue.list())[0]).toMatchObject({ status: 'synced', server: { saleId: 'sale-1', replayed: true } });
  });

  it('when the online attempt never arrived, then the offline body books the sale and the online body is not sent', async () => {
    const { queue } = await freshQueue();
    const server = fakeServer();
    const e = entry({ firstBody: onlineBody('p-first', 1000) });
    await queue.add(e);
    await queue.sync('t1', server.post, CASS);
    expect(server.calls).toEqual([e.key]);
    expect(JSON.parse(server.sales.get(e.key)!.body)).toMatchObject({ offline: { terminalId: 'term' } });
  });

  it('when two syncs are started at once, then they share one run and no sale is sent twice', async () => {
    const { queue } = await freshQueue();
    const server = fakeServer();
    await queue.add(entry());
    await queue.add(entry());
    const [a, b] = await Promise.all([queue.sync('t1', server.post, CASS), queue.sync('t1', server.post, CASS)]);
    expect(a).toBe(b);
    expect(server.calls).toHaveLength(2);
  });

  it('when sales of another tenant are queued on the terminal, then they wait for that tenant', async () => {
    const { queue } = await freshQueue();
    const server = fakeServer();
    await queue.add(entry({ tenantId: 't2' }));
    await queue.sync('t1', server.post, CASS);
    expect(server.calls).toHaveLength(0);
    expect(await queue.pendingCount('t2')).toBe(1);
  });
});

describe('api client sessions', () => {
  const user = { id: 'u1', tenantId: 't1', email: 'c@x.test', name: 'Cass', role: 'cashier' as const, storeIds: ['s1'] };
  const sessionBody = (n: number) => ({ accessToken: `access-${n}`, refreshToken: `refresh-${n}`, expiresIn: 900, user });
  const json = (status: number, data: unknown) => new Response(JSON.stringify(data), { status, headers: { 'content-type': status >= 400 ? 'application/problem+json' : 'application/json' } });

  function memoryStorage() {
    const m = new Map<string, string>();
    return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), removeItem: (k: string) => void m.delete(k), m };
  }

  it('when the access token has expired, then the client refreshes once and retries the call with the new token', async () => {
    const seen: string[] = [];
    let refreshes = 0;
    const fetchImpl = (async (url: string, init: RequestInit) => {
      const auth = (init.headers as Record<string, string>).authorization ?? '';
      seen.push(`${url} ${auth}`);
      if (url.endsWith('/auth/login')) return json(200, sessionBody(1));
      if (url.endsWith('/auth/refresh')) {
        refreshes += 1;
        return json(200, sessionBody(2));
      }
      return auth === 'Bearer access-2' ? json(200, { ok: true }) : json(401, { status: 401, code: 'token_expired' });
    }) as unknown as typeof fetch;
    const api = new Api({ fetch: fetchImpl, storage: memoryStorage() });
    await api.login('c@x.test', 'pw');
    const [a, b] = await Promise.all([api.get('/api/v1/shifts'), api.get('/api/v1/products')]);
    expect([a, b]).toEqual([{ ok: true }, { ok: true }]);
    expect(refreshes).toBe(1);
    expect(api.session?.refreshToken).toBe('refresh-2');
  });

  it('when the refresh token is refused too, then the session ends as expired and the call fails with a clear message', async () => {
    const ended: string[] = [];
    const storage = memoryStorage();
    const fetchImpl = (async (url: string) => {
      if (url.endsWith('/auth/login')) return json(200, sessionBody(1));
      if (url.endsWith('/auth/refresh')) return json(401, { status: 401, code: 'invalid_refresh_token' });
      return json(401, { status: 401, code: 'token_expired' });
    }) as unknown as typeof fetch;
    const api = new Api({ fetch: fetchImpl, storage, onSessionEnded: (r) => ended.push(r) });
    await api.login('c@x.test', 'pw');
    await expect(api.get('/api/v1/shifts')).rejects.toMatchObject({ status: 401, code: 'session_expired' });
    expect(ended).toEqual(['expired']);
    expect(api.session).toBeNull();
    expect(storage.m.size).toBe(0);
  });

  it('when the gateway cannot be reached, then the error says so (network) and the session is kept', async () => {
    const reach: boolean[] = [];
    const fetchImpl = (async (url: string) => {
      if (url.endsWith('/auth/login')) return json(200, sessionBody(1));
      throw new TypeError('Failed to fetch');
    }) as unknown as typeof fetch;
    const api = new Api({ fetch: fetchImpl, storage: memoryStorage(), onReachability: (v) => reach.push(v) });
    await api.login('c@x.test', 'pw');
    const err = (await api.get('/api/v1/shifts').catch((e: unknown) => e)) as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err.network).toBe(true);
    expect(err.outcomeUnknown).toBe(true);
    expect(api.session?.accessToken).toBe('access-1');
    expect(reach).toEqual([true, false]);
  });

  it('when a session is saved, then a reload (new client on the same storage) carries on with it', async () => {
    const storage = memoryStorage();
    const fetchImpl = (async () => json(200, sessionBody(1))) as unknown as typeof fetch;
    await new Api({ fetch: fetchImpl, storage }).login('c@x.test', 'pw');
    const again = new Api({ fetch: fetchImpl, storage });
    expect((again.session as Session).user.name).toBe('Cass');
  });
});
