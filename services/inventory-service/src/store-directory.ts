import { withTenant, type Pool } from '@pos/database';
import { notFound, serviceUnavailable } from '@pos/utils';
import { findStore, upsertStore, type StoreRow } from './data/store-repository';

/**
 * Stores are owned by auth-service; inventory keeps a projection fed by store events. A store not
 * yet projected (its event is still on the way) is fetched once from auth-service with the
 * caller's own token, which also proves the caller may see it.
 */
export class StoreDirectory {
  constructor(
    private readonly pool: Pool,
    private readonly authServiceUrl: string,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  async get(tenantId: string, storeId: string, token: string): Promise<StoreRow> {
    const known = await withTenant(this.pool, tenantId, (db) => findStore(db, tenantId, storeId));
    if (known) {
      if (!known.active) throw notFound('Store');
      return known;
    }
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.authServiceUrl}/api/v1/stores/${encodeURIComponent(storeId)}`, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(3_000),
      });
    } catch {
      throw serviceUnavailable('The store directory (auth-service) cannot be reached');
    }
    if (res.status === 404 || res.status === 403 || res.status === 400) throw notFound('Store');
    if (!res.ok) throw serviceUnavailable('The store directory (auth-service) did not answer');
    const s = (await res.json()) as { id: string; tenantId: string; name: string; currency: string; allowNegativeStock: boolean; active: boolean; version: number };
    if (s.tenantId !== tenantId || !s.active) throw notFound('Store');
    return withTenant(this.pool, tenantId, async (db) => {
      await upsertStore(db, tenantId, { storeId: s.id, name: s.name, currency: s.currency, allowNegativeStock: s.allowNegativeStock, active: s.active, version: s.version });
      return (await findStore(db, tenantId, storeId))!;
    });
  }
}
