import { execFileSync } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';

const ROOT = path.resolve(__dirname, '../..');

/**
 * Drops `database` (closing its connections) and creates it again with every service's migrations,
 * as the owner in `adminBase` (`postgres://user@host:port`, no database): for the benchmark's and the
 * fault suite's stacks, which each own a database of their own.
 */
export async function recreateDatabase(adminBase: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: `${adminBase}/postgres` });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/migrate.mjs'), '--quiet'], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, NODE_ENV: 'development', DATABASE_ADMIN_URL: `${adminBase}/${database}` },
  });
}
