import { randomUUID } from 'node:crypto';
import type { Queryable } from '@pos/database';
import type { UserRow } from './rows';

export interface NewUser {
  email: string;
  name: string;
  role: UserRow['role'];
  storeIds: string[];
  passwordHash: string | null;
  pinHash: string | null;
}

export async function insertUser(db: Queryable, tenantId: string, u: NewUser, id = randomUUID()): Promise<UserRow> {
  const { rows } = await db.query<UserRow>(
    `INSERT INTO auth.users (id, tenant_id, email, name, role, store_ids, password_hash, pin_hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
    [id, tenantId, u.email, u.name, u.role, u.storeIds, u.passwordHash, u.pinHash],
  );
  return rows[0]!;
}

export async function findUser(db: Queryable, tenantId: string, id: string, forUpdate = false): Promise<UserRow | undefined> {
  const { rows } = await db.query<UserRow>(`SELECT * FROM auth.users WHERE tenant_id = $1 AND id = $2${forUpdate ? ' FOR UPDATE' : ''}`, [tenantId, id]);
  return rows[0];
}

export async function findUserByEmail(db: Queryable, tenantId: string, email: string, forUpdate = false): Promise<UserRow | undefined> {
  const { rows } = await db.query<UserRow>(
    `SELECT * FROM auth.users WHERE tenant_id = $1 AND lower(email) = lower($2)${forUpdate ? ' FOR UPDATE' : ''}`,
    [tenantId, email],
  );
  return rows[0];
}

/** Cross-tenant point lookup for login (SECURITY DEFINER function): ids only. */
export async function findLogin(db: Queryable, email: string): Promise<{ user_id: string; tenant_id: string } | undefined> {
  const { rows } = await db.query<{ user_id: string; tenant_id: string }>('SELECT * FROM auth.find_login($1)', [email]);
  return rows[0];
}

export async function listUsers(
  db: Queryable,
  tenantId: string,
  opts: { limit: number; after?: { createdAt: string; id: string }; storeIds?: string[]; role?: string; active?: boolean; includeUserId?: string },
): Promise<UserRow[]> {
  const { rows } = await db.query<UserRow>(
    `SELECT * FROM auth.users
      WHERE tenant_id = $1
        AND ($2::timestamptz IS NULL OR (created_at, id) > ($2::timestamptz, $3::uuid))
        AND ($4::uuid[] IS NULL OR store_ids && $4 OR id = $7::uuid)
        AND ($5::text IS NULL OR role = $5)
        AND ($6::boolean IS NULL OR active = $6)
      ORDER BY created_at, id LIMIT $8`,
    [tenantId, opts.after?.createdAt ?? null, opts.after?.id ?? null, opts.storeIds ?? null, opts.role ?? null, opts.active ?? null, opts.includeUserId ?? null, opts.limit],
  );
  return rows;
}

const USER_COLUMNS: Record<string, string> = {
  name: 'name',
  role: 'role',
  storeIds: 'store_ids',
  active: 'active',
  passwordHash: 'password_hash',
  pinHash: 'pin_hash',
};

export async function updateUser(db: Queryable, tenantId: string, id: string, version: number, changes: Record<string, unknown>): Promise<UserRow | undefined> {
  const sets: string[] = [];
  const values: unknown[] = [tenantId, id, version];
  for (const [field, value] of Object.entries(changes)) {
    const column = USER_COLUMNS[field];
    if (!column || value === undefined) continue;
    values.push(value);
    sets.push(`${column} = $${values.length}`);
  }
  const { rows } = await db.query<UserRow>(
    `UPDATE auth.users SET ${[...sets, 'version = version + 1', 'updated_at = now()'].join(', ')}
      WHERE tenant_id = $1 AND id = $2 AND version = $3 RETURNING *`,
    values,
  );
  return rows[0];
}

export async function recordLoginState(
  db: Queryable,
  id: string,
  state: { failedLogins?: number; lockedUntil?: Date | null; failedPins?: number; pinLockedUntil?: Date | null; loggedIn?: boolean },
): Promise<void> {
  await db.query(
    `UPDATE auth.users SET
        failed_logins = COALESCE($2, failed_logins),
        locked_until = CASE WHEN $3::boolean THEN $4::timestamptz ELSE locked_until END,
        failed_pins = COALESCE($5, failed_pins),
        pin_locked_until = CASE WHEN $6::boolean THEN $7::timestamptz ELSE pin_locked_until END,
        last_login_at = CASE WHEN $8 THEN now() ELSE last_login_at END
      WHERE id = $1`,
    [
      id,
      state.failedLogins ?? null,
      state.lockedUntil !== undefined,
      state.lockedUntil ?? null,
      state.failedPins ?? null,
      state.pinLockedUntil !== undefined,
      state.pinLockedUntil ?? null,
      state.loggedIn ?? false,
    ],
  );
}
