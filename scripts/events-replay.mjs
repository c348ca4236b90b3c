#!/usr/bin/env node
// Republishes events after a Redis data loss (POS-DESIGN §11): outbox rows are kept for 7 days after
// they were published, so marking them unpublished again lets every service's outbox relay send them
// once more. Consumers record handled event ids in their inbox, so replayed events change nothing
// where they had already arrived.
//   npm run events:replay -- --since 2026-11-26T08:00:00Z [--service transaction-service]
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const since = arg('since');
const only = arg('service');
if (!since || Number.isNaN(Date.parse(since))) {
  console.error('usage: npm run events:replay -- --since <ISO time> [--service <name>]');
  process.exit(2);
}
if (existsSync(path.join(root, '.env')) && !process.env.DATABASE_ADMIN_URL) process.loadEnvFile(path.join(root, '.env'));
const adminUrl = process.env.DATABASE_ADMIN_URL ?? (process.env.NODE_ENV === 'production' ? undefined : 'postgres://postgres@127.0.0.1:5432/pos');
if (!adminUrl) {
  console.error('DATABASE_ADMIN_URL is required in production');
  process.exit(2);
}

const services = readdirSync(path.join(root, 'services'))
  .map((name) => ({ name, schema: JSON.parse(readFileSync(path.join(root, 'services', name, 'package.json'), 'utf8')).pos?.schema }))
  .filter((s) => s.schema && (!only || s.name === only));
if (only && services.length === 0) {
  console.error(`unknown service ${only}`);
  process.exit(2);
}

const client = new pg.Client({ connectionString: adminUrl });
await client.connect();
try {
  let total = 0;
  for (const s of services) {
    const exists = await client.query('SELECT to_regclass($1) AS t', [`${s.schema}.outbox`]);
    if (!exists.rows[0].t) continue;
    const { rowCount } = await client.query(`UPDATE "${s.schema}".outbox SET published_at = NULL WHERE created_at >= $1 AND published_at IS NOT NULL`, [since]);
    total += rowCount;
    console.log(`${s.name}: ${rowCount} event(s) queued for republishing`);
  }
  console.log(`${total} event(s) in all; the running outbox relays publish them again`);
} finally {
  await client.end();
}
