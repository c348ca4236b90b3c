import { randomUUID } from 'node:crypto';
import type { Queryable } from '@pos/database';

export interface SubscriptionRow {
  id: string;
  tenant_id: string;
  user_id: string;
  device_id: string;
  endpoint: string;
  p256dh: string;
  auth: string;
  user_agent: string | null;
  created_at: Date;
  updated_at: Date;
}

/** The endpoint is a capability URL: only its origin is shown. */
export const subscriptionView = (s: SubscriptionRow) => ({
  id: s.id,
  userId: s.user_id,
  deviceId: s.device_id,
  endpointOrigin: new URL(s.endpoint).origin,
  userAgent: s.user_agent,
  createdAt: s.created_at.toISOString(),
  updatedAt: s.updated_at.toISOString(),
});

/**
 * One subscription per (user, device): registering again replaces it (browsers rotate endpoints and
 * keys). An endpoint registered by another user of the tenant before (a shared register) moves to
 * this user. Returns the row and whether it was new.
 */
export async function upsertSubscription(
  db: Queryable,
  tenantId: string,
  s: { userId: string; deviceId: string; endpoint: string; p256dh: string; auth: string; userAgent: string | null },
): Promise<{ row: SubscriptionRow; created: boolean }> {
  await db.query('DELETE FROM notifications.push_subscriptions WHERE tenant_id = $1 AND endpoint = $2 AND NOT (user_id = $3 AND device_id = $4)', [
    tenantId,
    s.endpoint,
    s.userId,
    s.deviceId,
  ]);
  const { rows } = await db.query<SubscriptionRow & { created: boolean }>(
    `INSERT INTO notifications.push_subscriptions (id, tenant_id, user_id, device_id, endpoint, p256dh, auth, user_agent)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (tenant_id, user_id, device_id) DO UPDATE
        SET endpoint = EXCLUDED.endpoint, p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth, user_agent = EXCLUDED.user_agent, updated_at = now()
     RETURNING *, (xmax = 0) AS created`,
    [randomUUID(), tenantId, s.userId, s.deviceId, s.endpoint, s.p256dh, s.auth, s.userAgent],
  );
  const { created, ...row } = rows[0]!;
  return { row, created };
}

export async function listSubscriptions(db: Queryable, tenantId: string, userId: string): Promise<SubscriptionRow[]> {
  const { rows } = await db.query<SubscriptionRow>('SELECT * FROM notifications.push_subscriptions WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at, id', [tenantId, userId]);
  return rows;
}

export async function countSubscriptions(db: Queryable, tenantId: string, userId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM notifications.push_subscriptions WHERE tenant_id = $1 AND user_id = $2', [tenantId, userId]);
  return rows[0]?.n ?? 0;
}

export async function deleteSubscription(db: Queryable, tenantId: string, id: string, userId?: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM notifications.push_subscriptions WHERE tenant_id = $1 AND id = $2 AND ($3::text IS NULL OR user_id = $3)', [
    tenantId,
    id,
    userId ?? null,
  ]);
  return rowCount === 1;
}
