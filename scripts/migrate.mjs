#!/usr/bin/env node
// Runs every service's migrations (the shared platform tables first, then the service's own) into
// the service's schema, as the owner role, and grants the runtime roles what they need.
// Usage: node scripts/migrate.mjs            (DATABASE_ADMIN_URL, default local postgres)
import { readdirSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { runner } from 'node-pg-migrate';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const production = process.env.NODE_ENV === 'production';

const adminUrl = process.env.DATABASE_ADMIN_URL ?? (production ? undefined : 'postgres://postgres@127.0.0.1:5432/pos');
if (!adminUrl) {
  console.error('DATABASE_ADMIN_URL is required in production (the role that owns the schemas)');
  process.exit(1);
}
const appRole = process.env.DB_APP_ROLE ?? 'pos_app';
const workerRole = process.env.DB_WORKER_ROLE ?? 'pos_worker';
const quiet = process.argv.includes('--quiet');
const log = (...args) => { if (!quiet) console.log(...args); };

function ident(name) {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unsafe identifier ${name}`);
  return `"${name}"`;
}

async function ensureDatabase() {
  const url = new URL(adminUrl);
  const dbName = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName]);
    if (!rowCount) {
      await client.query(`CREATE DATABASE ${ident(dbName)}`).catch((err) => {
        if (err.code !== '42P04') throw err; // created meanwhile by a parallel run
      });
      log(`created database ${dbName}`);
    }
  } finally {
    await client.end();
  }
}

async function ensureRole(client, role, attributes, password) {
  // Roles are cluster-wide: parallel runs against two databases may race to create them.
  await client.query(`CREATE ROLE ${ident(role)} ${attributes}`).catch((err) => {
    if (err.code !== '42710' && err.code !== '23505') throw err;
  });
  await client.query(`ALTER ROLE ${ident(role)} ${attributes}`);
  if (password) await client.query(`ALTER ROLE ${ident(role)} PASSWORD ${client.escapeLiteral(password)}`);
}

function servicesWithMigrations() {
  const dir = path.join(root, 'services');
  return readdirSync(dir)
    .map((name) => {
      const pkgPath = path.join(dir, name, 'package.json');
      if (!existsSync(pkgPath)) return undefined;
      const schema = JSON.parse(readFileSync(pkgPath, 'utf8')).pos?.schema;
      const migrations = path.join(dir, name, 'migrations');
      return schema && existsSync(migrations) ? { name, schema, migrations } : undefined;
    })
    .filter(Boolean);
}

async function main() {
  await ensureDatabase();
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock(7261001)');
    await ensureRole(client, appRole, 'LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS', process.env.DB_APP_PASSWORD);
    await ensureRole(client, workerRole, 'LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE BYPASSRLS', process.env.DB_WORKER_PASSWORD);
    for (const svc of servicesWithMigrations()) {
      const applied = await runner({
        dbClient: client,
        dir: [path.join(root, 'shared/database/migrations/*.sql'), path.join(svc.migrations, '*.sql')],
        useGlob: true,
        schema: svc.schema,
        createSchema: true,
        migrationsTable: 'pgmigrations',
        direction: 'up',
        checkOrder: true,
        singleTransaction: true,
        noLock: true,
        log: () => undefined,
      });
      const s = ident(svc.schema);
      await client.query(`
        GRANT USAGE ON SCHEMA ${s} TO ${ident(appRole)}, ${ident(workerRole)};
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${s} TO ${ident(appRole)}, ${ident(workerRole)};
        REVOKE ALL ON ${s}.pgmigrations FROM ${ident(appRole)}, ${ident(workerRole)};
        GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${s} TO ${ident(appRole)}, ${ident(workerRole)};
        GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ${s} TO ${ident(appRole)}, ${ident(workerRole)};
      `);
      log(`${svc.name}: schema ${svc.schema}, ${applied.length} migration(s) applied`);
    }
    await client.query('SELECT pg_advisory_unlock(7261001)');
  } finally {
    await client.end();
  }
}

main().catch((err) => {
  console.error(`migration failed: ${err.message}`);
  process.exit(1);
});
