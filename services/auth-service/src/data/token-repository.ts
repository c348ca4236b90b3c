import type { Queryable } from '@pos/database';

export interface RefreshTokenRow {
  id: string;
  tenant_id: string;
  user_id: string;
  family_id: string;
  token_hash: string;
  store_scope: string[] | null;
  expires_at: Date;
  rotated_at: Date | null;
  grace_pair: string | null;
  grace_used_at: Date | null;
  revoked_at: Date | null;
}

export async function insertRefreshToken(
  db: Queryable,
  t: { id: string; tenantId: string; userId: string; familyId: string; tokenHash: string; storeScope: string[] | null; expiresAt: Date },
): Promise<void> {
  await db.query(
    `INSERT INTO auth.refresh_tokens (id, tenant_id, user_id, family_id, token_hash, store_scope, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [t.id, t.tenantId, t.userId, t.familyId, t.tokenHash, t.storeScope, t.expiresAt],
  );
}

export async function refreshTokenTenant(db: Queryable, tokenHash: string): Promise<string | undefined> {
  const { rows } = await db.query<{ t: string | null }>('SELECT auth.find_refresh_token_tenant($1) AS t', [tokenHash]);
  return rows[0]?.t ?? undefined;
}

export async function findRefreshTokenForUpdate(db: Queryable, tokenHash: string): Promise<RefreshTokenRow | undefined> {
  const { rows } = await db.query<RefreshTokenRow>('SELECT * FROM auth.refresh_tokens WHERE token_hash = $1 FOR UPDATE', [tokenHash]);
  return rows[0];
}

export async function markRotated(db: Queryable, id: string, gracePair: string | null): Promise<void> {
  await db.query('UPDATE auth.refresh_tokens SET rotated_at = now(), grace_pair = $2 WHERE id = $1', [id, gracePair]);
}

export async function markGraceUsed(db: Queryable, id: string): Promise<void> {
  await db.query('UPDATE auth.refresh_tokens SET grace_used_at = now(), grace_pair = NULL WHERE id = $1', [id]);
}

export async function revokeFamily(db: Queryable, familyId: string): Promise<void> {
  await db.query('UPDATE auth.refresh_tokens SET revoked_at = now(), grace_pair = NULL WHERE family_id = $1 AND revoked_at IS NULL', [familyId]);
}

export async function revokeAllForUser(db: Queryable, userId: string): Promise<void> {
  await db.query('UPDATE auth.refresh_tokens SET revoked_at = now(), grace_pair = NULL WHERE user_id = $1 AND revoked_at IS NULL', [userId]);
}

export async function insertCredentialToken(
  db: Queryable,
  t: { id: string; tenantId: string; userId: string; purpose: 'invite' | 'password_reset'; tokenHash: string; expiresAt: Date },
): Promise<void> {
  await db.query(
    'INSERT INTO auth.credential_tokens (id, tenant_id, user_id, purpose, token_hash, expires_at) VALUES ($1, $2, $3, $4, $5, $6)',
    [t.id, t.tenantId, t.userId, t.purpose, t.tokenHash, t.expiresAt],
  );
}

export async function credentialTokenTenant(db: Queryable, tokenHash: string): Promise<string | undefined> {
  const { rows } = await db.query<{ t: string | null }>('SELECT auth.find_credential_token_tenant($1) AS t', [tokenHash]);
  return rows[0]?.t ?? undefined;
}

/** Marks the token used if it is still valid; returns its user. Single use by construction. */
export async function consumeCredentialToken(db: Queryable, tokenHash: string): Promise<{ user_id: string } | undefined> {
  const { rows } = await db.query<{ user_id: string }>(
    `UPDATE auth.credential_tokens SET used_at = now()
      WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now() RETURNING user_id`,
    [tokenHash],
  );
  return rows[0];
}
