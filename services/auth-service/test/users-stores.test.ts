import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { withTenant } from '@pos/database';
import { bearer, createUser, registerTenant, startAuthService, uniqueEmail, type RegisteredTenant, type TestAuthService } from './helpers';

const newStore = { name: 'Riverside', currency: 'EUR', timezone: 'Europe/Berlin', taxInclusive: true, allowNegativeStock: true };

describe('users and stores: roles, versions and tenant isolation', () => {
  let svc: TestAuthService;
  let a: RegisteredTenant;
  let b: RegisteredTenant;
  let manager: { id: string; accessToken?: string };
  let cashier: { id: string; accessToken?: string };
  let secondStoreId: string;

  beforeAll(async () => {
    svc = await startAuthService();
    a = await registerTenant(svc.app, 'A');
    b = await registerTenant(svc.app, 'B');
    const second = await request(svc.app).post('/api/v1/stores').set(bearer(a.accessToken)).send(newStore).expect(201);
    secondStoreId = second.body.id;
    manager = await createUser(svc.app, a.accessToken, { role: 'manager', storeIds: [a.storeId] });
    cashier = await createUser(svc.app, a.accessToken, { role: 'cashier', storeIds: [a.storeId], pin: '1111' });
  });
  afterAll(() => svc.close());

  describe('stores', () => {
    it('when an owner opens a store, then it is returned whole and an event is in the outbox', async () => {
      const res = await request(svc.app).post('/api/v1/stores').set(bearer(a.accessToken)).send({ ...newStore, address: { city: 'Berlin', country: 'DE' } }).expect(201);
      expect(res.body).toMatchObject({ ...newStore, tenantId: a.tenantId, version: 1, active: true, address: { city: 'Berlin', country: 'DE' } });
      const { rows } = await svc.admin.query("SELECT envelope FROM auth.outbox WHERE type = 'store.created' AND envelope->'data'->>'storeId' = $1", [res.body.id]);
      expect(rows).toHaveLength(1);
    });

    it('when the store body is wrong, then 400 names each field', async () => {
      const res = await request(svc.app).post('/api/v1/stores').set(bearer(a.accessToken)).send({ name: '', currency: 'usd', timezone: 'Mars/Base', taxInclusive: 'yes' }).expect(400);
      expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['allowNegativeStock', 'currency', 'name', 'taxInclusive', 'timezone']);
    });

    it('when a cashier or manager tries to open a store, then 403', async () => {
      await request(svc.app).post('/api/v1/stores').set(bearer(cashier.accessToken!)).send(newStore).expect(403);
      await request(svc.app).post('/api/v1/stores').set(bearer(manager.accessToken!)).send(newStore).expect(403);
    });

    it('when a manager lists stores, then only their stores come back; the owner sees all', async () => {
      const mine = await request(svc.app).get('/api/v1/stores').set(bearer(manager.accessToken!)).expect(200);
      expect(mine.body.data.map((s: { id: string }) => s.id)).toEqual([a.storeId]);
      const all = await request(svc.app).get('/api/v1/stores').set(bearer(a.accessToken)).expect(200);
      expect(all.body.data.length).toBeGreaterThanOrEqual(2);
      await request(svc.app).get(`/api/v1/stores/${secondStoreId}`).set(bearer(manager.accessToken!)).expect(404);
    });

    it('when stores are paged, then the cursor walks through all of them once', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res: request.Response = await request(svc.app).get('/api/v1/stores').query(cursor ? { limit: 1, cursor } : { limit: 1 }).set(bearer(a.accessToken)).expect(200);
        seen.push(...res.body.data.map((s: { id: string }) => s.id));
        cursor = res.body.nextCursor;
      } while (cursor);
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toEqual(expect.arrayContaining([a.storeId, secondStoreId]));
      await request(svc.app).get('/api/v1/stores').query({ cursor: 'garbage!' }).set(bearer(a.accessToken)).expect(400);
      await request(svc.app).get('/api/v1/stores').query({ limit: 500 }).set(bearer(a.accessToken)).expect(400);
    });

    it('when an update carries a stale version, then 409 and the store is unchanged', async () => {
      const created = await request(svc.app).post('/api/v1/stores').set(bearer(a.accessToken)).send(newStore).expect(201);
      const ok = await request(svc.app).patch(`/api/v1/stores/${created.body.id}`).set(bearer(a.accessToken)).send({ version: 1, name: 'Renamed' }).expect(200);
      expect(ok.body).toMatchObject({ name: 'Renamed', version: 2 });
      const stale = await request(svc.app).patch(`/api/v1/stores/${created.body.id}`).set(bearer(a.accessToken)).send({ version: 1, name: 'Lost update' }).expect(409);
      expect(stale.body).toMatchObject({ code: 'version_conflict', currentVersion: 2 });
      const { rows } = await svc.admin.query('SELECT name FROM auth.stores WHERE id = $1', [created.body.id]);
      expect(rows[0].name).toBe('Renamed');
    });

    it("when tenant A asks for tenant B's store, then 404 and B's store is untouched", async () => {
      await request(svc.app).get(`/api/v1/stores/${b.storeId}`).set(bearer(a.accessToken)).expect(404);
      await request(svc.app).patch(`/api/v1/stores/${b.storeId}`).set(bearer(a.accessToken)).send({ version: 1, name: 'Hijacked' }).expect(404);
      await request(svc.app).delete(`/api/v1/stores/${b.storeId}`).set(bearer(a.accessToken)).expect(404);
      const { rows } = await svc.admin.query('SELECT name, active, version FROM auth.stores WHERE id = $1', [b.storeId]);
      expect(rows[0]).toEqual({ name: 'Main Street', active: true, version: 1 });
    });
  });

  describe('users', () => {
    it('when a manager creates a cashier for their store, then 201 and the cashier can log in', async () => {
      const email = uniqueEmail('c');
      const res = await request(svc.app).post('/api/v1/users').set(bearer(manager.accessToken!)).send({ email, name: 'Cass', role: 'cashier', storeIds: [a.storeId], pin: '9876' }).expect(201);
      expect(res.body).toMatchObject({ email, role: 'cashier', storeIds: [a.storeId], hasPin: true, hasPassword: false, version: 1 });
      expect(res.body).not.toHaveProperty('passwordHash');
      await request(svc.app).post('/api/v1/auth/pin-login').send({ tenantId: a.tenantId, storeId: a.storeId, userId: res.body.id, pin: '9876' }).expect(200);
    });

    it('when a user is created without a password, then an invitation event carries a set-password token', async () => {
      const email = uniqueEmail('inv');
      const res = await request(svc.app).post('/api/v1/users').set(bearer(a.accessToken)).send({ email, name: 'Invited', role: 'manager', storeIds: [a.storeId] }).expect(201);
      const { rows } = await svc.admin.query("SELECT envelope FROM auth.outbox WHERE type = 'user.invited' AND envelope->'data'->>'userId' = $1", [res.body.id]);
      expect(rows).toHaveLength(1);
      const token = rows[0].envelope.data.setPasswordToken;
      await request(svc.app).post('/api/v1/auth/password-reset/confirm').send({ token, password: 'invited user password' }).expect(204);
      await request(svc.app).post('/api/v1/auth/login').send({ email, password: 'invited user password' }).expect(200);
    });

    it('when a manager tries to create an owner or a manager, then 403 and no user is stored', async () => {
      for (const role of ['owner', 'manager']) {
        const email = uniqueEmail(role);
        const res = await request(svc.app).post('/api/v1/users').set(bearer(manager.accessToken!)).send({ email, name: 'X', role, storeIds: [a.storeId], password: 'long enough password' }).expect(403);
        expect(res.body.code).toBe('role_forbidden');
        const { rowCount } = await svc.admin.query('SELECT 1 FROM auth.users WHERE email = $1', [email]);
        expect(rowCount).toBe(0);
      }
    });

    it("when a manager creates a cashier for a store that is not theirs, then 403", async () => {
      await request(svc.app).post('/api/v1/users').set(bearer(manager.accessToken!)).send({ email: uniqueEmail('x'), name: 'X', role: 'cashier', storeIds: [secondStoreId], pin: '1234' }).expect(403);
    });

    it('when a cashier tries to create or list users, then 403', async () => {
      await request(svc.app).post('/api/v1/users').set(bearer(cashier.accessToken!)).send({ email: uniqueEmail('x'), name: 'X', role: 'cashier', storeIds: [a.storeId], pin: '1234' }).expect(403);
      await request(svc.app).get('/api/v1/users').set(bearer(cashier.accessToken!)).expect(403);
    });

    it('when a user is created with a store of another tenant, then 400 names the store', async () => {
      const res = await request(svc.app).post('/api/v1/users').set(bearer(a.accessToken)).send({ email: uniqueEmail('x'), name: 'X', role: 'cashier', storeIds: [b.storeId], pin: '1234' }).expect(400);
      expect(res.body.errors).toEqual([{ path: 'storeIds.0', message: expect.any(String) }]);
    });

    it('when the email is taken (in any tenant), then 409', async () => {
      await request(svc.app).post('/api/v1/users').set(bearer(a.accessToken)).send({ email: b.email, name: 'X', role: 'cashier', storeIds: [a.storeId], pin: '1234' }).expect(409);
    });

    it('when the owner changes a role with a stale version, then 409; with the right version the sessions are revoked', async () => {
      const u = await createUser(svc.app, a.accessToken, { role: 'cashier', storeIds: [a.storeId] });
      await request(svc.app).patch(`/api/v1/users/${u.id}`).set(bearer(a.accessToken)).send({ version: 7, role: 'manager' }).expect(409);
      const ok = await request(svc.app).patch(`/api/v1/users/${u.id}`).set(bearer(a.accessToken)).send({ version: 1, role: 'manager' }).expect(200);
      expect(ok.body).toMatchObject({ role: 'manager', version: 2 });
      const { rows } = await svc.admin.query('SELECT count(*)::int AS n FROM auth.refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL', [u.id]);
      expect(rows[0].n).toBe(0);
    });

    it('when a manager tries to promote a cashier, then 403', async () => {
      const u = await createUser(svc.app, a.accessToken, { role: 'cashier', storeIds: [a.storeId] });
      await request(svc.app).patch(`/api/v1/users/${u.id}`).set(bearer(manager.accessToken!)).send({ version: 1, role: 'manager' }).expect(403);
    });

    it('when a user is deactivated, then they cannot log in or refresh', async () => {
      const u = await createUser(svc.app, a.accessToken, { role: 'cashier', storeIds: [a.storeId] });
      const login = await request(svc.app).post('/api/v1/auth/login').send({ email: u.email, password: 'correct horse battery' }).expect(200);
      await request(svc.app).delete(`/api/v1/users/${u.id}`).set(bearer(manager.accessToken!)).expect(204);
      await request(svc.app).post('/api/v1/auth/login').send({ email: u.email, password: 'correct horse battery' }).expect(401);
      await request(svc.app).post('/api/v1/auth/refresh').send({ refreshToken: login.body.refreshToken }).expect(401);
      await request(svc.app).get('/api/v1/auth/me').set(bearer(login.body.accessToken)).expect(401);
    });

    it("when tenant A reads, changes or deletes tenant B's user, then 404 and B's user is untouched", async () => {
      await request(svc.app).get(`/api/v1/users/${b.ownerId}`).set(bearer(a.accessToken)).expect(404);
      await request(svc.app).patch(`/api/v1/users/${b.ownerId}`).set(bearer(a.accessToken)).send({ version: 1, name: 'Pwned' }).expect(404);
      await request(svc.app).delete(`/api/v1/users/${b.ownerId}`).set(bearer(a.accessToken)).expect(404);
      const list = await request(svc.app).get('/api/v1/users').query({ limit: 200 }).set(bearer(a.accessToken)).expect(200);
      expect(list.body.data.map((u: { tenantId: string }) => u.tenantId)).not.toContain(b.tenantId);
      const { rows } = await svc.admin.query('SELECT name, active, version FROM auth.users WHERE id = $1', [b.ownerId]);
      expect(rows[0]).toEqual({ name: 'Olive Owner', active: true, version: 1 });
    });

    it("when the app-level tenant filter is bypassed, then row-level security alone still hides and protects B's rows", async () => {
      const rows = await withTenant(svc.deps.pool, a.tenantId, async (db) => {
        const read = await db.query('SELECT id FROM auth.users WHERE id = $1', [b.ownerId]);
        const updated = await db.query("UPDATE auth.users SET name = 'Pwned' WHERE id = $1", [b.ownerId]);
        const stores = await db.query('SELECT id FROM auth.stores');
        return { read: read.rowCount, updated: updated.rowCount, stores: stores.rows.map((r) => r.id) };
      });
      expect(rows.read).toBe(0);
      expect(rows.updated).toBe(0);
      expect(rows.stores).not.toContain(b.storeId);
      // Without a tenant set at all, the runtime role sees nothing.
      const bare = await svc.deps.pool.query('SELECT count(*)::int AS n FROM auth.users');
      expect(bare.rows[0].n).toBe(0);
      await expect(
        withTenant(svc.deps.pool, a.tenantId, (db) =>
          db.query("INSERT INTO auth.users (id, tenant_id, email, name, role) VALUES ($1, $2, $3, 'x', 'owner')", [randomUUID(), b.tenantId, uniqueEmail('rls')]),
        ),
      ).rejects.toThrow(/row-level security/);
    });

    it('when the runtime role is inspected, then it neither owns the tables nor is a superuser nor bypasses RLS', async () => {
      const { rows } = await svc.deps.pool.query(
        "SELECT r.rolsuper, r.rolbypassrls, (SELECT tableowner FROM pg_tables WHERE schemaname = 'auth' AND tablename = 'users') AS owner, current_user AS me FROM pg_roles r WHERE r.rolname = current_user",
      );
      expect(rows[0]).toMatchObject({ rolsuper: false, rolbypassrls: false });
      expect(rows[0].owner).not.toBe(rows[0].me);
    });
  });
});
