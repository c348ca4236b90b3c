// Test support for the shared packages: a throw-away schema holding the platform tables (outbox,
// inbox, idempotency_keys) created from the real platform migration, granted to the runtime roles.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createPool, type Pool } from '@pos/database';

export interface TempSchema {
  schema: string;
  /** Connects as the non-owner app role (row-level security applies). */
  appPool: Pool;
  /** Connects as the BYPASSRLS worker role (relays, sweeps). */
  workerPool: Pool;
  /** Connects as the owner (superuser here); for assertions only. */
  adminPool: Pool;
  drop(): Promise<void>;
}

const platformSql = () => {
  const file = path.join(__dirname, '../../shared/database/migrations/1764140000000_platform-tables.sql');
  const text = readFileSync(file, 'utf8');
  return text.split('-- Up Migration')[1]!.split('-- Down Migration')[0]!;
};

export async function createTempSchema(extraSql = ''): Promise<TempSchema> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const adminPool = createPool({ connectionString: process.env.DATABASE_ADMIN_URL!, max: 2 });
  const client = await adminPool.connect();
  try {
    await client.query(`CREATE SCHEMA ${schema}`);
    await client.query(`SET search_path TO ${schema}`);
    await client.query(platformSql());
    if (extraSql) await client.query(extraSql);
    await client.query(`
      GRANT USAGE ON SCHEMA ${schema} TO pos_app, pos_worker;
      GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${schema} TO pos_app, pos_worker;
      GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${schema} TO pos_app, pos_worker;`);
  } finally {
    client.release();
  }
  const appPool = createPool({ connectionString: process.env.DATABASE_URL!, max: 10 });
  const workerPool = createPool({ connectionString: process.env.WORKER_DATABASE_URL!, max: 5 });
  return {
    schema,
    appPool,
    workerPool,
    adminPool,
    async drop() {
      await appPool.end();
      await workerPool.end();
      await adminPool.query(`DROP SCHEMA ${schema} CASCADE`);
      await adminPool.end();
    },
  };
}
