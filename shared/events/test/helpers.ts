import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { withTenant } from '@pos/database';
import { writeEvent } from '@pos/events';
import type { TempSchema } from '../../../scripts/test/temp-schema';

export const EFFECTS_SQL = `CREATE TABLE effects (event_id uuid NOT NULL, tenant_id uuid NOT NULL, handled_by text NOT NULL);`;

export function uniquePrefix(): string {
  return `test-${randomBytes(5).toString('hex')}`;
}

export function newRedis(): Redis {
  return new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: 2 });
}

/** Deletes every key under the test's prefix. */
export async function cleanRedis(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function count(db: TempSchema, sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await db.adminPool.query<{ n: number }>(sql.replace('{s}', db.schema), params);
  return rows[0]!.n;
}

/** Writes one test event in its own committed transaction, as the app role of the producer. */
export async function produce(db: TempSchema, tenantId = randomUUID(), data: Record<string, unknown> = {}) {
  return withTenant(db.appPool, tenantId, (client) => writeEvent(client, { schema: db.schema, type: 'test.happened', tenantId, data }));
}
