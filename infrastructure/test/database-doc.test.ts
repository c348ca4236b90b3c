// docs/database.md cannot drift from the migrations: the test database (pos_test, migrated by Jest's
// global setup with every service's migrations) is read from the Postgres catalog, and every table,
// column, index and row-level-security setting of every service schema (package.json "pos.schema")
// must be in the doc, and nothing that does not exist.
import { Client } from 'pg';
import { compare, parseDoc, platformTables, readCatalog, type Table } from './support/database-doc';
import { discoverServices, readText, ROOT } from './support/repo';

const schemas = discoverServices()
  .filter((s) => s.schema)
  .map((s) => s.schema!);

describe('docs/database.md', () => {
  let client: Client;
  let tables: Table[];

  beforeAll(async () => {
    client = new Client({ connectionString: process.env.DATABASE_ADMIN_URL });
    await client.connect();
    tables = await readCatalog(client, schemas);
  });
  afterAll(() => client?.end());

  it('when the service schemas are read from the migrated test database, then each exists and has tables', () => {
    expect(schemas.length).toBeGreaterThan(0);
    for (const schema of schemas) expect({ schema, tables: tables.filter((t) => t.schema === schema).length > 0 }).toEqual({ schema, tables: true });
  });

  it('when the doc is compared with the catalog, then every table, column, index and RLS setting is documented and nothing stale is', () => {
    const problems = compare(tables, parseDoc(readText('docs/database.md')), platformTables(ROOT));
    // The message carries the markdown to paste for a missing table.
    if (problems.length) throw new Error(`docs/database.md is out of date:\n\n${problems.join('\n')}`);
  });

  it('when the doc is read, then it has a section per service schema', () => {
    const doc = readText('docs/database.md');
    for (const schema of schemas) expect({ schema, section: new RegExp(`^## .*\`${schema}\``, 'm').test(doc) }).toEqual({ schema, section: true });
  });
});
