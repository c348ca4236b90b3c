import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { createPool, type Pool } from '@pos/database';
import { createLogger, loadConfig } from '@pos/utils';
import { authConfigSchema, type AuthConfig } from '../src/config';
import { buildDeps, closeDeps } from '../src/build-deps';
import { createApp } from '../src/app';
import type { AuthDeps } from '../src/deps';

export const PASSWORD = 'correct horse battery';

export interface TestAuthService {
  deps: AuthDeps;
  app: ReturnType<typeof createApp>['app'];
  table: ReturnType<typeof createApp>['table'];
  /** Connects as the schema owner, for assertions on stored state. */
  admin: Pool;
  close(): Promise<void>;
}

export function testConfig(overrides: Record<string, string> = {}): AuthConfig {
  return loadConfig(authConfigSchema, {
    ...process.env,
    PASSWORD_HASH_MEMORY_KIB: '8192',
    SERVICE_CLIENTS: 'transaction-service:test-secret-123,inventory-service:test-secret-456',
    ...overrides,
  });
}

export async function startAuthService(overrides: Record<string, string> = {}): Promise<TestAuthService> {
  const deps = await buildDeps(testConfig(overrides), createLogger({ service: 'auth-service', level: 'error' }));
  const { app, table } = createApp(deps);
  const admin = createPool({ connectionString: process.env.DATABASE_ADMIN_URL!, max: 2 });
  return {
    deps,
    app,
    table,
    admin,
    async close() {
      await closeDeps(deps);
      await admin.end();
    },
  };
}

export const uniqueEmail = (label = 'user') => `${label}-${randomUUID().slice(0, 8)}@test.pos`;

export interface RegisteredTenant {
  tenantId: string;
  storeId: string;
  ownerId: string;
  email: string;
  accessToken: string;
  refreshToken: string;
}

export async function registerTenant(app: TestAuthService['app'], label = 'Shop'): Promise<RegisteredTenant> {
  const email = uniqueEmail('owner');
  const res = await request(app)
    .post('/api/v1/auth/register')
    .send({ tenantName: `${label} ${randomUUID().slice(0, 6)}`, storeName: 'Main Street', email, password: PASSWORD, name: 'Olive Owner' })
    .expect(201);
  return {
    tenantId: res.body.tenant.id,
    storeId: res.body.store.id,
    ownerId: res.body.user.id,
    email,
    accessToken: res.body.accessToken,
    refreshToken: res.body.refreshToken,
  };
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** Creates a user through the API and logs them in (password) or returns their id (PIN only). */
export async function createUser(
  app: TestAuthService['app'],
  ownerToken: string,
  body: { role: 'owner' | 'manager' | 'cashier'; storeIds: string[]; pin?: string; password?: string },
): Promise<{ id: string; email: string; accessToken?: string }> {
  const email = uniqueEmail(body.role);
  const res = await request(app)
    .post('/api/v1/users')
    .set(bearer(ownerToken))
    .send({ email, name: `Test ${body.role}`, password: body.password ?? PASSWORD, ...body })
    .expect(201);
  const login = await request(app).post('/api/v1/auth/login').send({ email, password: body.password ?? PASSWORD }).expect(200);
  return { id: res.body.id, email, accessToken: login.body.accessToken };
}

/** The real auth-service listening on a loopback port (tokens, JWKS, stores) for other services' tests. */
export interface AuthServer {
  svc: TestAuthService;
  url: string;
  close(): Promise<void>;
}

export async function startAuthServer(overrides: Record<string, string> = {}): Promise<AuthServer> {
  const svc = await startAuthService(overrides);
  const server: Server = svc.app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return {
    svc,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await svc.close();
    },
  };
}

export interface Shop extends RegisteredTenant {
  /** A second store of the tenant (it allows negative stock), where the manager and cashier may not act. */
  otherStoreId: string;
  manager: { id: string; token: string };
  cashier: { id: string; token: string };
}

/** A tenant (its own, per test file) with two stores, and a manager and a cashier of the first store. */
export async function createShop(auth: AuthServer): Promise<Shop> {
  const t = await registerTenant(auth.svc.app);
  const other = await request(auth.svc.app)
    .post('/api/v1/stores')
    .set(bearer(t.accessToken))
    .send({ name: 'Outlet', currency: 'USD', timezone: 'UTC', taxInclusive: false, allowNegativeStock: true })
    .expect(201);
  const user = async (role: 'manager' | 'cashier') => {
    const email = uniqueEmail(role);
    const created = await request(auth.svc.app).post('/api/v1/users').set(bearer(t.accessToken)).send({ email, name: role, role, storeIds: [t.storeId], password: PASSWORD }).expect(201);
    const login = await request(auth.svc.app).post('/api/v1/auth/login').send({ email, password: PASSWORD }).expect(200);
    return { id: created.body.id as string, token: login.body.accessToken as string };
  };
  return { ...t, otherStoreId: other.body.id, manager: await user('manager'), cashier: await user('cashier') };
}
