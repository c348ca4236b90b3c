import { randomUUID } from 'node:crypto';
import { EVENTS } from '@pos/types';
import { decodeCursor, pageOf, PG, pgCode, type Queryable, withTenant } from '@pos/database';
import { writeEvent } from '@pos/events';
import type { RouteTable } from '@pos/http';
import { ProblemError, badRequest, conflict, forbidden, notFound, versionConflict } from '@pos/utils';
import type { AuthDeps } from '../deps';
import { SCHEMA } from '../deps';
import { existingStoreIds } from '../data/store-repository';
import { findUser, insertUser, listUsers, updateUser } from '../data/user-repository';
import { revokeAllForUser, insertCredentialToken } from '../data/token-repository';
import { userView, type UserRow } from '../data/rows';
import { canView, cannotManage, type Actor } from '../domain/user-policy';
import { hashToken, newOpaqueToken } from '../domain/secrets';
import { CreateUserBody, IdParams, UpdateUserBody, UserList, UserListQuery, UserSchema } from './schemas';

const tags = ['users'];
const actorOf = (auth: { userId: string; role: string; stores: string[] }): Actor => ({ userId: auth.userId, role: auth.role, stores: auth.stores });

async function assertStoresExist(db: Queryable, tenantId: string, storeIds: string[]): Promise<void> {
  if (storeIds.length === 0) return;
  const found = await existingStoreIds(db, tenantId, storeIds);
  const errors = storeIds.flatMap((id, i) => (found.has(id) ? [] : [{ path: `storeIds.${i}`, message: 'is not an active store of this tenant' }]));
  if (errors.length) throw badRequest('Some stores do not exist', errors);
}

export function userRoutes(table: RouteTable, deps: AuthDeps): void {
  const { pool, hasher, config } = deps;

  table.add({
    method: 'post',
    path: '/api/v1/users',
    summary: 'Create or invite a user (managers create cashiers of their stores only)',
    tags,
    roles: ['owner', 'manager'],
    body: CreateUserBody,
    responses: { 201: { description: 'Created; without a password an invitation is sent', schema: UserSchema }, 409: { description: 'Email already in use' } },
    handler: async ({ body, auth }) => {
      const refusal = cannotManage(actorOf(auth), { role: body.role, storeIds: body.storeIds });
      if (refusal) throw forbidden(refusal, 'role_forbidden');
      if (body.role !== 'owner' && body.storeIds.length === 0) throw badRequest('A manager or cashier needs at least one store', [{ path: 'storeIds', message: 'must name at least one store' }]);
      const [passwordHash, pinHash] = await Promise.all([body.password ? hasher.hash(body.password) : null, body.pin ? hasher.hash(body.pin) : null]);
      try {
        return await withTenant(pool, auth.tenantId, async (db) => {
          await assertStoresExist(db, auth.tenantId, body.storeIds);
          const user = await insertUser(db, auth.tenantId, { email: body.email, name: body.name, role: body.role, storeIds: body.storeIds, passwordHash, pinHash });
          await writeEvent(db, { schema: SCHEMA, type: EVENTS.userCreated, tenantId: auth.tenantId, data: { userId: user.id, email: user.email, role: user.role, storeIds: user.store_ids } });
          if (!passwordHash) {
            const setPasswordToken = newOpaqueToken('iv');
            const expiresAt = new Date(Date.now() + config.INVITE_TTL_HOURS * 3_600_000);
            await insertCredentialToken(db, { id: randomUUID(), tenantId: auth.tenantId, userId: user.id, purpose: 'invite', tokenHash: hashToken(setPasswordToken), expiresAt });
            await writeEvent(db, {
              schema: SCHEMA,
              type: EVENTS.userInvited,
              tenantId: auth.tenantId,
              data: { userId: user.id, email: user.email, name: user.name, invitedBy: auth.userId, setPasswordToken, expiresAt: expiresAt.toISOString() },
            });
          }
          return userView(user);
        });
      } catch (err) {
        if (pgCode(err) === PG.uniqueViolation) throw conflict('A user with this email already exists', 'email_unavailable');
        throw err;
      }
    },
  });

  table.add({
    method: 'get',
    path: '/api/v1/users',
    summary: 'List users (managers see users of their stores; services look up contacts, e.g. store managers)',
    tags,
    roles: ['owner', 'manager', 'service'],
    query: UserListQuery,
    responses: { 200: { description: 'A page of users', schema: UserList } },
    handler: async ({ query, auth }) => {
      const after = decodeCursor(query.cursor, ['createdAt', 'id'] as const);
      let storeIds = query.storeId ? [query.storeId] : undefined;
      if (auth.role === 'manager') storeIds = storeIds ? storeIds.filter((s) => auth.stores.includes(s)) : auth.stores;
      const rows = await withTenant(pool, auth.tenantId, (db) =>
        listUsers(db, auth.tenantId, {
          limit: query.limit + 1,
          after,
          storeIds,
          role: query.role,
          active: query.active,
          includeUserId: auth.role === 'manager' && !query.storeId ? auth.userId : undefined,
        }),
      );
      const { page, nextCursor } = pageOf(rows, query.limit, (last) => ({ createdAt: last.created_at.toISOString(), id: last.id }));
      return { data: page.map(userView), nextCursor };
    },
  });

  const loadVisible = async (db: Queryable, auth: Actor & { tenantId: string }, id: string): Promise<UserRow> => {
    const user = await findUser(db, auth.tenantId, id, true);
    // Users outside the caller's reach look like they do not exist.
    if (!user || !canView(auth, { id: user.id, role: user.role, storeIds: user.store_ids })) throw notFound('User');
    return user;
  };

  table.add({
    method: 'get',
    path: '/api/v1/users/:id',
    summary: 'Get a user',
    tags,
    roles: ['owner', 'manager'],
    params: IdParams,
    responses: { 200: { description: 'The user', schema: UserSchema }, 404: { description: 'No such user in your reach' } },
    handler: ({ params, auth }) => withTenant(pool, auth.tenantId, async (db) => userView(await loadVisible(db, { ...actorOf(auth), tenantId: auth.tenantId }, params.id))),
  });

  table.add({
    method: 'patch',
    path: '/api/v1/users/:id',
    summary: 'Update name, role, stores, PIN, password or active flag (version checked)',
    tags,
    roles: ['owner', 'manager'],
    params: IdParams,
    body: UpdateUserBody,
    responses: { 200: { description: 'The updated user', schema: UserSchema }, 404: { description: 'No such user' }, 409: { description: 'Stale version' } },
    handler: async ({ params, body, auth }) => {
      const actor = actorOf(auth);
      const [passwordHash, pinHash] = await Promise.all([
        body.password ? hasher.hash(body.password) : undefined,
        body.pin ? hasher.hash(body.pin) : body.pin === null ? null : undefined,
      ]);
      return withTenant(pool, auth.tenantId, async (db) => {
        const user = await loadVisible(db, { ...actor, tenantId: auth.tenantId }, params.id);
        if (user.id === auth.userId && (body.role !== undefined || body.active === false)) {
          throw forbidden('You cannot change your own role or deactivate yourself', 'self_change_forbidden');
        }
        // Both the user as they are and as they would be must be within the caller's reach.
        const before = cannotManage(actor, { role: user.role, storeIds: user.store_ids });
        const after = cannotManage(actor, { role: body.role ?? user.role, storeIds: body.storeIds ?? user.store_ids });
        if (user.id !== auth.userId && (before || after)) throw forbidden(before ?? after, 'role_forbidden');
        if (user.id === auth.userId && body.storeIds && auth.role !== 'owner') throw forbidden('You cannot change your own stores', 'self_change_forbidden');
        if (body.storeIds) await assertStoresExist(db, auth.tenantId, body.storeIds);
        if (user.version !== body.version) throw versionConflict(user.version);
        const updated = await updateUser(db, auth.tenantId, user.id, body.version, {
          name: body.name,
          role: body.role,
          storeIds: body.storeIds,
          active: body.active,
          passwordHash,
          pinHash,
        });
        if (!updated) throw versionConflict(user.version);
        // Role, stores or active changes take effect on the next refresh; revoke so it happens now.
        if (body.role !== undefined || body.storeIds !== undefined || body.active === false || passwordHash) await revokeAllForUser(db, user.id);
        const changes = Object.keys(body).filter((k) => k !== 'version' && k !== 'password' && k !== 'pin');
        if (body.password) changes.push('password');
        if (body.pin !== undefined) changes.push('pin');
        await writeEvent(db, { schema: SCHEMA, type: EVENTS.userUpdated, tenantId: auth.tenantId, data: { userId: user.id, changes } });
        return userView(updated);
      });
    },
  });

  table.add({
    method: 'delete',
    path: '/api/v1/users/:id',
    summary: 'Deactivate a user (kept for history; sessions revoked)',
    tags,
    roles: ['owner', 'manager'],
    params: IdParams,
    responses: { 204: { description: 'Deactivated' }, 404: { description: 'No such user' } },
    handler: async ({ params, auth, res }) => {
      await withTenant(pool, auth.tenantId, async (db) => {
        const user = await loadVisible(db, { ...actorOf(auth), tenantId: auth.tenantId }, params.id);
        if (user.id === auth.userId) throw forbidden('You cannot deactivate yourself', 'self_change_forbidden');
        const refusal = cannotManage(actorOf(auth), { role: user.role, storeIds: user.store_ids });
        if (refusal) throw forbidden(refusal, 'role_forbidden');
        if (!user.active) return;
        const updated = await updateUser(db, auth.tenantId, user.id, user.version, { active: false });
        if (!updated) throw new ProblemError(409, 'version_conflict', 'Conflict', 'The user changed meanwhile; retry');
        await revokeAllForUser(db, user.id);
        await writeEvent(db, { schema: SCHEMA, type: EVENTS.userDeactivated, tenantId: auth.tenantId, data: { userId: user.id } });
      });
      res.status(204).end();
    },
  });
}
