import pg from 'pg';

// bigint (int8) and numeric (sum of bigint) come back as strings by default; money is bigint minor
// units, so parse them to numbers and refuse values that a JS number cannot hold exactly.
function parseSafeInteger(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) {
    if (Number.isFinite(n) && !/^-?\d+$/.test(text)) return n; // a non-integral numeric (e.g. avg)
    throw new RangeError(`integer ${text} exceeds the safe range`);
  }
  return n;
}
pg.types.setTypeParser(pg.types.builtins.INT8, parseSafeInteger);
pg.types.setTypeParser(pg.types.builtins.NUMERIC, parseSafeInteger);

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
export type Queryable = Pick<pg.PoolClient, 'query'>;

export interface PoolOptions {
  connectionString: string;
  max?: number;
  applicationName?: string;
  /** Upper bound for any one statement, so a stuck query cannot hold a request forever. */
  statementTimeoutMs?: number;
}

/** DB_POOL_MAX caps every pool of the process (tests run many services in one process). */
const poolCap = Number(process.env.DB_POOL_MAX) || Infinity;

export function createPool({ connectionString, max = 10, applicationName, statementTimeoutMs = 10_000 }: PoolOptions): Pool {
  const pool = new pg.Pool({
    connectionString,
    max: Math.min(max, poolCap),
    application_name: applicationName,
    statement_timeout: statementTimeoutMs,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its connection must not crash the process; the next checkout reconnects.
  pool.on('error', () => undefined);
  return pool;
}

/** `begin` may set transaction-local settings along with BEGIN (one round trip; see withTenant). */
export async function withTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query(begin);
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

export async function pingDatabase(pool: Pool): Promise<void> {
  await pool.query('SELECT 1');
}
