// docs/database.md against the real, migrated database: reads each service schema's tables,
// columns, indexes and row-level security from the Postgres catalog, renders them as the markdown
// the doc uses, and parses the doc back, so a test can say what is missing or stale.
//
// Print the reference for the current migrations (e.g. to paste a new table's section):
//   npx tsx infrastructure/test/support/database-doc.ts [postgres://postgres@127.0.0.1:5432/pos_test]
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';

export interface Column {
  name: string;
  type: string;
  nullable: boolean;
  default: string | null;
}
export interface Index {
  name: string;
  definition: string;
}
export interface Table {
  schema: string;
  name: string;
  columns: Column[];
  indexes: Index[];
  rls: 'forced' | 'enabled' | 'off';
}

/** Tables created by shared/database/migrations in every service schema (documented once, as `*.<table>`). */
export function platformTables(root: string): string[] {
  const dir = path.join(root, 'shared/database/migrations');
  const names = new Set<string>(['pgmigrations']);
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.sql'))) {
    const up = readFileSync(path.join(dir, f), 'utf8').split('-- Down Migration')[0]!;
    for (const m of up.matchAll(/CREATE TABLE (?:IF NOT EXISTS )?([a-z_][a-z0-9_]*)/gi)) names.add(m[1]!);
  }
  return [...names];
}

/** The "pos.schema" of every services/<name>/package.json (the CLI does not load the test support). */
export function serviceSchemas(root: string): string[] {
  const dir = path.join(root, 'services');
  return readdirSync(dir)
    .map((name) => path.join(dir, name, 'package.json'))
    .filter((file) => existsSync(file))
    .map((file) => JSON.parse(readFileSync(file, 'utf8')).pos?.schema as string | undefined)
    .filter((schema): schema is string => Boolean(schema))
    .sort();
}

export async function readCatalog(client: Client, schemas: string[]): Promise<Table[]> {
  const tables = await client.query<{ schema: string; name: string; rls: boolean; forced: boolean }>(
    `SELECT n.nspname AS schema, c.relname AS name, c.relrowsecurity AS rls, c.relforcerowsecurity AS forced
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p')
      ORDER BY n.nspname, c.relname`,
    [schemas],
  );
  const columns = await client.query<{ schema: string; table: string; name: string; type: string; nullable: boolean; default: string | null }>(
    `SELECT n.nspname AS schema, c.relname AS table, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
            NOT a.attnotnull AS nullable, pg_get_expr(d.adbin, d.adrelid) AS default
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY n.nspname, c.relname, a.attnum`,
    [schemas],
  );
  const indexes = await client.query<{ schema: string; table: string; name: string; definition: string }>(
    `SELECT schemaname AS schema, tablename AS table, indexname AS name, indexdef AS definition
       FROM pg_indexes WHERE schemaname = ANY($1) ORDER BY schemaname, tablename, indexname`,
    [schemas],
  );
  return tables.rows.map((t) => ({
    schema: t.schema,
    name: t.name,
    rls: t.forced ? 'forced' : t.rls ? 'enabled' : 'off',
    columns: columns.rows.filter((c) => c.schema === t.schema && c.table === t.name).map(({ name, type, nullable, default: def }) => ({ name, type, nullable, default: def })),
    indexes: indexes.rows.filter((i) => i.schema === t.schema && i.table === t.name).map(({ name, definition }) => ({ name, definition })),
  }));
}

/** The markdown section of one table, as docs/database.md lays it out (notes column left empty). */
export function renderTable(t: Table, heading = `${t.schema}.${t.name}`): string {
  const shortDef = (d: string) => d.replace(/^CREATE (UNIQUE )?INDEX \S+ ON \S+ /, (_m, u?: string) => (u ? 'UNIQUE ' : ''));
  return [
    `### \`${heading}\``,
    '',
    `Row-level security: ${t.rls}.`,
    '',
    '| column | type | null | default | notes |',
    '|---|---|---|---|---|',
    ...t.columns.map((c) => `| \`${c.name}\` | ${c.type} | ${c.nullable ? 'yes' : 'no'} | ${c.default ? `\`${c.default.replace(/\|/g, '\\|')}\`` : ''} |  |`),
    '',
    'Indexes:',
    '',
    ...t.indexes.map((i) => `- \`${i.name}\` ${shortDef(i.definition).replace(/\|/g, '\\|')}`),
    '',
  ].join('\n');
}

export interface DocSection {
  heading: string;
  columns: string[];
  indexes: string[];
  rls?: string;
}

/** `### \`schema.table\`` sections of the doc with the column names (first cell of each table row), index names and RLS line. */
export function parseDoc(markdown: string): Map<string, DocSection> {
  const sections = new Map<string, DocSection>();
  let current: DocSection | undefined;
  let inIndexes = false;
  for (const line of markdown.split('\n')) {
    const h = /^###\s+`?([*a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*)`?\s*$/.exec(line);
    if (h) {
      current = { heading: h[1]!, columns: [], indexes: [] };
      sections.set(current.heading, current);
      inIndexes = false;
      continue;
    }
    if (/^#{1,3}\s/.test(line)) {
      current = undefined;
      continue;
    }
    if (!current) continue;
    const rls = /^Row-level security:\s*([a-z]+)/.exec(line);
    if (rls) current.rls = rls[1];
    if (/^Indexes:/.test(line)) inIndexes = true;
    const cell = /^\|\s*`([a-z_][a-z0-9_]*)`\s*\|/.exec(line);
    if (cell && !inIndexes) current.columns.push(cell[1]!);
    const idx = /^[-*]\s+`([a-z_][a-z0-9_]*)`/.exec(line);
    if (idx && inIndexes) current.indexes.push(idx[1]!);
  }
  return sections;
}

/** What the doc gets wrong about the catalog: missing or stale tables, columns, indexes, RLS. */
export function compare(tables: Table[], sections: Map<string, DocSection>, platform: string[]): string[] {
  const problems: string[] = [];
  const used = new Set<string>();
  for (const t of tables) {
    const key = sections.has(`${t.schema}.${t.name}`) ? `${t.schema}.${t.name}` : platform.includes(t.name) ? `*.${t.name}` : `${t.schema}.${t.name}`;
    const s = sections.get(key);
    if (!s) {
      problems.push(`table ${t.schema}.${t.name} is not documented; add this section:\n\n${renderTable(t, platform.includes(t.name) ? `*.${t.name}` : undefined)}`);
      continue;
    }
    used.add(key);
    const cols = t.columns.map((c) => c.name);
    for (const c of cols.filter((x) => !s.columns.includes(x))) problems.push(`${t.schema}.${t.name}: column ${c} is not documented (section ${key})`);
    for (const c of s.columns.filter((x) => !cols.includes(x))) problems.push(`${key}: documents column ${c}, which ${t.schema}.${t.name} does not have`);
    const idx = t.indexes.map((i) => i.name);
    for (const i of t.indexes.filter((x) => !s.indexes.includes(x.name))) problems.push(`${t.schema}.${t.name}: index ${i.name} is not documented (${i.definition})`);
    for (const i of s.indexes.filter((x) => !idx.includes(x))) problems.push(`${key}: documents index ${i}, which ${t.schema}.${t.name} does not have`);
    if (s.rls !== t.rls) problems.push(`${key}: says row-level security "${s.rls ?? '(nothing)'}", ${t.schema}.${t.name} has "${t.rls}"`);
  }
  const schemas = new Set(tables.map((t) => t.schema));
  for (const key of sections.keys()) {
    const [schema] = key.split('.');
    if (schema !== '*' && schemas.has(schema!) && !used.has(key)) problems.push(`${key} is documented but does not exist in the migrated database`);
  }
  return problems;
}

async function main(): Promise<void> {
  const root = path.resolve(__dirname, '../../..');
  const schemas = serviceSchemas(root);
  const client = new Client({ connectionString: process.argv[2] ?? process.env.DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/pos_test' });
  await client.connect();
  try {
    const tables = await readCatalog(client, schemas);
    const platform = platformTables(root);
    const seen = new Set<string>();
    for (const t of tables) {
      const shared = platform.includes(t.name);
      if (shared && seen.has(t.name)) continue;
      seen.add(t.name);
      process.stdout.write(`${renderTable(t, shared ? `*.${t.name}` : undefined)}\n`);
    }
  } finally {
    await client.end();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
