import { randomUUID } from 'node:crypto';
import { withTenant } from '@pos/database';
import { createTempSchema, type TempSchema } from '../../../scripts/test/temp-schema';

describe('withTenant and row-level security', () => {
  let db: TempSchema;
  beforeAll(async () => {
    db = await createTempSchema();
  });
  afterAll(() => db.drop());

  it('when two tenants write rows, then each sees only its own, and the setting does not outlive the transaction', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    for (const tenant of [a, b]) {
      await withTenant(db.appPool, tenant, (c) =>
        c.query(`INSERT INTO ${db.schema}.inbox (consumer, event_id, tenant_id, type) VALUES ('t', $1, $2, 'x.y')`, [randomUUID(), tenant]),
      );
    }
    const seenByA = await withTenant(db.appPool, a, (c) => c.query(`SELECT tenant_id FROM ${db.schema}.inbox`));
    expect(seenByA.rows).toEqual([{ tenant_id: a }]);
    const outside = await db.appPool.query(`SELECT count(*)::int AS n FROM ${db.schema}.inbox`);
    expect(outside.rows[0].n).toBe(0);
  });

  it('when a tenant tries to write a row for another tenant, then the policy refuses it', async () => {
    await expect(
      withTenant(db.appPool, randomUUID(), (c) =>
        c.query(`INSERT INTO ${db.schema}.inbox (consumer, event_id, tenant_id, type) VALUES ('t', $1, $2, 'x.y')`, [randomUUID(), randomUUID()]),
      ),
    ).rejects.toThrow(/row-level security/);
  });

  it('when the tenant id is not a uuid, then withTenant refuses before touching the database', () => {
    expect(() => withTenant(db.appPool, "x' OR 1=1", async () => 1)).toThrow(TypeError);
  });
});
