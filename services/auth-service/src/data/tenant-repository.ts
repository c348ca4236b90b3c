import type { Queryable } from '@pos/database';
import type { TenantRow } from './rows';

export async function insertTenant(db: Queryable, t: { id: string; name: string }): Promise<TenantRow> {
  const { rows } = await db.query<TenantRow>('INSERT INTO auth.tenants (id, name) VALUES ($1, $2) RETURNING *', [t.id, t.name]);
  return rows[0]!;
}

export async function findTenant(db: Queryable, id: string): Promise<TenantRow | undefined> {
  const { rows } = await db.query<TenantRow>('SELECT * FROM auth.tenants WHERE id = $1', [id]);
  return rows[0];
}
