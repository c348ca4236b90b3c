#!/usr/bin/env node
// Seeds the demo tenant: each service that ships a `dist/seed.js` gets the context the previous
// ones built (auth-service first: it creates the tenant and stores the others hang data on).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

if (existsSync(path.join(root, '.env'))) process.loadEnvFile(path.join(root, '.env'));
if (process.env.NODE_ENV === 'production' && process.env.SEED_DEMO !== 'true') {
  console.error('refusing to seed demo data in production (set SEED_DEMO=true to force)');
  process.exit(1);
}
// Seeding writes through RLS like the services do, so it uses the owner connection for the
// schema-agnostic bits and each tenant's own setting for rows.
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://pos_app@127.0.0.1:5432/pos';

const order = (name) => (name === 'auth-service' ? 0 : 1);
const services = readdirSync(path.join(root, 'services'))
  .filter((name) => existsSync(path.join(root, 'services', name, 'dist', 'seed.js')))
  .sort((a, b) => order(a) - order(b) || a.localeCompare(b));

let ctx = { created: false };
for (const name of services) {
  const pkg = JSON.parse(readFileSync(path.join(root, 'services', name, 'package.json'), 'utf8'));
  const { seed } = require(path.join(root, 'services', name, 'dist', 'seed.js'));
  ctx = await seed(ctx, databaseUrl, pkg.pos ?? {});
}
if (process.argv.includes('--json')) console.log(JSON.stringify(ctx));
else console.log(ctx.created ? `seeded demo tenant ${ctx.tenantId}` : `demo tenant ${ctx.tenantId ?? '(none)'} already present`);
