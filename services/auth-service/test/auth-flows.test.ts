import request from 'supertest';
import jwt from 'jsonwebtoken';
import { PASSWORD, bearer, createUser, registerTenant, startAuthService, uniqueEmail, type TestAuthService } from './helpers';

describe('auth-service: register, login, refresh, logout, PIN, reset, client credentials', () => {
  let svc: TestAuthService;
  beforeAll(async () => {
    svc = await startAuthService();
  });
  afterAll(() => svc.close());

  describe('register -> login -> me', () => {
    it('when a business registers, then it gets a tenant, a store, an owner and a working session', async () => {
      const email = uniqueEmail('reg');
      const res = await request(svc.app)
        .post('/api/v1/auth/register')
        .send({ tenantName: 'Corner Shop', storeName: 'High St', email, password: PASSWORD, name: 'Ann', role: undefined })
        .expect(201);
      expect(res.body.user).toMatchObject({ email, role: 'owner', storeIds: [res.body.store.id], version: 1 });
      expect(res.body.store).toMatchObject({ name: 'High St', currency: 'USD', timezone: 'UTC', taxInclusive: false, allowNegativeStock: false });
      expect(res.body.expiresIn).toBeLessThanOrEqual(900);
      const claims = jwt.decode(res.body.accessToken, { complete: true })!;
      expect(claims.header).toMatchObject({ alg: 'ES256', kid: expect.any(String) });
      expect(claims.payload).toMatchObject({ sub: res.body.user.id, tid: res.body.tenant.id, role: 'owner', aud: 'pos-api', iss: 'cloud-pos-auth' });

      const login = await request(svc.app).post('/api/v1/auth/login').send({ email: email.toUpperCase(), password: PASSWORD }).expect(200);
      const me = await request(svc.app).get('/api/v1/auth/me').set(bearer(login.body.accessToken)).expect(200);
      expect(me.body.user.id).toBe(res.body.user.id);
      expect(me.body.tenant.name).toBe('Corner Shop');
      expect(me.body.stores.map((s: { id: string }) => s.id)).toEqual([res.body.store.id]);

      const { rows } = await svc.admin.query('SELECT type FROM auth.outbox WHERE tenant_id = $1 ORDER BY seq', [res.body.tenant.id]);
      expect(rows.map((r) => r.type)).toEqual(['tenant.registered', 'store.created', 'user.logged_in']);
      const stored = await svc.admin.query('SELECT password_hash FROM auth.users WHERE id = $1', [res.body.user.id]);
      expect(stored.rows[0].password_hash).toMatch(/^\$argon2id\$/);
    });

    it('when someone tries to register with a role, then the field is refused and no tenant is created', async () => {
      const email = uniqueEmail('role');
      const res = await request(svc.app)
        .post('/api/v1/auth/register')
        .send({ tenantName: 'X', storeName: 'Y', email, password: PASSWORD, name: 'Z', role: 'owner' })
        .expect(400);
      expect(res.body.errors).toEqual([expect.objectContaining({ path: 'role' })]);
      const { rowCount } = await svc.admin.query('SELECT 1 FROM auth.users WHERE email = $1', [email]);
      expect(rowCount).toBe(0);
    });

    it('when the body has wrong types and missing fields, then 400 names every bad field', async () => {
      const res = await request(svc.app).post('/api/v1/auth/register').send({ tenantName: 42, email: 'not-an-email', password: 'short' }).expect(400);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      const paths = res.body.errors.map((e: { path: string }) => e.path).sort();
      expect(paths).toEqual(['email', 'name', 'password', 'storeName', 'tenantName']);
      expect(res.body).toMatchObject({ status: 400, code: 'validation_failed', requestId: expect.any(String) });
    });

    it('when the email is already registered, then 409 and nothing is half-written', async () => {
      const t = await registerTenant(svc.app);
      const before = await svc.admin.query('SELECT count(*)::int AS n FROM auth.tenants');
      const res = await request(svc.app)
        .post('/api/v1/auth/register')
        .send({ tenantName: 'Dup', storeName: 'Dup', email: t.email, password: PASSWORD, name: 'Dup' })
        .expect(409);
      expect(res.body.code).toBe('email_unavailable');
      const after = await svc.admin.query('SELECT count(*)::int AS n FROM auth.tenants');
      expect(after.rows[0].n).toBe(before.rows[0].n);
    });

    it('when the JSON is malformed, then 400 problem+json', async () => {
      const res = await request(svc.app).post('/api/v1/auth/login').set('Content-Type', 'application/json').send('{"email": ').expect(400);
      expect(res.body.code).toBe('malformed_json');
    });

    it('when the body is 2 MB, then 413 problem+json', async () => {
      const res = await request(svc.app)
        .post('/api/v1/auth/login')
        .set('Content-Type', 'application/json')
        .send(JSON.stringify({ email: 'a@b.cd', password: 'x'.repeat(2 * 1024 * 1024) }))
        .expect(413);
      expect(res.body).toMatchObject({ status: 413, code: 'payload_too_large' });
    });
  });

  describe('login failures and lockout', () => {
    it('when the email is unknown or the password wrong, then the answer is the same 401', async () => {
      const t = await registerTenant(svc.app);
      const unknown = await request(svc.app).post('/api/v1/auth/login').send({ email: uniqueEmail('nobody'), password: PASSWORD }).expect(401);
      const wrong = await request(svc.app).post('/api/v1/auth/login').send({ email: t.email, password: 'wrong password!' }).expect(401);
      expect(unknown.body.detail).toBe(wrong.body.detail);
      expect(unknown.body.code).toBe(wrong.body.code);
    });

    it('when the password is wrong five times, then even the right password is refused until the lock expires', async () => {
      const t = await registerTenant(svc.app);
      for (let i = 0; i < 5; i++) await request(svc.app).post('/api/v1/auth/login').send({ email: t.email, password: `wrong-${i}-password` }).expect(401);
      await request(svc.app).post('/api/v1/auth/login').send({ email: t.email, password: PASSWORD }).expect(401);
      const { rows } = await svc.admin.query('SELECT locked_until FROM auth.users WHERE id = $1', [t.ownerId]);
      expect(rows[0].locked_until.getTime()).toBeGreaterThan(Date.now() + 14 * 60_000);
      await svc.admin.query('UPDATE auth.users SET locked_until = now() - interval \'1 second\' WHERE id = $1', [t.ownerId]);
      await request(svc.app).post('/api/v1/auth/login').send({ email: t.email, password: PASSWORD }).expect(200);
    });
  });

  describe('refresh tokens', () => {
    it('when a refresh token is used, then a new pair comes back and the old token is rotated', async () => {
      const t = await registerTenant(svc.app);
      const res = await request(svc.app).post('/api/v1/auth/refresh').send({ refreshToken: t.refreshToken }).expect(200);
      expect(res.body.refreshToken).not.toBe(t.refreshToken);
      await request(svc.app).get('/api/v1/auth/me').set(bearer(res.body.accessToken)).expect(200);
      const { rows } = await svc.admin.query('SELECT count(*)::int AS n, count(rotated_at)::int AS rotated FROM auth.refresh_tokens WHERE user_id = $1', [t.ownerId]);
      expect(rows[0]).toEqual({ n: 2, rotated: 1 });
    });

    it('when an old token is presented within the grace window, then the same new pair comes back once, and a further reuse revokes the family', async () => {
      const t = await registerTenant(svc.app);
      const first = await request(svc.app).post('/api/v1/auth/refresh').send({ refreshToken: t.refreshToken }).expect(200);
      const retry = await request(svc.app).post('/api/v1/auth/refresh').send({ refreshToken: t.refreshToken }).expect(200);
      expect(retry.body.refreshToken).toBe(first.body.refreshToken);

      const reuse = await request(svc.app).post('/api/v1/auth/refresh').send({ refreshToken: t.refreshToken }).expect(401);
      expect(reuse.body.code).toBe('refresh_token_reused');
      // The whole family is revoked: the newest token is dead too.
      await request(svc.app).post('/api/v1/auth/refresh').send({ refreshToken: first.body.refreshToken }).expect(401);
      const { rows } = await svc.admin.query('SELECT count(*)::int AS n FROM auth.refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL', [t.ownerId]);
      expect(rows[0].n).toBe(0);
    });

    it('when the grace window is zero, then any reuse revokes the family', async () => {
      const strict = await startAuthService({ REFRESH_REUSE_GRACE_SECONDS: '0' });
      try {
        const t = await registerTenant(strict.app);
        const first = await request(strict.app).post('/api/v1/auth/refresh').send({ refreshToken: t.refreshToken }).expect(200);
        await request(strict.app).post('/api/v1/auth/refresh').send({ refreshToken: t.refreshToken }).expect(401);
        await request(strict.app).post('/api/v1/auth/refresh').send({ refreshToken: first.body.refreshToken }).expect(401);
      } finally {
        await strict.close();
      }
    });

    it('when two refreshes race with the same token, then exactly one rotation happens', async () => {
      const t = await registerTenant(svc.app);
      const results = await Promise.all(Array.from({ length: 5 }, () => request(svc.app).post('/api/v1/auth/refresh').send({ refreshToken: t.refreshToken })));
      const ok = results.filter((r) => r.status === 200);
      expect(new Set(ok.map((r) => r.body.refreshToken)).size).toBe(1);
      const { rows } = await svc.admin.query('SELECT count(*)::int AS n FROM auth.refresh_tokens WHERE user_id = $1', [t.ownerId]);
      expect(rows[0].n).toBe(2);
    });

    it('when a garbage token is presented, then 401', async () => {
      await request(svc.app).post('/api/v1/auth/refresh').send({ refreshToken: 'rt_notarealtokenatall' }).expect(401);
    });

    it('when the user logs out, then the refresh token no longer works', async () => {
      const t = await registerTenant(svc.app);
      await request(svc.app).post('/api/v1/auth/logout').send({ refreshToken: t.refreshToken }).expect(204);
      const res = await request(svc.app).post('/api/v1/auth/refresh').send({ refreshToken: t.refreshToken }).expect(401);
      expect(res.body.code).toBe('invalid_refresh_token');
    });
  });

  describe('PIN login', () => {
    it('when a cashier logs in with the right PIN at their store, then the token is limited to that store', async () => {
      const t = await registerTenant(svc.app);
      const cashier = await createUser(svc.app, t.accessToken, { role: 'cashier', storeIds: [t.storeId], pin: '4321' });
      const res = await request(svc.app).post('/api/v1/auth/pin-login').send({ tenantId: t.tenantId, storeId: t.storeId, userId: cashier.id, pin: '4321' }).expect(200);
      expect(jwt.decode(res.body.accessToken)).toMatchObject({ role: 'cashier', stores: [t.storeId] });
      const byEmail = await request(svc.app).post('/api/v1/auth/pin-login').send({ tenantId: t.tenantId, storeId: t.storeId, email: cashier.email, pin: '4321' }).expect(200);
      const refreshed = await request(svc.app).post('/api/v1/auth/refresh').send({ refreshToken: byEmail.body.refreshToken }).expect(200);
      expect(jwt.decode(refreshed.body.accessToken)).toMatchObject({ stores: [t.storeId] });
    });

    it('when the PIN is wrong five times, then the PIN login is locked (429 with Retry-After) even for the right PIN', async () => {
      const t = await registerTenant(svc.app);
      const cashier = await createUser(svc.app, t.accessToken, { role: 'cashier', storeIds: [t.storeId], pin: '2468' });
      const body = (pin: string) => ({ tenantId: t.tenantId, storeId: t.storeId, userId: cashier.id, pin });
      for (let i = 0; i < 4; i++) await request(svc.app).post('/api/v1/auth/pin-login').send(body('0000')).expect(401);
      const fifth = await request(svc.app).post('/api/v1/auth/pin-login').send(body('0000')).expect(429);
      expect(Number(fifth.headers['retry-after'])).toBeGreaterThan(60);
      const right = await request(svc.app).post('/api/v1/auth/pin-login').send(body('2468')).expect(429);
      expect(right.body.code).toBe('pin_locked');
      const { rows } = await svc.admin.query('SELECT pin_locked_until FROM auth.users WHERE id = $1', [cashier.id]);
      expect(rows[0].pin_locked_until).not.toBeNull();
    });

    it('when the cashier is not assigned to the store, then 401', async () => {
      const t = await registerTenant(svc.app);
      const other = await request(svc.app)
        .post('/api/v1/stores')
        .set(bearer(t.accessToken))
        .send({ name: 'Other', currency: 'USD', timezone: 'UTC', taxInclusive: false, allowNegativeStock: false })
        .expect(201);
      const cashier = await createUser(svc.app, t.accessToken, { role: 'cashier', storeIds: [t.storeId], pin: '1357' });
      await request(svc.app).post('/api/v1/auth/pin-login').send({ tenantId: t.tenantId, storeId: other.body.id, userId: cashier.id, pin: '1357' }).expect(401);
    });

    it('when the PIN is not digits, then 400 names it', async () => {
      const res = await request(svc.app).post('/api/v1/auth/pin-login').send({ tenantId: 'nope', storeId: 'nope', pin: 'abc' }).expect(400);
      expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['pin', 'storeId', 'tenantId', 'userId']);
    });
  });

  describe('password reset', () => {
    it('when a reset is requested, then the answer never reveals whether the email exists, and the token sets a new password once', async () => {
      const t = await registerTenant(svc.app);
      const unknown = await request(svc.app).post('/api/v1/auth/password-reset').send({ email: uniqueEmail('ghost') }).expect(202);
      const known = await request(svc.app).post('/api/v1/auth/password-reset').send({ email: t.email }).expect(202);
      expect(unknown.body).toEqual(known.body);

      const { rows } = await svc.admin.query("SELECT envelope FROM auth.outbox WHERE tenant_id = $1 AND type = 'user.password_reset_requested'", [t.tenantId]);
      expect(rows).toHaveLength(1);
      const token = rows[0].envelope.data.resetToken as string;
      const stored = await svc.admin.query('SELECT token_hash FROM auth.credential_tokens WHERE user_id = $1', [t.ownerId]);
      expect(stored.rows[0].token_hash).not.toBe(token);

      await request(svc.app).post('/api/v1/auth/password-reset/confirm').send({ token, password: 'a brand new password' }).expect(204);
      await request(svc.app).post('/api/v1/auth/password-reset/confirm').send({ token, password: 'another new password' }).expect(400);
      await request(svc.app).post('/api/v1/auth/login').send({ email: t.email, password: PASSWORD }).expect(401);
      await request(svc.app).post('/api/v1/auth/login').send({ email: t.email, password: 'a brand new password' }).expect(200);
      // Sessions from before the reset are revoked.
      await request(svc.app).post('/api/v1/auth/refresh').send({ refreshToken: t.refreshToken }).expect(401);
    });
  });

  describe('client credentials', () => {
    it('when a service presents its secret for a tenant, then it gets a short service token accepted by service routes', async () => {
      const t = await registerTenant(svc.app);
      const res = await request(svc.app)
        .post('/api/v1/auth/token')
        .type('form')
        .send({ grant_type: 'client_credentials', client_id: 'transaction-service', client_secret: 'test-secret-123', tenantId: t.tenantId })
        .expect(200);
      expect(jwt.decode(res.body.accessToken)).toMatchObject({ sub: 'svc:transaction-service', role: 'service', tid: t.tenantId });
      expect(res.body.expiresIn).toBeLessThanOrEqual(300);
      const stores = await request(svc.app).get('/api/v1/stores').set(bearer(res.body.accessToken)).expect(200);
      expect(stores.body.data.map((s: { id: string }) => s.id)).toEqual([t.storeId]);
      // A service token is not a user: user-only routes refuse it; contact lookups are allowed.
      await request(svc.app).get('/api/v1/auth/me').set(bearer(res.body.accessToken)).expect(403);
      const managers = await request(svc.app).get('/api/v1/users').query({ storeId: t.storeId }).set(bearer(res.body.accessToken)).expect(200);
      expect(managers.body.data.map((u: { id: string }) => u.id)).toEqual([t.ownerId]);
      await request(svc.app).post('/api/v1/users').set(bearer(res.body.accessToken)).send({}).expect(403);
    });

    it('when the secret is wrong or the client unknown, then 401', async () => {
      const t = await registerTenant(svc.app);
      for (const [client_id, client_secret] of [['transaction-service', 'wrong'], ['nobody', 'test-secret-123']]) {
        await request(svc.app).post('/api/v1/auth/token').send({ grant_type: 'client_credentials', client_id, client_secret, tenantId: t.tenantId }).expect(401);
      }
    });
  });

  describe('JWKS and key rotation', () => {
    it('when the key is rotated, then both keys are published, old tokens still verify and new tokens use the new key', async () => {
      const t = await registerTenant(svc.app);
      const before = await request(svc.app).get('/.well-known/jwks.json').expect(200);
      const oldKid = jwt.decode(t.accessToken, { complete: true })!.header.kid;
      expect(before.body.keys.map((k: { kid: string }) => k.kid)).toContain(oldKid);
      for (const key of before.body.keys) expect(key).not.toHaveProperty('d');

      const newKid = await svc.deps.keys.rotate();
      const after = await request(svc.app).get('/.well-known/jwks.json').expect(200);
      expect(after.body.keys.map((k: { kid: string }) => k.kid)).toEqual(expect.arrayContaining([oldKid, newKid]));
      await request(svc.app).get('/api/v1/auth/me').set(bearer(t.accessToken)).expect(200);
      const login = await request(svc.app).post('/api/v1/auth/login').send({ email: t.email, password: PASSWORD }).expect(200);
      expect(jwt.decode(login.body.accessToken, { complete: true })!.header.kid).toBe(newKid);
      await request(svc.app).get('/api/v1/auth/me').set(bearer(login.body.accessToken)).expect(200);
      const { rows } = await svc.admin.query('SELECT private_key_enc FROM auth.signing_keys WHERE kid = $1', [newKid]);
      expect(rows[0].private_key_enc).not.toMatch(/PRIVATE KEY/);
    });
  });
});
