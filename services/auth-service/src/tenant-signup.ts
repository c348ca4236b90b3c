import { randomUUID } from 'node:crypto';
import { EVENTS } from '@pos/types';
import { PG, pgCode, pgConstraint, withTenant, type Pool, type Queryable } from '@pos/database';
import { writeEvent } from '@pos/events';
import { conflict } from '@pos/utils';
import { SCHEMA } from './deps';
import type { SessionIssuer } from './sessions';
import { insertTenant } from './data/tenant-repository';
import { insertStore } from './data/store-repository';
import { insertUser } from './data/user-repository';
import { storeSnapshot, storeView, tenantView } from './data/rows';

export interface TenantSignup {
  tenantName: string;
  storeName: string;
  currency: string;
  timezone: string;
  taxInclusive: boolean;
  email: string;
  name: string;
  /** null for owners who log in through an OAuth provider only. */
  passwordHash: string | null;
}

/** Inserts the tenant, its first store and its owner, with their outbox events, in the caller's transaction. */
export async function createTenantWithOwner(db: Queryable, tenantId: string, s: TenantSignup) {
  const tenant = await insertTenant(db, { id: tenantId, name: s.tenantName });
  const store = await insertStore(db, tenantId, {
    name: s.storeName,
    currency: s.currency,
    timezone: s.timezone,
    taxInclusive: s.taxInclusive,
    allowNegativeStock: false,
  });
  // Self-registration always makes an owner: roles are assigned by the server only.
  const user = await insertUser(db, tenantId, { email: s.email, name: s.name, role: 'owner', storeIds: [store.id], passwordHash: s.passwordHash, pinHash: null });
  await writeEvent(db, { schema: SCHEMA, type: EVENTS.tenantRegistered, tenantId, data: { tenantId, name: tenant.name, ownerId: user.id, storeId: store.id } });
  await writeEvent(db, { schema: SCHEMA, type: EVENTS.storeCreated, tenantId, data: storeSnapshot(store) });
  return { tenant, store, user };
}

/** Registers a new tenant and logs its owner in (the register response); 409 when the email is taken. */
export async function signUpTenant(pool: Pool, sessions: SessionIssuer, s: TenantSignup) {
  const tenantId = randomUUID();
  try {
    return await withTenant(pool, tenantId, async (db) => {
      const { tenant, store, user } = await createTenantWithOwner(db, tenantId, s);
      const session = await sessions.issue(db, user, { storeScope: null });
      return { tenant: tenantView(tenant), store: storeView(store), ...session };
    });
  } catch (err) {
    if (pgCode(err) === PG.uniqueViolation && pgConstraint(err) === 'users_email_unique') {
      throw conflict('This email cannot be used to register; log in or reset the password instead', 'email_unavailable');
    }
    throw err;
  }
}
