import { randomUUID } from 'node:crypto';
import { EVENTS } from '@pos/types';
import { createPool, withTenant } from '@pos/database';
import { writeEvent } from '@pos/events';
import { createPasswordHasher } from './domain/passwords';
import { insertTenant } from './data/tenant-repository';
import { insertStore } from './data/store-repository';
import { insertUser } from './data/user-repository';
import { SCHEMA } from './deps';
import { storeSnapshot, type StoreRow } from './data/rows';

/** Demo logins for a local `npm start`; never created in production unless asked for. */
export const DEMO = {
  password: 'demo-password-123',
  owner: 'owner@demo.pos',
  manager: 'manager@demo.pos',
  cashier: 'cashier@demo.pos',
  cashierPin: '1234',
} as const;

export interface SeedContext {
  tenantId?: string;
  storeIds?: string[];
  /** The demo stores as their store events describe them (other services project them). */
  stores?: ReturnType<typeof storeSnapshot>[];
  users?: Record<string, string>;
  created: boolean;
}

/** Seeds a demo tenant (owner, manager, cashier with a PIN, two stores) when no tenant exists yet. */
export async function seed(ctx: SeedContext, databaseUrl: string): Promise<SeedContext> {
  const pool = createPool({ connectionString: databaseUrl, max: 2 });
  try {
    const lookup = await pool.query('SELECT * FROM auth.find_login($1)', [DEMO.owner]);
    if (lookup.rows[0]) {
      const tenantId = lookup.rows[0].tenant_id as string;
      const stores = await withTenant(pool, tenantId, (db) => db.query<StoreRow>('SELECT * FROM auth.stores ORDER BY created_at, id'));
      return { ...ctx, tenantId, storeIds: stores.rows.map((r) => r.id), stores: stores.rows.map(storeSnapshot), created: false };
    }
    const hasher = createPasswordHasher(19456);
    const [passwordHash, pinHash] = await Promise.all([hasher.hash(DEMO.password), hasher.hash(DEMO.cashierPin)]);
    const tenantId = randomUUID();
    return await withTenant(pool, tenantId, async (db) => {
      await insertTenant(db, { id: tenantId, name: 'Demo Retail Co.' });
      const main = await insertStore(db, tenantId, { name: 'Downtown', currency: 'USD', timezone: 'America/New_York', taxInclusive: false, allowNegativeStock: false });
      const mall = await insertStore(db, tenantId, { name: 'Mall Kiosk', currency: 'USD', timezone: 'America/New_York', taxInclusive: false, allowNegativeStock: true });
      const owner = await insertUser(db, tenantId, { email: DEMO.owner, name: 'Olivia Owner', role: 'owner', storeIds: [main.id, mall.id], passwordHash, pinHash: null });
      const manager = await insertUser(db, tenantId, { email: DEMO.manager, name: 'Mark Manager', role: 'manager', storeIds: [main.id, mall.id], passwordHash, pinHash: null });
      const cashier = await insertUser(db, tenantId, { email: DEMO.cashier, name: 'Casey Cashier', role: 'cashier', storeIds: [main.id], passwordHash, pinHash });
      await writeEvent(db, { schema: SCHEMA, type: EVENTS.tenantRegistered, tenantId, data: { tenantId, name: 'Demo Retail Co.', ownerId: owner.id, storeId: main.id } });
      for (const s of [main, mall]) {
        await writeEvent(db, { schema: SCHEMA, type: EVENTS.storeCreated, tenantId, data: storeSnapshot(s) });
      }
      return { ...ctx, tenantId, storeIds: [main.id, mall.id], stores: [main, mall].map(storeSnapshot), users: { owner: owner.id, manager: manager.id, cashier: cashier.id }, created: true };
    });
  } finally {
    await pool.end();
  }
}
