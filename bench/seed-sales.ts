// Many completed past sales for one tenant, written straight into the sales schema with set-based SQL
// (INSERT … SELECT over generate_series): the large data set of the growth measurement
// (docs/performance.md, "How cost grows"). Going through the API would take hours at ~50 sales/s.
//
//   npm run bench:seed-sales -- --rows 1000000            (into the last benchmark run's database)
//
// What it writes, per sale: 1-5 lines of the tenant's catalog (3 on average, quantity 1-3, priced and
// taxed as the store prices them), one captured tender (about 60 % card, 40 % cash with change), a
// receipt number; spread evenly over the `--days` store-local days before today (in date order, as
// they would have been written), the tenant's stores, and `--cashiers` cashiers per store,
// 08:00-20:00 store time, in one closed shift per cashier, store and day. Today's sales are left alone, so measurements of today (list, Z-report)
// see the same rows before and after seeding and differ only by the size of the tables.
// Not written: payments-schema rows, stock movements and events (no report reads them), refunds.
// Runs as the schema owner (a superuser here, so row-level security does not filter the inserts);
// every row carries the tenant's id like the services write it.
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { benchDatabase, bounded, localPg } from './lib/options';

export interface SeedOptions {
  tenantId: string;
  rows: number;
  days: number;
  cashiers: number;
  log?: (msg: string) => void;
}

/** Adds `rows` completed sales; returns the seconds each step took. */
export async function seedSales(db: pg.Client, o: SeedOptions): Promise<Record<string, number>> {
  const log = o.log ?? (() => undefined);
  const timings: Record<string, number> = {};
  const step = async (name: string, sql: string, params: unknown[] = []) => {
    const t0 = performance.now();
    const r = await db.query(sql, params);
    timings[name] = Number(((performance.now() - t0) / 1000).toFixed(1));
    log(`  ${name}: ${timings[name]} s${r.rowCount ? ` (${r.rowCount.toLocaleString('en-US')} rows)` : ''}`);
  };
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(o.tenantId)) throw new Error(`not a tenant id: ${o.tenantId}`);
  const literal = (v: string) => `'${v.replace(/'/g, "''")}'`;
  const tenant = `${literal(o.tenantId)}::uuid`;
  const batch = Date.now().toString(36);
  // Seeded receipt numbers sit far above the live per-store counter (which starts at 1) and above
  // earlier seeding runs, so (store, receipt number) stays unique.
  const { rows: base } = await db.query<{ n: number }>('SELECT COALESCE(max(receipt_number), 1000000000)::int AS n FROM sales.sales WHERE tenant_id = $1 AND receipt_number >= 1000000000', [o.tenantId]);
  const receiptBase = base[0]!.n;
  await step(
    'stores and catalog',
    `CREATE TEMP TABLE seed_stores ON COMMIT PRESERVE ROWS AS
       SELECT row_number() OVER (ORDER BY id) - 1 AS i, id, currency, timezone, tax_inclusive FROM sales.stores WHERE tenant_id = ${tenant}`,
  );
  const { rows: counts } = await db.query<{ stores: number; products: number }>(
    `SELECT (SELECT count(*)::int FROM seed_stores) AS stores,
            (SELECT count(*)::int FROM inventory.products WHERE tenant_id = $1 AND deleted_at IS NULL) AS products`,
    [o.tenantId],
  );
  const { stores, products } = counts[0]!;
  if (!stores || !products) throw new Error(`tenant ${o.tenantId} has ${stores} stores in sales.stores and ${products} products: seed the benchmark first`);
  await db.query(
    `CREATE TEMP TABLE seed_products AS
       SELECT row_number() OVER (ORDER BY id) - 1 AS i, id, sku, name, price_amount, tax_rate_bps
         FROM inventory.products WHERE tenant_id = ${tenant} AND deleted_at IS NULL`,
  );
  await db.query('CREATE INDEX ON seed_products (i)');
  // Sale n, oldest first, so that the table's physical order is the order a year of trading would
  // have written it in (a day's sales share pages): its day and minute from n's place in the run,
  // store and cashier in turn, line count and card or cash from a hash of n.
  await step(
    'sales (temp)',
    `CREATE TEMP TABLE seed_sales AS
       SELECT n, md5(${literal(batch)} || ':sale:' || n)::uuid AS id, st.id AS store_id, st.currency, st.tax_inclusive, st.timezone,
              (current_date - ${o.days} + ((n - 1)::bigint * ${o.days} / ${o.rows})::int)::date AS business_date,
              md5(${tenant}::text || ':cashier:' || st.i || ':' || ((n / ${stores}) % ${o.cashiers}))::uuid::text AS cashier_id,
              (((n - 1)::bigint * ${o.days}) % ${o.rows}) * 720 / ${o.rows} AS minute,
              abs(hashint4(n + 1)::bigint) % 5 + 1 AS line_count, abs(hashint4(n + 2)::bigint) % 10 < 6 AS card
         FROM generate_series(1, ${o.rows}) n JOIN seed_stores st ON st.i = n % ${stores}
        ORDER BY n`,
  );
  await step(
    'lines (temp)',
    `CREATE TEMP TABLE seed_lines AS
       SELECT s.n, s.id AS sale_id, k AS line_no, p.id AS product_id, p.sku, p.name, p.price_amount AS unit_price, p.tax_rate_bps,
              q.qty, p.price_amount * q.qty AS gross,
              CASE WHEN s.tax_inclusive THEN p.price_amount * q.qty - round(p.price_amount * q.qty * 10000.0 / (10000 + p.tax_rate_bps))::bigint
                   ELSE round(p.price_amount * q.qty * p.tax_rate_bps / 10000.0)::bigint END AS tax,
              s.tax_inclusive
         FROM seed_sales s CROSS JOIN LATERAL generate_series(1, s.line_count::int) k
         CROSS JOIN LATERAL (SELECT abs(hashint4((s.n * 7 + k)::int)::bigint) % 3 + 1 AS qty) q
         JOIN seed_products p ON p.i = abs(hashint4((s.n * 5 + k)::int)::bigint) % ${products}`,
  );
  // All or nothing: a failed or interrupted seeding leaves no half-written sales behind.
  await db.query('BEGIN');
  await step(
    'shifts',
    `INSERT INTO sales.shifts (id, tenant_id, store_id, cashier_id, status, currency, opening_float, counted_cash, expected_cash, variance, opened_at, closed_at, closed_by)
     SELECT DISTINCT ON (shift_id) shift_id, $1::uuid, store_id, cashier_id, 'closed', currency, 10000, NULL, NULL, NULL, day_start + interval '7 hours 45 minutes', day_start + interval '20 hours 15 minutes', cashier_id
       FROM (SELECT md5($1::text || ':shift:' || store_id || ':' || cashier_id || ':' || business_date)::uuid AS shift_id, store_id, cashier_id, currency,
                    (business_date::timestamp AT TIME ZONE timezone) AS day_start FROM seed_sales) x
     ON CONFLICT (id) DO NOTHING`,
    [o.tenantId],
  );
  await step(
    'sales',
    `INSERT INTO sales.sales (id, tenant_id, store_id, shift_id, cashier_id, idempotency_key, status, receipt_number, currency, tax_inclusive,
                              subtotal, discount_total, tax_total, total, cash_applied, change_due, business_date, lease_until, created_at, completed_at)
     SELECT s.id, $1::uuid, s.store_id, md5($1::text || ':shift:' || s.store_id || ':' || s.cashier_id || ':' || s.business_date)::uuid, s.cashier_id,
            'seed:' || $2::text || ':' || s.n, 'completed',
            $3::int + s.n, s.currency, s.tax_inclusive, t.gross, 0, t.tax, t.total,
            CASE WHEN s.card THEN 0 ELSE t.total END, CASE WHEN s.card THEN 0 ELSE (t.total + 499) / 500 * 500 - t.total END,
            s.business_date, at, at, at
       FROM seed_sales s
       JOIN (SELECT sale_id, sum(gross) AS gross, sum(tax) AS tax, sum(CASE WHEN tax_inclusive THEN gross ELSE gross + tax END) AS total
               FROM seed_lines GROUP BY sale_id) t ON t.sale_id = s.id
       CROSS JOIN LATERAL (SELECT date_trunc('milliseconds', (s.business_date + time '08:00' + s.minute * interval '1 minute') AT TIME ZONE s.timezone) AS at) a
      ORDER BY s.n`,
    [o.tenantId, batch, receiptBase],
  );
  await step(
    'sale_lines',
    `INSERT INTO sales.sale_lines (id, tenant_id, sale_id, line_no, product_id, sku, name, quantity, unit_price, catalog_price, tax_rate_bps, line_discount, order_discount, tax, total)
     SELECT md5(sale_id || ':' || line_no)::uuid, $1::uuid, sale_id, line_no, product_id, sku, name, qty, unit_price, unit_price, tax_rate_bps, 0, 0, tax,
            CASE WHEN tax_inclusive THEN gross ELSE gross + tax END
       FROM seed_lines ORDER BY n, line_no`,
    [o.tenantId],
  );
  await step(
    'sale_tenders',
    `INSERT INTO sales.sale_tenders (id, tenant_id, sale_id, tender_no, method, tendered, applied, payment_key, status)
     SELECT md5(s.id || ':tender')::uuid, $1::uuid, s.id, 0, CASE WHEN t.card THEN 'card' ELSE 'cash' END, s.total + s.change_due, s.total, s.id || ':tender:0', 'captured'
       FROM sales.sales s JOIN seed_sales t ON t.id = s.id ORDER BY t.n`,
    [o.tenantId],
  );
  await db.query('COMMIT');
  await db.query('DROP TABLE seed_lines, seed_sales, seed_products, seed_stores');
  // Fresh statistics and visibility map, as autovacuum would leave a table that grew over a year.
  await step('vacuum analyze', 'VACUUM (ANALYZE) sales.sales, sales.sale_lines, sales.sale_tenders, sales.shifts');
  return timings;
}

// ---- command line ---------------------------------------------------------------------------------
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(__filename)) {
  const { values: args } = parseArgs({
    options: {
      rows: { type: 'string', default: '1000000' },
      days: { type: 'string', default: '365' },
      cashiers: { type: 'string', default: '4' },
      tenant: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (args.help) {
    console.log(`Usage: npm run bench:seed-sales -- [--rows <n>] [--days <n>] [--cashiers <n>] [--tenant <uuid>]
  Adds completed past sales to the benchmark database (BENCH_DATABASE, default pos_bench_run: the one
  \`npm run bench\` leaves behind) for its tenant (the only one, or --tenant).
  --rows      sales to add (default 1000000, at most 5000000)
  --days      spread over this many days before today (default 365, 1-3650)
  --cashiers  cashiers per store (default 4, 1-50)`);
    process.exit(0);
  }
  const rows = bounded('rows', args.rows, 1, 5_000_000);
  const days = bounded('days', args.days, 1, 3650);
  const cashiers = bounded('cashiers', args.cashiers, 1, 50);
  const db = new pg.Client({ connectionString: `${localPg().adminBase}/${benchDatabase()}` });
  void (async () => {
    await db.connect();
    try {
      let tenantId = args.tenant;
      if (!tenantId) {
        const { rows: t } = await db.query<{ id: string }>('SELECT DISTINCT tenant_id AS id FROM sales.stores');
        if (t.length !== 1) throw new Error(`${t.length} tenants in sales.stores: pass --tenant`);
        tenantId = t[0]!.id;
      }
      const t0 = performance.now();
      console.log(`seeding ${rows.toLocaleString('en-US')} sales for tenant ${tenantId} over ${days} days`);
      await seedSales(db, { tenantId, rows, days, cashiers, log: console.log });
      console.log(`done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    } finally {
      await db.end();
    }
  })().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
