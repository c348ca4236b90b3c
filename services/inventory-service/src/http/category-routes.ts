import { ListQuerySchema } from '@pos/types';
import { decodeCursor, pageOf, PG, pgCode, type Queryable, withTenant } from '@pos/database';
import type { RouteTable } from '@pos/http';
import { badRequest, conflict, notFound, versionConflict } from '@pos/utils';
import type { InventoryDeps } from '../deps';
import { categoryView, deleteCategory, findCategory, insertCategory, listCategories, updateCategory } from '../data/category-repository';
import { CategoryList, CategorySchema, CreateCategoryBody, IdParams, UpdateCategoryBody } from './schemas';

const tags = ['categories'];

function nameTaken(err: unknown): never {
  if (pgCode(err) === PG.uniqueViolation) throw conflict('A category with this name already exists', 'category_name_taken');
  throw err;
}

async function assertParent(db: Queryable, tenantId: string, parentId: string | null | undefined, selfId?: string): Promise<void> {
  if (!parentId) return;
  if (parentId === selfId || !(await findCategory(db, tenantId, parentId))) {
    throw badRequest('The parent category is not valid', [{ path: 'parentId', message: parentId === selfId ? 'cannot be the category itself' : 'is not a category of this tenant' }]);
  }
}

export function categoryRoutes(table: RouteTable, deps: InventoryDeps): void {
  const { pool } = deps;

  table.add({
    method: 'get',
    path: '/api/v1/categories',
    summary: 'List categories',
    tags,
    roles: ['owner', 'manager', 'cashier', 'service'],
    query: ListQuerySchema,
    responses: { 200: { description: 'A page of categories', schema: CategoryList } },
    handler: async ({ query, auth }) => {
      const after = decodeCursor(query.cursor, ['createdAt', 'id'] as const);
      const rows = await withTenant(pool, auth.tenantId, (db) => listCategories(db, auth.tenantId, query.limit + 1, after));
      const { page, nextCursor } = pageOf(rows, query.limit, (last) => ({ createdAt: last.created_at.toISOString(), id: last.id }));
      return { data: page.map(categoryView), nextCursor };
    },
  });

  table.add({
    method: 'post',
    path: '/api/v1/categories',
    summary: 'Create a category',
    tags,
    roles: ['owner', 'manager'],
    body: CreateCategoryBody,
    responses: { 201: { description: 'The category', schema: CategorySchema }, 409: { description: 'Name taken' } },
    handler: ({ body, auth }) =>
      withTenant(pool, auth.tenantId, async (db) => {
        await assertParent(db, auth.tenantId, body.parentId);
        return categoryView(await insertCategory(db, auth.tenantId, body));
      }).catch(nameTaken),
  });

  table.add({
    method: 'patch',
    path: '/api/v1/categories/:id',
    summary: 'Rename or move a category (version checked)',
    tags,
    roles: ['owner', 'manager'],
    params: IdParams,
    body: UpdateCategoryBody,
    responses: { 200: { description: 'The category', schema: CategorySchema }, 404: { description: 'No such category' }, 409: { description: 'Stale version or name taken' } },
    handler: ({ params, body, auth }) =>
      withTenant(pool, auth.tenantId, async (db) => {
        const current = await findCategory(db, auth.tenantId, params.id);
        if (!current) throw notFound('Category');
        await assertParent(db, auth.tenantId, body.parentId, current.id);
        const updated = await updateCategory(db, auth.tenantId, current.id, body.version, body);
        if (!updated) throw versionConflict(current.version);
        return categoryView(updated);
      }).catch(nameTaken),
  });

  table.add({
    method: 'delete',
    path: '/api/v1/categories/:id',
    summary: 'Delete a category',
    tags,
    roles: ['owner', 'manager'],
    params: IdParams,
    responses: { 204: { description: 'Deleted' }, 404: { description: 'No such category' } },
    handler: async ({ params, auth, res }) => {
      const deleted = await withTenant(pool, auth.tenantId, (db) => deleteCategory(db, auth.tenantId, params.id));
      if (!deleted) throw notFound('Category');
      res.status(204).end();
    },
  });
}
