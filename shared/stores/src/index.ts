import { EVENTS, StoreSnapshot, type EventEnvelope } from '@pos/types';
import { withTenant, type Pool, type Queryable } from '@pos/database';
import { notFound, serviceUnavailable } from '@pos/utils';

/*
 * Stores belong to auth-service. A service that needs store settings (currency, time zone, tax
 * inclusive, negative stock) keeps a `stores` table in its own schema, fed by store.created /
 * store.updated events; a store not yet projected is fetched once over the stores API with the
 * caller's token, which also proves the caller may see it. The table is created by the service's
 * migration with the columns below (see docs/database.md).
 */

export interface StoreRow {
  id: string;
  tenant_id: string;
  name: string;
  currency: string;
  timezone: string;
  tax_inclusive: boolean;
  allow_negative_stock: boolean;
  active: boolean;
  source_version: number;
}

export type StoreSnapshotInput = {
  storeId: string;
  name: string;
  currency: string;
  timezone: string;
  taxInclusive: boolean;
  allowNegativeStock: boolean;
  active: boolean;
  version: number;
};

const SCHEMA_NAME = /^[a-z_][a-z0-9_]*$/;
function table(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) throw new TypeError(`invalid schema name ${schema}`);
  return `${schema}.stores`;
}

/** Keeps the newest version seen, whichever arrives first (event or API fetch). */
export async function upsertStore(db: Queryable, schema: string, tenantId: string, s: StoreSnapshotInput): Promise<void> {
  await db.query(
    `INSERT INTO ${table(schema)} AS t (id, tenant_id, name, currency, timezone, tax_inclusive, allow_negative_stock, active, source_version)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, currency = EXCLUDED.currency, timezone = EXCLUDED.timezone,
       tax_inclusive = EXCLUDED.tax_inclusive, allow_negative_stock = EXCLUDED.allow_negative_stock, active = EXCLUDED.active,
       source_version = EXCLUDED.source_version, updated_at = now()
     WHERE t.source_version < EXCLUDED.source_version`,
    [s.storeId, tenantId, s.name, s.currency, s.timezone, s.taxInclusive, s.allowNegativeStock, s.active, s.version],
  );
}

export async function findStore(db: Queryable, schema: string, tenantId: string, id: string): Promise<StoreRow | undefined> {
  const { rows } = await db.query<StoreRow>(`SELECT * FROM ${table(schema)} WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
  return rows[0];
}

/** Event handlers for a consumer of auth-service's stream. */
export function storeEventHandlers(schema: string) {
  const project = async (event: EventEnvelope, db: Queryable) => upsertStore(db, schema, event.tenantId, StoreSnapshot.parse(event.data));
  return { [EVENTS.storeCreated]: project, [EVENTS.storeUpdated]: project };
}

export class StoreDirectory {
  constructor(
    private readonly pool: Pool,
    private readonly schema: string,
    private readonly authServiceUrl: string,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  /** The projected store, read in the caller's transaction; undefined when it is not projected (yet). */
  find(db: Queryable, tenantId: string, storeId: string): Promise<StoreRow | undefined> {
    return findStore(db, this.schema, tenantId, storeId);
  }

  /**
   * The store of the caller's tenant, or 404; 503 when it must be fetched and auth-service is down.
   * `projected` is what `find` gave in a transaction the caller had open anyway (saves one).
   */
  async get(tenantId: string, storeId: string, token: string, projected?: StoreRow): Promise<StoreRow> {
    const known = projected ?? (await withTenant(this.pool, tenantId, (db) => findStore(db, this.schema, tenantId, storeId)));
    if (known) {
      if (!known.active) throw notFound('Store');
      return known;
    }
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.authServiceUrl.replace(/\/+$/, '')}/api/v1/stores/${encodeURIComponent(storeId)}`, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(3_000),
      });
    } catch {
      throw serviceUnavailable('The store directory (auth-service) cannot be reached');
    }
    if (res.status === 404 || res.status === 403 || res.status === 400) throw notFound('Store');
    if (!res.ok) throw serviceUnavailable('The store directory (auth-service) did not answer');
    const s = (await res.json()) as { id: string; tenantId: string } & Omit<StoreSnapshotInput, 'storeId'>;
    if (s.tenantId !== tenantId || !s.active) throw notFound('Store');
    return withTenant(this.pool, tenantId, async (db) => {
      await upsertStore(db, this.schema, tenantId, { ...s, storeId: s.id });
      return (await findStore(db, this.schema, tenantId, storeId))!;
    });
  }
}
