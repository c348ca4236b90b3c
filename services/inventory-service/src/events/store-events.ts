import { EVENTS, StoreSnapshot } from '@pos/types';
import type { EventEnvelope } from '@pos/types';
import type { PoolClient } from '@pos/database';
import { upsertStore } from '../data/store-repository';

/** Keeps inventory's projection of the stores (negative-stock policy, currency) from auth-service's events. */
async function projectStore(event: EventEnvelope, db: PoolClient): Promise<void> {
  const store = StoreSnapshot.parse(event.data);
  await upsertStore(db, event.tenantId, store);
}

export const storeEventHandlers = {
  [EVENTS.storeCreated]: projectStore,
  [EVENTS.storeUpdated]: projectStore,
};
