import { randomUUID } from 'node:crypto';
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
