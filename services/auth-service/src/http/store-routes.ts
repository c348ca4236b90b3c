import { EVENTS } from '@pos/types';
import { decodeCursor, pageOf, withTenant } from '@pos/database';
import { writeEvent } from '@pos/events';
import { canActInStore, type RouteTable } from '@pos/http';
import { forbidden, notFound, versionConflict } from '@pos/utils';
import type { AuthDeps } from '../deps';
import { SCHEMA } from '../deps';
import { findStore, insertStore, listStores, updateStore } from '../data/store-repository';
import { storeSnapshot, storeView } from '../data/rows';
import { CreateStoreBody, IdParams, StoreList, StoreListQuery, StoreSchema, UpdateStoreBody } from './schemas';

const tags = ['stores'];

export function storeRoutes(table: RouteTable, deps: AuthDeps): void {
  const { pool } = deps;

  table.add({
    method: 'post',
    path: '/api/v1/stores',
    summary: 'Open a store',
    tags,
    roles: ['owner'],
    body: CreateStoreBody,
    responses: { 201: { description: 'The store', schema: StoreSchema } },
    handler: ({ body, auth }) =>
      withTenant(pool, auth.tenantId, async (db) => {
        const store = await insertStore(db, auth.tenantId, body);
        await writeEvent(db, { schema: SCHEMA, type: EVENTS.storeCreated, tenantId: auth.tenantId, data: storeSnapshot(store) });
        return storeView(store);
      }),
  });

  table.add({
    method: 'get',
    path: '/api/v1/stores',
    summary: 'List the stores you act in (owners: all)',
    tags,
    roles: ['owner', 'manager', 'cashier', 'service'],
    query: StoreListQuery,
    responses: { 200: { description: 'A page of stores', schema: StoreList } },
    handler: async ({ query, auth }) => {
      const after = decodeCursor(query.cursor, ['createdAt', 'id'] as const);
      const all = auth.role === 'owner' || auth.role === 'service';
      const rows = await withTenant(pool, auth.tenantId, (db) =>
        listStores(db, auth.tenantId, { limit: query.limit + 1, after, onlyIds: all ? undefined : auth.stores, includeInactive: all && query.includeInactive }),
      );
      const { page, nextCursor } = pageOf(rows, query.limit, (last) => ({ createdAt: last.created_at.toISOString(), id: last.id }));
      return { data: page.map(storeView), nextCursor };
    },
  });

  table.add({
    method: 'get',
    path: '/api/v1/stores/:id',
    summary: 'Get a store',
    tags,
    roles: ['owner', 'manager', 'cashier', 'service'],
    params: IdParams,
    responses: { 200: { description: 'The store', schema: StoreSchema }, 404: { description: 'No such store in your reach' } },
    handler: async ({ params, auth }) => {
      const store = await withTenant(pool, auth.tenantId, (db) => findStore(db, auth.tenantId, params.id));
      if (!store || !canActInStore(auth, store.id)) throw notFound('Store');
      return storeView(store);
    },
  });

  table.add({
    method: 'patch',
    path: '/api/v1/stores/:id',
    summary: 'Change a store (managers: their own stores, not currency or active)',
    tags,
    roles: ['owner', 'manager'],
    params: IdParams,
    body: UpdateStoreBody,
    responses: { 200: { description: 'The updated store', schema: StoreSchema }, 404: { description: 'No such store' }, 409: { description: 'Stale version' } },
    handler: ({ params, body, auth }) =>
      withTenant(pool, auth.tenantId, async (db) => {
        const store = await findStore(db, auth.tenantId, params.id);
        if (!store || !canActInStore(auth, store.id)) throw notFound('Store');
        if (auth.role !== 'owner' && (body.currency !== undefined || body.active !== undefined)) {
          throw forbidden('Only an owner changes a store currency or closes a store', 'role_forbidden');
        }
        const { version, ...changes } = body;
        const updated = await updateStore(db, auth.tenantId, store.id, version, changes);
        if (!updated) throw versionConflict(store.version);
        await writeEvent(db, { schema: SCHEMA, type: EVENTS.storeUpdated, tenantId: auth.tenantId, data: storeSnapshot(updated) });
        return storeView(updated);
      }),
  });

  table.add({
    method: 'delete',
    path: '/api/v1/stores/:id',
    summary: 'Close a store (deactivated, kept for history)',
    tags,
    roles: ['owner'],
    params: IdParams,
    responses: { 204: { description: 'Closed' }, 404: { description: 'No such store' } },
    handler: async ({ params, auth, res }) => {
      await withTenant(pool, auth.tenantId, async (db) => {
        const store = await findStore(db, auth.tenantId, params.id);
        if (!store) throw notFound('Store');
        if (!store.active) return;
        const updated = await updateStore(db, auth.tenantId, store.id, store.version, { active: false });
        if (!updated) throw versionConflict(store.version);
        await writeEvent(db, { schema: SCHEMA, type: EVENTS.storeUpdated, tenantId: auth.tenantId, data: storeSnapshot(updated) });
      });
      res.status(204).end();
    },
  });
}
