import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import readline from 'node:readline';
import request from 'supertest';
import { profileFromUserinfo } from '../src/domain/oauth-profile';
import { PASSWORD, bearer, createUser, registerTenant, startAuthService, uniqueEmail, type TestAuthService } from './helpers';

// A real OAuth2 provider (oauth2-mock-server) in a child process; the test plays the browser and
// follows the redirects by hand, so the callback URL needs no server of its own.
const PROVIDER_SCRIPT = path.resolve(__dirname, '../../../scripts/test/oauth-provider.mjs');
const CALLBACK_URL = 'http://127.0.0.1/api/v1/auth/oauth/callback';
const LOGIN = '/api/v1/auth/oauth/login';
const CALLBACK = '/api/v1/auth/oauth/callback';

async function startProvider(): Promise<{ child: ChildProcess; issuer: string }> {
  const child = spawn(process.execPath, [PROVIDER_SCRIPT, '--exit-on-stdin-end'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const issuer = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the OAuth provider exited early (${code})`)));
    readline.createInterface({ input: child.stdout! }).once('line', (line) => resolve(JSON.parse(line).issuer));
  });
  return { child, issuer };
}

const oauthConfig = (issuer: string, allowSignup: boolean) => ({
  OAUTH_ENABLED: 'true',
  OAUTH_AUTHORIZATION_URL: `${issuer}/authorize`,
  OAUTH_TOKEN_URL: `${issuer}/token`,
  OAUTH_USERINFO_URL: `${issuer}/userinfo`,
  OAUTH_CLIENT_ID: 'pos-test-client',
  OAUTH_CLIENT_SECRET: 'pos-test-client-secret',
  OAUTH_CALLBACK_URL: CALLBACK_URL,
  OAUTH_ALLOW_SIGNUP: String(allowSignup),
});

type App = TestAuthService['app'];

/** GET /oauth/login on the app; returns the provider's authorize URL it redirected to. */
async function startLogin(app: App): Promise<URL> {
  const res = await request(app).get(LOGIN).expect(302);
  return new URL(res.headers.location!);
}

/**
 * The browser's part: start the login, pass the provider's authorize step as the user with these
 * hints (login_hint = email), and return the path + query of the callback the provider sent us to.
 */
async function authorizeAs(app: App, hints: Record<string, string>): Promise<string> {
  const authorizeUrl = await startLogin(app);
  for (const [key, value] of Object.entries(hints)) authorizeUrl.searchParams.set(key, value);
  const res = await fetch(authorizeUrl, { redirect: 'manual' });
  expect(res.status).toBe(302);
  const callback = new URL(res.headers.get('location')!);
  expect(`${callback.origin}${callback.pathname}`).toBe(CALLBACK_URL);
  return `${callback.pathname}${callback.search}`;
}

const countUsers = async (svc: TestAuthService, email: string) =>
  Number((await svc.admin.query('SELECT count(*) AS n FROM auth.users WHERE lower(email) = lower($1)', [email])).rows[0].n);

describe('auth-service: OAuth2 login (passport-oauth2 against a local provider)', () => {
  let provider: ChildProcess;
  let issuer: string;
  let svc: TestAuthService;
  let noSignup: TestAuthService;
  let disabled: TestAuthService;

  beforeAll(async () => {
    ({ child: provider, issuer } = await startProvider());
    [svc, noSignup, disabled] = await Promise.all([
      startAuthService(oauthConfig(issuer, true)),
      startAuthService(oauthConfig(issuer, false)),
      startAuthService({ OAUTH_ENABLED: 'false' }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([svc?.close(), noSignup?.close(), disabled?.close()]);
    provider?.kill('SIGTERM');
  });

  describe('login', () => {
    it('when a login starts, then it redirects to the provider with our client, callback, scope and a stored single-use state', async () => {
      const url = await startLogin(svc.app);
      expect(`${url.origin}${url.pathname}`).toBe(`${issuer}/authorize`);
      expect(Object.fromEntries(url.searchParams)).toMatchObject({
        response_type: 'code',
        client_id: 'pos-test-client',
        redirect_uri: CALLBACK_URL,
        scope: 'openid email profile',
        state: expect.stringMatching(/^[\w-]{43}$/),
      });
      const ttl = await svc.deps.redis.ttl(`oauth:state:${url.searchParams.get('state')}`);
      expect(ttl).toBeGreaterThan(590);
      expect(ttl).toBeLessThanOrEqual(600);
    });

    it('when an existing user logs in through the provider, then the callback answers a session that works on /me', async () => {
      const t = await registerTenant(svc.app, 'OAuth');
      const callback = await authorizeAs(svc.app, { login_hint: t.email.toUpperCase() });
      const res = await request(svc.app).get(callback).expect(200);
      expect(res.body).toMatchObject({ tokenType: 'Bearer', refreshToken: expect.any(String), user: { id: t.ownerId, tenantId: t.tenantId, role: 'owner', hasPassword: true } });
      expect(res.headers['cache-control']).toBe('no-store');

      const me = await request(svc.app).get('/api/v1/auth/me').set(bearer(res.body.accessToken)).expect(200);
      expect(me.body.user).toMatchObject({ id: t.ownerId, email: t.email, lastLoginAt: expect.any(String) });
      expect(me.body.tenant.id).toBe(t.tenantId);
      // Nothing was created: still one user with this email, and the password still works.
      expect(await countUsers(svc, t.email)).toBe(1);
      await request(svc.app).post('/api/v1/auth/login').send({ email: t.email, password: PASSWORD }).expect(200);
    });

    it('when a deactivated user logs in through the provider, then 403 oauth_user_unknown and no tenant is created', async () => {
      const t = await registerTenant(svc.app, 'OAuth');
      const cashier = await createUser(svc.app, t.accessToken, { role: 'cashier', storeIds: [t.storeId] });
      await request(svc.app).delete(`/api/v1/users/${cashier.id}`).set(bearer(t.accessToken)).expect(204);
      const res = await request(svc.app).get(await authorizeAs(svc.app, { login_hint: cashier.email })).expect(403);
      expect(res.body.code).toBe('oauth_user_unknown');
      expect(await countUsers(svc, cashier.email)).toBe(1);
    });
  });

  describe('first login', () => {
    it('when an unknown email logs in and sign-up is allowed, then 201 creates a tenant, a store and a password-less owner, with their events', async () => {
      const email = uniqueEmail('oauth-new');
      const res = await request(svc.app).get(await authorizeAs(svc.app, { login_hint: email, name: 'Ada Lovelace' })).expect(201);
      expect(res.body.tenant).toMatchObject({ name: "Ada Lovelace's business", version: 1 });
      expect(res.body.store).toMatchObject({ tenantId: res.body.tenant.id, name: 'Main store', currency: 'USD', timezone: 'UTC', taxInclusive: false });
      expect(res.body.user).toMatchObject({ email, name: 'Ada Lovelace', role: 'owner', storeIds: [res.body.store.id], hasPassword: false, hasPin: false });
      await request(svc.app).get('/api/v1/auth/me').set(bearer(res.body.accessToken)).expect(200);

      const tenants = await svc.admin.query('SELECT name FROM auth.tenants WHERE id = $1', [res.body.tenant.id]);
      expect(tenants.rows).toEqual([{ name: "Ada Lovelace's business" }]);
      const users = await svc.admin.query('SELECT id, role, password_hash FROM auth.users WHERE tenant_id = $1', [res.body.tenant.id]);
      expect(users.rows).toEqual([{ id: res.body.user.id, role: 'owner', password_hash: null }]);
      const events = await svc.admin.query("SELECT type, envelope->'data' AS data FROM auth.outbox WHERE tenant_id = $1 ORDER BY seq", [res.body.tenant.id]);
      expect(events.rows).toEqual([
        { type: 'tenant.registered', data: { tenantId: res.body.tenant.id, name: "Ada Lovelace's business", ownerId: res.body.user.id, storeId: res.body.store.id } },
        { type: 'store.created', data: { storeId: res.body.store.id, name: 'Main store', currency: 'USD', timezone: 'UTC', taxInclusive: false, allowNegativeStock: false, active: true, version: 1 } },
      ]);

      // The next OAuth login finds that owner instead of creating another tenant; a password login cannot.
      const again = await request(svc.app).get(await authorizeAs(svc.app, { login_hint: email })).expect(200);
      expect(again.body.user.id).toBe(res.body.user.id);
      await request(svc.app).post('/api/v1/auth/login').send({ email, password: PASSWORD }).expect(401);
      expect(await countUsers(svc, email)).toBe(1);
    });

    it('when an unknown email logs in and sign-up is not allowed, then 403 oauth_user_unknown and nothing is stored', async () => {
      const email = uniqueEmail('oauth-nosignup');
      const res = await request(noSignup.app).get(await authorizeAs(noSignup.app, { login_hint: email, name: 'Nobody' })).expect(403);
      expect(res.body).toMatchObject({ status: 403, code: 'oauth_user_unknown' });
      expect(res.body.detail).not.toContain(email);
      expect(await countUsers(noSignup, email)).toBe(0);
      const tenants = await noSignup.admin.query("SELECT count(*) AS n FROM auth.tenants WHERE name = 'Nobody''s business'");
      expect(Number(tenants.rows[0].n)).toBe(0);
    });
  });

  describe('refused callbacks (401 oauth_failed, never a 500)', () => {
    const expectOAuthFailed = (res: request.Response) => {
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ status: 401, code: 'oauth_failed' });
      expect(JSON.stringify(res.body)).not.toMatch(/ at .*\.(js|ts):\d+/);
    };

    it('when a callback is replayed, or its used state comes back with a fresh code, then it is refused', async () => {
      const t = await registerTenant(svc.app, 'OAuth');
      const first = new URL(await authorizeAs(svc.app, { login_hint: t.email }), 'http://x');
      await request(svc.app).get(`${first.pathname}${first.search}`).expect(200);
      expect(await svc.deps.redis.exists(`oauth:state:${first.searchParams.get('state')}`)).toBe(0);
      expectOAuthFailed(await request(svc.app).get(`${first.pathname}${first.search}`));

      // A valid, unused code with the used state: refused on the state alone, before any token exchange...
      const second = new URL(await authorizeAs(svc.app, { login_hint: t.email }), 'http://x');
      expectOAuthFailed(await request(svc.app).get(CALLBACK).query({ code: second.searchParams.get('code'), state: first.searchParams.get('state') }));
      // ...so that code still works with its own state.
      await request(svc.app).get(`${second.pathname}${second.search}`).expect(200);
    });

    it('when the state is forged or missing, then the callback is refused', async () => {
      const t = await registerTenant(svc.app, 'OAuth');
      const callback = new URL(await authorizeAs(svc.app, { login_hint: t.email }), 'http://x');
      callback.searchParams.set('state', randomBytes(32).toString('base64url'));
      expectOAuthFailed(await request(svc.app).get(`${callback.pathname}${callback.search}`));
      callback.searchParams.set('state', 'short');
      expectOAuthFailed(await request(svc.app).get(`${callback.pathname}${callback.search}`));
      callback.searchParams.delete('state');
      expectOAuthFailed(await request(svc.app).get(`${callback.pathname}${callback.search}`));
    });

    it('when the provider answers with an error, then the callback is refused', async () => {
      for (const error of ['access_denied', 'server_error']) {
        const state = (await startLogin(svc.app)).searchParams.get('state')!;
        expectOAuthFailed(await request(svc.app).get(CALLBACK).query({ error, error_description: 'The user said no', state }));
      }
    });

    it('when the code is not one the provider issued, then the token exchange fails and the callback is refused', async () => {
      const state = (await startLogin(svc.app)).searchParams.get('state')!;
      expectOAuthFailed(await request(svc.app).get(CALLBACK).query({ code: 'not-a-real-code', state }));
    });

    it('when the provider gives no email or an unverified one, then the callback is refused and no tenant is created', async () => {
      const email = uniqueEmail('oauth-unverified');
      expectOAuthFailed(await request(svc.app).get(await authorizeAs(svc.app, { login_hint: email, email_verified: 'false' })));
      expectOAuthFailed(await request(svc.app).get(await authorizeAs(svc.app, {})));
      expect(await countUsers(svc, email)).toBe(0);
    });

    it('when the callback carries neither a code nor an error, then it is refused instead of starting a new login', async () => {
      expectOAuthFailed(await request(svc.app).get(CALLBACK).query({ state: 'whatever' }));
    });
  });

  describe('disabled', () => {
    it('when OAuth is disabled, then both routes answer 404 oauth_disabled and are still documented', async () => {
      for (const route of [LOGIN, `${CALLBACK}?code=abc&state=def`]) {
        const res = await request(disabled.app).get(route).expect(404);
        expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
        expect(res.body).toMatchObject({ status: 404, code: 'oauth_disabled' });
      }
      const doc = await request(disabled.app).get('/openapi.json').expect(200);
      expect(doc.body.paths[LOGIN].get.security).toEqual([]);
      expect(Object.keys(doc.body.paths[CALLBACK].get.responses)).toEqual(expect.arrayContaining(['200', '201', '401', '403']));
    });
  });
});

describe('profileFromUserinfo', () => {
  it('when userinfo has a verified or unstated email, then it becomes the profile (name defaults to the local part)', () => {
    expect(profileFromUserinfo({ email: ' ada@example.com ', email_verified: true, name: 'Ada' })).toEqual({ email: 'ada@example.com', name: 'Ada' });
    expect(profileFromUserinfo({ sub: 'x', email: 'bob@example.com' })).toEqual({ email: 'bob@example.com', name: 'bob' });
  });

  it('when the email is missing, malformed or explicitly unverified, then there is no profile', () => {
    for (const body of [{ sub: 'x' }, { email: 'not-an-email' }, { email: 'a@example.com', email_verified: false }, { email: 'a@example.com', email_verified: 'false' }, null, 'text']) {
      expect(profileFromUserinfo(body)).toBeUndefined();
    }
  });
});
