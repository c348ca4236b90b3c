// What the sweep looks at after it has sent its requests: every row of the sweep's tenants in
// every service schema (checksums, to prove nothing changed; text, to find card numbers and
// secrets), the events those rows become on the Redis streams, the MongoDB collections, and the
// captured log lines.
import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import { createPool, type Pool } from '@pos/database';
import { OutboxRelay } from '@pos/events';
import { containsCardNumber } from '@pos/utils';

export const SERVICE_SCHEMAS = ['auth', 'inventory', 'sales', 'payments', 'customers', 'notifications'] as const;

interface TenantTable {
  schema: string;
  table: string;
  /** Column that names the tenant: `tenant_id`, or `id` for the tenants table itself. */
  tenantColumn: string;
}

let tablesCache: Promise<TenantTable[]> | undefined;

/** Every table of the service schemas that holds tenant rows. */
export function tenantTables(admin: Pool): Promise<TenantTable[]> {
  tablesCache ??= admin
    .query<{ schema: string; table: string; has_tenant: boolean }>(
      `SELECT c.table_schema AS schema, c.table_name AS table, bool_or(c.column_name = 'tenant_id') AS has_tenant
         FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name)
        WHERE c.table_schema = ANY($1) AND t.table_type = 'BASE TABLE'
        GROUP BY 1, 2 ORDER BY 1, 2`,
      [SERVICE_SCHEMAS],
    )
    .then(({ rows }) =>
      rows.flatMap((r) => (r.has_tenant ? [{ schema: r.schema, table: r.table, tenantColumn: 'tenant_id' }] : r.schema === 'auth' && r.table === 'tenants' ? [{ schema: r.schema, table: r.table, tenantColumn: 'id' }] : [])),
    );
  return tablesCache;
}

/** One tenant's rows: per table, each row's content hash and the transaction that last wrote it. */
export interface TenantSnapshot {
  rows: Map<string, { table: string; hash: string; xmin: string }>;
  tables: number;
}

/**
 * Every row of a tenant in every table of the service schemas. Rows are keyed by `id` (or, without
 * one, by content); `published_at` of outbox rows and the inbox tables are left out: they record
 * event delivery, which relays and consumers of other test files may do at any time.
 */
export async function tenantSnapshot(admin: Pool, tenantId: string): Promise<TenantSnapshot> {
  const rows: TenantSnapshot['rows'] = new Map();
  const tables = (await tenantTables(admin)).filter((t) => t.table !== 'inbox');
  for (const t of tables) {
    const { rows: found } = await admin.query<{ xmin: string; hash: string; id: string | null }>(
      `SELECT x.xmin::text AS xmin, md5((to_jsonb(x) - 'published_at')::text) AS hash, to_jsonb(x)->>'id' AS id FROM ${t.schema}.${t.table} x WHERE ${t.tenantColumn} = $1`,
      [tenantId],
    );
    const table = `${t.schema}.${t.table}`;
    for (const r of found) rows.set(`${table}#${r.id ?? r.hash}`, { table, hash: r.hash, xmin: r.xmin });
  }
  return { rows, tables: tables.length };
}

/** Transactions that handled an event for the tenant (a consumer writes its inbox row with its effect). */
async function eventTransactions(admin: Pool, tenantId: string): Promise<Set<string>> {
  const inboxes = (await tenantTables(admin)).filter((t) => t.table === 'inbox');
  const xmins = new Set<string>();
  for (const t of inboxes) {
    const { rows } = await admin.query<{ xmin: string }>(`SELECT x.xmin::text AS xmin FROM ${t.schema}.${t.table} x WHERE tenant_id = $1`, [tenantId]);
    for (const r of rows) xmins.add(r.xmin);
  }
  return xmins;
}

/**
 * Rows of the tenant inserted, changed or deleted since `before`, except those written by an event
 * consumer (the same transaction wrote an inbox row): the system's own event processing may update
 * projections of the tenant at any time; a request of another tenant may not change anything.
 */
export async function unexplainedChanges(admin: Pool, tenantId: string, before: TenantSnapshot): Promise<{ unexplained: string[]; byEvents: number }> {
  const after = await tenantSnapshot(admin, tenantId);
  const byEvents = await eventTransactions(admin, tenantId);
  const changes: string[] = [];
  const eventTables = new Set<string>();
  let explained = 0;
  for (const [key, row] of after.rows) {
    const old = before.rows.get(key);
    if (old && old.hash === row.hash) continue;
    if (byEvents.has(row.xmin)) {
      eventTables.add(row.table);
      explained += 1;
      continue;
    }
    changes.push(`${old ? 'changed' : 'inserted'}: ${key}`);
  }
  for (const [key, row] of before.rows) {
    // A row without an id that an event consumer rewrote shows up as deleted and inserted.
    if (!after.rows.has(key) && !(key.endsWith(row.hash) && eventTables.has(row.table))) changes.push(`deleted: ${key}`);
  }
  return { unexplained: changes, byEvents: explained };
}

export interface Hit {
  where: string;
  what: string;
  excerpt: string;
}

export interface Needles {
  /** Literal secrets (passwords, tokens, client secrets). */
  secrets: string[];
}

function findIn(text: string, needles: Needles, where: string): Hit[] {
  const hits: Hit[] = [];
  if (containsCardNumber(text)) {
    const m = /\b(?:\d[ -]?){13,19}\b/.exec(text);
    hits.push({ where, what: 'card number', excerpt: m ? text.slice(Math.max(0, m.index - 60), m.index + 80) : text.slice(0, 140) });
  }
  for (const secret of needles.secrets) {
    const i = text.indexOf(secret);
    if (i >= 0) hits.push({ where, what: `secret ${secret.slice(0, 6)}…`, excerpt: text.slice(Math.max(0, i - 60), i + 20).replace(secret, '<SECRET>') });
  }
  return hits;
}

export interface ScanReport {
  rows: number;
  hits: Hit[];
}

/** Every row of the tenants, as text (all text, json and array columns included). */
export async function scanDatabase(admin: Pool, tenantIds: string[], needles: Needles): Promise<ScanReport> {
  let count = 0;
  const hits: Hit[] = [];
  for (const t of await tenantTables(admin)) {
    const { rows } = await admin.query<{ row: string }>(`SELECT x::text AS row FROM ${t.schema}.${t.table} x WHERE ${t.tenantColumn} = ANY($1::uuid[])`, [tenantIds]);
    count += rows.length;
    for (const r of rows) hits.push(...findIn(r.row, needles, `${t.schema}.${t.table}`));
  }
  return { rows: count, hits };
}

/**
 * Publishes the tenants' outbox rows with the real OutboxRelay, to streams of a prefix of the
 * sweep's own, and scans what landed there (XRANGE). The relay reads through a connection that
 * row-level security limits to one tenant, so rows of other test files are never touched; that
 * needs FORCE'd RLS on every outbox, which is checked first.
 */
export async function relayAndScanStreams(admin: Pool, redisUrl: string, tenantIds: string[], needles: Needles, prefix: string): Promise<ScanReport & { streams: string[] }> {
  const { rows: rls } = await admin.query<{ schema: string; forced: boolean }>(
    `SELECT n.nspname AS schema, c.relrowsecurity AND c.relforcerowsecurity AS forced
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = 'outbox' AND n.nspname = ANY($1)`,
    [SERVICE_SCHEMAS],
  );
  const notForced = rls.filter((r) => !r.forced).map((r) => r.schema);
  if (notForced.length) throw new Error(`outbox without forced row-level security in ${notForced.join(', ')}: the sweep cannot relay only its own tenants' rows`);
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
  const hits: Hit[] = [];
  let entries = 0;
  const streams = new Set<string>();
  try {
    for (const tenantId of tenantIds) {
      // pos_app is neither owner nor BYPASSRLS: with app.tenant_id set it sees this tenant's rows only.
      const url = new URL(process.env.DATABASE_URL!);
      url.searchParams.set('options', `-c app.tenant_id=${tenantId}`);
      const pool = createPool({ connectionString: url.toString(), max: 1 });
      try {
        for (const schema of rls.map((r) => r.schema)) {
          const relay = new OutboxRelay({ pool, redis, schema, service: `${schema}-sweep`, streamPrefix: prefix, batchSize: 500 });
          while ((await relay.publishPending()) > 0) streams.add(relay.stream);
        }
      } finally {
        await pool.end();
      }
    }
    const keys = [...new Set([...streams, ...(await redis.keys(`${prefix}:events:*`))])].sort();
    for (const key of keys) {
      const list = (await redis.xrange(key, '-', '+')) as Array<[string, string[]]>;
      for (const [id, fields] of list) {
        entries += 1;
        hits.push(...findIn(fields.join(' '), needles, `${key} ${id}`));
      }
    }
    // The shared streams too (relays of `npm start` or other suites): only entries of the sweep's tenants.
    for (const key of await redis.keys('pos:events:*')) {
      if ((await redis.type(key)) !== 'stream') continue;
      const list = (await redis.xrange(key, '-', '+')) as Array<[string, string[]]>;
      for (const [id, fields] of list) {
        const text = fields.join(' ');
        if (!tenantIds.some((t) => text.includes(t))) continue;
        entries += 1;
        hits.push(...findIn(text, needles, `${key} ${id}`));
      }
    }
    return { rows: entries, hits, streams: keys };
  } finally {
    const own = await redis.keys(`${prefix}:*`);
    if (own.length) await redis.del(...own);
    await redis.quit();
  }
}

/** Documents of the tenants in every collection of the test MongoDB (audit trail, analytics, usage). */
export async function scanMongo(tenantIds: string[], needles: Needles): Promise<ScanReport & { collections: number }> {
  const uri = process.env.MONGODB_URI;
  if (!uri) return { rows: 0, hits: [], collections: 0 };
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 3_000 });
  const hits: Hit[] = [];
  let docs = 0;
  let collections = 0;
  try {
    const db = client.db(process.env.MONGODB_DB);
    for (const c of await db.listCollections().toArray()) {
      collections += 1;
      const found = await db
        .collection(c.name)
        .find({ tenantId: { $in: tenantIds } })
        .toArray();
      for (const doc of found) {
        docs += 1;
        hits.push(...findIn(JSON.stringify(doc), needles, `mongo ${c.name}`));
      }
    }
  } finally {
    await client.close();
  }
  return { rows: docs, hits, collections };
}

export function scanLogs(lines: readonly string[], needles: Needles): ScanReport {
  return { rows: lines.length, hits: lines.flatMap((line, i) => findIn(line, needles, `log line ${i}`)) };
}
