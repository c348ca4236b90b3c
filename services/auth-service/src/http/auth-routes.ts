import { randomUUID } from 'node:crypto';
import type { Express, Request } from 'express';
import { EVENTS, z } from '@pos/types';
import { withTenant, type Queryable } from '@pos/database';
import { writeEvent } from '@pos/events';
import type { RouteTable } from '@pos/http';
import { ProblemError, tooManyRequests, unauthorized } from '@pos/utils';
import type { AuthDeps } from '../deps';
import { SCHEMA } from '../deps';
import { findTenant } from '../data/tenant-repository';
import { findStore, listStores } from '../data/store-repository';
import { findLogin, findUser, findUserByEmail, recordLoginState, updateUser } from '../data/user-repository';
import * as tokens from '../data/token-repository';
import { storeView, tenantView, userView } from '../data/rows';
import { afterFailure, isLocked, secondsUntilUnlocked } from '../domain/lockout';
import { signUpTenant } from '../tenant-signup';
import { hashToken, newOpaqueToken, safeEqual } from '../domain/secrets';
import {
  LoginBody,
  MeResponse,
  PasswordResetBody,
  PasswordResetConfirmBody,
  PinLoginBody,
  RefreshBody,
  RegisterBody,
  RegisterResponse,
  ServiceTokenResponse,
  SessionSchema,
  TokenBody,
} from './schemas';

const invalidCredentials = () => unauthorized('The email or password is not correct', 'invalid_credentials');
const tags = ['auth'];

/** Where a request came from, for security events (the audit trail). */
export function clientInfo(req: Request): { ip: string | null; userAgent: string | null } {
  return { ip: req.ip ?? null, userAgent: req.get('user-agent')?.slice(0, 256) ?? null };
}

type LoginMethod = 'password' | 'pin';
type Client = ReturnType<typeof clientInfo>;

/** A failed login (and, when this failure locked the account, the lockout) into the outbox of the failure's transaction. */
async function recordLoginFailure(
  db: Queryable,
  user: { id: string; tenant_id: string },
  f: { method: LoginMethod; reason: string; storeId: string | null; client: Client; lockedUntil?: Date | null },
): Promise<void> {
  const base = { userId: user.id, method: f.method, storeId: f.storeId, ...f.client };
  await writeEvent(db, { schema: SCHEMA, type: EVENTS.securityLoginFailed, tenantId: user.tenant_id, data: { ...base, reason: f.reason } });
  if (f.lockedUntil) {
    await writeEvent(db, { schema: SCHEMA, type: EVENTS.securityAccountLocked, tenantId: user.tenant_id, data: { ...base, lockedUntil: f.lockedUntil.toISOString() } });
  }
}

/** A successful login, committed with the session it issued. */
export async function recordLogin(db: Queryable, user: { id: string; tenant_id: string }, l: { method: LoginMethod | 'oauth'; storeId: string | null; client: Client }): Promise<void> {
  await writeEvent(db, { schema: SCHEMA, type: EVENTS.userLoggedIn, tenantId: user.tenant_id, data: { userId: user.id, method: l.method, storeId: l.storeId, ...l.client } });
}

/** The lock this failure started, if it started one (not when the account was already locked). */
const newLock = (before: Date | null, after: Date | null, now: Date) =>
  after && after.getTime() > now.getTime() && !(before && before.getTime() > now.getTime()) ? after : null;

export function authRoutes(app: Express, table: RouteTable, deps: AuthDeps): void {
  const { pool, hasher, sessions, config } = deps;
  const loginPolicy = { maxFailures: config.LOGIN_MAX_FAILURES, lockMinutes: config.LOGIN_LOCK_MINUTES };
  const pinPolicy = { maxFailures: config.PIN_MAX_FAILURES, lockMinutes: config.PIN_LOCK_MINUTES };

  app.get('/.well-known/jwks.json', async (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=60');
    res.json(await deps.keys.jwks());
  });

  table.add({
    method: 'post',
    path: '/api/v1/auth/register',
    summary: 'Create a tenant with its first store and owner',
    tags,
    roles: 'public',
    body: RegisterBody,
    responses: { 201: { description: 'Registered and logged in', schema: RegisterResponse }, 409: { description: 'The email cannot be used' } },
    handler: async ({ body }) => {
      const { tenantName, storeName, currency, timezone, taxInclusive, email, name } = body;
      const passwordHash = await hasher.hash(body.password);
      return signUpTenant(pool, sessions, { tenantName, storeName, currency, timezone, taxInclusive, email, name, passwordHash });
    },
  });

  table.add({
    method: 'post',
    path: '/api/v1/auth/login',
    summary: 'Log in with email and password',
    tags,
    roles: 'public',
    body: LoginBody,
    responses: { 200: { description: 'Logged in', schema: SessionSchema }, 401: { description: 'Wrong email or password (never says which)' } },
    handler: async ({ body, req }) => {
      const client = clientInfo(req);
      const login = await findLogin(pool, body.email);
      if (!login) {
        // No account, so no tenant whose audit trail could hold it: the log line is the record.
        await hasher.verifyDummy(body.password);
        throw invalidCredentials();
      }
      const outcome = await withTenant(pool, login.tenant_id, async (db) => {
        const user = await findUser(db, login.tenant_id, login.user_id, true);
        const now = new Date();
        const locked = user ? isLocked({ failures: user.failed_logins, lockedUntil: user.locked_until }, now) : false;
        if (!user || !user.active || !user.password_hash || locked) {
          await hasher.verifyDummy(body.password);
          if (user) {
            const reason = locked ? 'locked' : !user.active ? 'inactive' : 'no_password';
            await recordLoginFailure(db, user, { method: 'password', reason, storeId: null, client });
          }
          return undefined;
        }
        if (!(await hasher.verify(user.password_hash, body.password))) {
          const next = afterFailure({ failures: user.failed_logins, lockedUntil: user.locked_until }, loginPolicy, now);
          await recordLoginState(db, user.id, { failedLogins: next.failures, lockedUntil: next.lockedUntil });
          const lockedUntil = newLock(user.locked_until, next.lockedUntil, now);
          if (lockedUntil) deps.logger.warn('account locked after repeated login failures', { userId: user.id, tenantId: user.tenant_id });
          await recordLoginFailure(db, user, { method: 'password', reason: 'wrong_password', storeId: null, client, lockedUntil });
          return undefined;
        }
        await recordLoginState(db, user.id, { failedLogins: 0, lockedUntil: null, loggedIn: true });
        await recordLogin(db, user, { method: 'password', storeId: null, client });
        return sessions.issue(db, user, { storeScope: null });
      });
      if (!outcome) throw invalidCredentials();
      return outcome;
    },
  });

  table.add({
    method: 'post',
    path: '/api/v1/auth/pin-login',
    summary: 'Log in at a store with a short PIN (locked after repeated failures)',
    tags,
    roles: 'public',
    body: PinLoginBody,
    responses: { 200: { description: 'Logged in for this store', schema: SessionSchema }, 401: { description: 'Wrong PIN' }, 429: { description: 'Locked after repeated failures' } },
    handler: async ({ body, req }) => {
      const client = clientInfo(req);
      type Outcome = { session?: Awaited<ReturnType<typeof sessions.issue>>; lockedFor?: number };
      const outcome: Outcome = await withTenant(pool, body.tenantId, async (db) => {
        const store = await findStore(db, body.tenantId, body.storeId);
        const user = body.userId ? await findUser(db, body.tenantId, body.userId, true) : await findUserByEmail(db, body.tenantId, body.email!, true);
        const now = new Date();
        const usable = store?.active && user?.active && user.pin_hash && (user.role === 'owner' || user.store_ids.includes(body.storeId));
        if (!user || !usable) {
          await hasher.verifyDummy(body.pin);
          if (user && store) await recordLoginFailure(db, user, { method: 'pin', reason: 'not_allowed', storeId: store.id, client });
          return {};
        }
        const state = { failures: user.failed_pins, lockedUntil: user.pin_locked_until };
        if (isLocked(state, now)) {
          await recordLoginFailure(db, user, { method: 'pin', reason: 'locked', storeId: body.storeId, client });
          return { lockedFor: secondsUntilUnlocked(state, now) };
        }
        if (!(await hasher.verify(user.pin_hash!, body.pin))) {
          const next = afterFailure(state, pinPolicy, now);
          await recordLoginState(db, user.id, { failedPins: next.failures, pinLockedUntil: next.lockedUntil });
          const lockedUntil = newLock(user.pin_locked_until, next.lockedUntil, now);
          await recordLoginFailure(db, user, { method: 'pin', reason: 'wrong_pin', storeId: body.storeId, client, lockedUntil });
          return isLocked(next, now) ? { lockedFor: secondsUntilUnlocked(next, now) } : {};
        }
        await recordLoginState(db, user.id, { failedPins: 0, pinLockedUntil: null, loggedIn: true });
        await recordLogin(db, user, { method: 'pin', storeId: body.storeId, client });
        return { session: await sessions.issue(db, user, { storeScope: [body.storeId] }) };
      });
      if (outcome.lockedFor) throw tooManyRequests('Too many wrong PINs; this PIN login is locked for a while', outcome.lockedFor, 'pin_locked');
      if (!outcome.session) throw unauthorized('The PIN is not correct for this store', 'invalid_credentials');
      return outcome.session;
    },
  });

  table.add({
    method: 'post',
    path: '/api/v1/auth/refresh',
    summary: 'Exchange a refresh token for a new pair (single use, rotated)',
    tags,
    roles: 'public',
    body: RefreshBody,
    responses: { 200: { description: 'A new token pair', schema: SessionSchema }, 401: { description: 'Invalid, expired, revoked or reused token' } },
    handler: async ({ body, req }) => {
      const tokenHash = hashToken(body.refreshToken);
      const tenantId = await tokens.refreshTokenTenant(pool, tokenHash);
      if (!tenantId) throw unauthorized('The refresh token is not valid', 'invalid_refresh_token');
      const outcome = await withTenant(pool, tenantId, async (db) => {
        const rotated = await sessions.rotate(db, body.refreshToken, (userId) => findUser(db, tenantId, userId));
        if (rotated.kind === 'reused') {
          // Committed with the family revocation.
          const data = { userId: rotated.userId, familyId: rotated.familyId, ...clientInfo(req) };
          await writeEvent(db, { schema: SCHEMA, type: EVENTS.securityTokenReused, tenantId, data });
        }
        return rotated;
      });
      if (outcome.kind === 'reused') {
        deps.logger.warn('refresh token reuse detected; family revoked', { tenantId });
        throw unauthorized('The refresh token was already used; all sessions of this login were revoked', 'refresh_token_reused');
      }
      if (outcome.kind === 'invalid') throw unauthorized('The refresh token is not valid', 'invalid_refresh_token');
      return outcome.session;
    },
  });

  table.add({
    method: 'post',
    path: '/api/v1/auth/logout',
    summary: 'Revoke the session of this refresh token',
    tags,
    roles: 'public',
    body: RefreshBody,
    responses: { 204: { description: 'Logged out (also when the token was unknown)' } },
    handler: async ({ body, req, res }) => {
      const tokenHash = hashToken(body.refreshToken);
      const tenantId = await tokens.refreshTokenTenant(pool, tokenHash);
      if (tenantId) {
        await withTenant(pool, tenantId, async (db) => {
          const row = await tokens.findRefreshTokenForUpdate(db, tokenHash);
          if (!row) return;
          await tokens.revokeFamily(db, row.family_id);
          const data = { userId: row.user_id, familyId: row.family_id, ...clientInfo(req) };
          await writeEvent(db, { schema: SCHEMA, type: EVENTS.userLoggedOut, tenantId, data });
        });
      }
      res.status(204).end();
    },
  });

  table.add({
    method: 'get',
    path: '/api/v1/auth/me',
    summary: 'The caller, their tenant and the stores they act in',
    tags,
    roles: ['owner', 'manager', 'cashier'],
    responses: { 200: { description: 'The caller', schema: MeResponse } },
    handler: async ({ auth }) =>
      withTenant(pool, auth.tenantId, async (db) => {
        const user = await findUser(db, auth.tenantId, auth.userId);
        const tenant = await findTenant(db, auth.tenantId);
        if (!user || !tenant || !user.active) throw unauthorized('This user no longer exists or was deactivated', 'user_inactive');
        const stores = await listStores(db, auth.tenantId, { limit: 200, onlyIds: auth.role === 'owner' ? undefined : auth.stores });
        return { user: userView(user), tenant: tenantView(tenant), stores: stores.map(storeView) };
      }),
  });

  table.add({
    method: 'post',
    path: '/api/v1/auth/token',
    summary: 'Client credentials: a short-lived service token for one tenant (service-to-service)',
    tags,
    roles: 'public',
    body: TokenBody,
    responses: { 200: { description: 'A service access token', schema: ServiceTokenResponse }, 401: { description: 'Unknown client or wrong secret' } },
    handler: async ({ body }) => {
      const expected = config.SERVICE_CLIENTS.get(body.client_id);
      // Compare against something even for unknown clients so timing does not reveal client ids.
      const ok = safeEqual(expected ?? randomUUID(), body.client_secret) && expected !== undefined;
      if (!ok) throw unauthorized('The client credentials are not valid', 'invalid_client');
      const tenant = await withTenant(pool, body.tenantId, (db) => findTenant(db, body.tenantId));
      if (!tenant) throw new ProblemError(400, 'invalid_tenant', 'Bad Request', 'The tenant does not exist', [{ path: 'tenantId', message: 'is not a tenant' }]);
      const expiresIn = Math.min(300, config.ACCESS_TOKEN_TTL_SECONDS);
      return { accessToken: await sessions.serviceToken(body.client_id, body.tenantId), tokenType: 'Bearer' as const, expiresIn };
    },
  });

  table.add({
    method: 'post',
    path: '/api/v1/auth/password-reset',
    summary: 'Ask for a password reset email (always 202, whether or not the email exists)',
    tags,
    roles: 'public',
    body: PasswordResetBody,
    responses: { 202: { description: 'If the account exists, an email is on its way', schema: z.object({ status: z.literal('accepted') }) } },
    handler: async ({ body }) => {
      const login = await findLogin(pool, body.email);
      if (login) {
        await withTenant(pool, login.tenant_id, async (db) => {
          const user = await findUser(db, login.tenant_id, login.user_id);
          if (!user?.active) return;
          const resetToken = newOpaqueToken('pr');
          const expiresAt = new Date(Date.now() + config.PASSWORD_RESET_TTL_MINUTES * 60_000);
          await tokens.insertCredentialToken(db, { id: randomUUID(), tenantId: user.tenant_id, userId: user.id, purpose: 'password_reset', tokenHash: hashToken(resetToken), expiresAt });
          await writeEvent(db, {
            schema: SCHEMA,
            type: EVENTS.userPasswordResetRequested,
            tenantId: user.tenant_id,
            data: { userId: user.id, email: user.email, name: user.name, resetToken, expiresAt: expiresAt.toISOString() },
          });
        });
      }
      return { status: 'accepted' as const };
    },
  });

  table.add({
    method: 'post',
    path: '/api/v1/auth/password-reset/confirm',
    summary: 'Set a new password with a reset or invitation token (single use)',
    tags,
    roles: 'public',
    body: PasswordResetConfirmBody,
    responses: { 204: { description: 'Password set; existing sessions revoked' } },
    handler: async ({ body, req, res }) => {
      const tokenHash = hashToken(body.token);
      const invalid = new ProblemError(400, 'invalid_reset_token', 'Bad Request', 'The token is not valid or has expired', [{ path: 'token', message: 'is not valid or has expired' }]);
      const tenantId = await tokens.credentialTokenTenant(pool, tokenHash);
      if (!tenantId) throw invalid;
      const passwordHash = await hasher.hash(body.password);
      const done = await withTenant(pool, tenantId, async (db) => {
        const consumed = await tokens.consumeCredentialToken(db, tokenHash);
        if (!consumed) return false;
        const user = await findUser(db, tenantId, consumed.user_id, true);
        if (!user?.active) return false;
        await updateUser(db, tenantId, user.id, user.version, { passwordHash });
        await recordLoginState(db, user.id, { failedLogins: 0, lockedUntil: null });
        await tokens.revokeAllForUser(db, user.id);
        await writeEvent(db, { schema: SCHEMA, type: EVENTS.userPasswordSet, tenantId, data: { userId: user.id, ...clientInfo(req) } });
        return true;
      });
      if (!done) throw invalid;
      res.status(204).end();
    },
  });
}
