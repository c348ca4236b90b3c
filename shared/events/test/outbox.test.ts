import { randomUUID } from 'node:crypto';
import { withTenant } from '@pos/database';
import { EVENTS } from '@pos/types';
import { runWithContext } from '@pos/utils';
import { InvalidEventError, writeEvent } from '@pos/events';
import { createTempSchema, type TempSchema } from '../../../scripts/test/temp-schema';
import { count } from './helpers';

describe('writeEvent', () => {
  let db: TempSchema;
  beforeAll(async () => {
    db = await createTempSchema();
  });
  afterAll(() => db.drop());

  it('when an event is written in a transaction, then the outbox holds its envelope with the context request id', async () => {
    const tenantId = randomUUID();
    const data = { storeId: randomUUID(), name: 'Main', currency: 'EUR', timezone: 'Europe/Berlin', taxInclusive: true, allowNegativeStock: false, active: true, version: 1 };
    const event = await runWithContext({ requestId: 'req-1', userId: 'user-7', role: 'manager' }, () =>
      withTenant(db.appPool, tenantId, (c) => writeEvent(c, { schema: db.schema, type: EVENTS.storeCreated, tenantId, data })),
    );
    expect(event).toMatchObject({ type: 'store.created', version: 1, tenantId, requestId: 'req-1', actorId: 'user-7', actorRole: 'manager', data });
    const { rows } = await db.adminPool.query(`SELECT id, tenant_id, type, envelope, published_at FROM ${db.schema}.outbox`);
    expect(rows).toEqual([{ id: event.id, tenant_id: tenantId, type: 'store.created', envelope: event, published_at: null }]);
  });

  it('when the data fails the event type schema, then writeEvent rejects it and writes nothing', async () => {
    const tenantId = randomUUID();
    const before = await count(db, 'SELECT count(*)::int AS n FROM {s}.outbox');
    await expect(
      withTenant(db.appPool, tenantId, (c) =>
        writeEvent(c, { schema: db.schema, type: EVENTS.storeCreated, tenantId, data: { storeId: 'not-a-uuid' } as never }),
      ),
    ).rejects.toBeInstanceOf(InvalidEventError);
    expect(await count(db, 'SELECT count(*)::int AS n FROM {s}.outbox')).toBe(before);
  });

  it('when the type is not an <entity>.<verb> name or the schema name is unsafe, then writeEvent rejects it', async () => {
    const tenantId = randomUUID();
    await expect(
      withTenant(db.appPool, tenantId, (c) => writeEvent(c, { schema: db.schema, type: 'SaleCompleted', tenantId, data: {} })),
    ).rejects.toBeInstanceOf(InvalidEventError);
    await expect(
      withTenant(db.appPool, tenantId, (c) => writeEvent(c, { schema: 'x; DROP TABLE y', type: 'a.b', tenantId, data: {} })),
    ).rejects.toThrow(TypeError);
  });
});
