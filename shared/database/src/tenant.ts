import type { Pool, PoolClient } from './pool';
import { withTransaction } from './pool';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Runs fn in a transaction whose row-level-security tenant is `tenantId` (SET LOCAL, so the setting
 * dies with the transaction and never leaks to the next user of a pooled connection).
 */
export function withTenant<T>(pool: Pool, tenantId: string, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  if (!UUID.test(tenantId)) throw new TypeError('withTenant needs a tenant uuid');
  // BEGIN and the setting in one round trip (a simple-protocol query may hold both). Inlining the
  // value is safe only because it has just matched the uuid pattern above.
  return withTransaction(pool, fn, `BEGIN; SELECT set_config('app.tenant_id', '${tenantId.toLowerCase()}', true)`);
}
