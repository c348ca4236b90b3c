-- The database work of one cash checkout with 3 lines, as ONE SQL transaction: the pgbench ceiling
-- of bench/checkout.ts (see docs/performance.md, "Checkout"). Same tables, same rows as the API
-- path writes for the sale itself, in the schemas the services' migrations create:
--   the sale (completed), its 3 lines, the 3 stock levels decremented (in product id order, the
--   lock order of inventory-service's lockLevels) with their 3 ledger movements, the cash payment
--   and the sale.completed outbox row.
-- Left out (the API path does them, in several transactions across three schemas): the tender row,
-- the reservation, the receipt counter, the idempotency records of both routes, the stock.changed
-- and payment.captured outbox rows, the status updates of the saga and the reads.
--
-- checkout.ts runs it as
--   pgbench -n -M prepared -c 50 -j 2 -T <s> -f bench/checkout-pgbench.sql -D tenant=... -D ...
-- connected as the owner role (postgres, a superuser: row-level security does not apply to it; the
-- set_config below is what withTenant() does and is kept so that the script also runs as pos_app,
-- see --pgbench-user). Variables come as parameters (-M prepared or extended, not simple):
--   tenant store shift cashier currency  subtotal taxtotal total change  envelope (json text)
--   product1..3 sku1..3 name1..3 price1..3 taxbps1..3 tax1..3 linetotal1..3  (ascending product id)
-- Rows it writes are told apart by their idempotency key ('pgbench:<uuid>'). The outbox row is
-- written already published (published_at = now()) so that transaction-service's outbox relay,
-- still running during this measurement, does not pick the rows up and publish them meanwhile.
BEGIN;
SELECT set_config('app.tenant_id', :tenant, true);
INSERT INTO sales.sales (id, tenant_id, store_id, shift_id, cashier_id, idempotency_key, status, currency, tax_inclusive,
    subtotal, discount_total, tax_total, total, cash_applied, change_due, business_date, lease_until, completed_at)
  VALUES (gen_random_uuid(), :tenant, :store, :shift, :cashier, 'pgbench:' || gen_random_uuid(), 'completed', :currency, false,
    :subtotal, 0, :taxtotal, :total, :total, :change, current_date, now() + interval '30 seconds', now())
  RETURNING id AS sale_id \gset
INSERT INTO sales.sale_lines (id, tenant_id, sale_id, line_no, product_id, sku, name, quantity, unit_price, catalog_price,
    tax_rate_bps, line_discount, order_discount, tax, total)
  VALUES (gen_random_uuid(), :tenant, :sale_id, 1, :product1, :sku1, :name1, 1, :price1, :price1, :taxbps1, 0, 0, :tax1, :linetotal1),
         (gen_random_uuid(), :tenant, :sale_id, 2, :product2, :sku2, :name2, 1, :price2, :price2, :taxbps2, 0, 0, :tax2, :linetotal2),
         (gen_random_uuid(), :tenant, :sale_id, 3, :product3, :sku3, :name3, 1, :price3, :price3, :taxbps3, 0, 0, :tax3, :linetotal3);
UPDATE inventory.stock_levels SET on_hand = on_hand - 1, version = version + 1, updated_at = now()
  WHERE tenant_id = :tenant AND store_id = :store AND product_id = :product1
  RETURNING id AS level1, on_hand AS after1 \gset
UPDATE inventory.stock_levels SET on_hand = on_hand - 1, version = version + 1, updated_at = now()
  WHERE tenant_id = :tenant AND store_id = :store AND product_id = :product2
  RETURNING id AS level2, on_hand AS after2 \gset
UPDATE inventory.stock_levels SET on_hand = on_hand - 1, version = version + 1, updated_at = now()
  WHERE tenant_id = :tenant AND store_id = :store AND product_id = :product3
  RETURNING id AS level3, on_hand AS after3 \gset
INSERT INTO inventory.stock_movements (id, tenant_id, level_id, store_id, product_id, kind, quantity, on_hand_after, actor_id, reference_type, reference_id)
  VALUES (gen_random_uuid(), :tenant, :level1, :store, :product1, 'sale', -1, :after1, :cashier, 'sale', :sale_id),
         (gen_random_uuid(), :tenant, :level2, :store, :product2, 'sale', -1, :after2, :cashier, 'sale', :sale_id),
         (gen_random_uuid(), :tenant, :level3, :store, :product3, 'sale', -1, :after3, :cashier, 'sale', :sale_id);
-- The payment's key is '<sale id>:tender:0' as transaction-service sends it (spelled in pieces:
-- pgbench would take a colon followed by a name inside a literal for one of its variables).
INSERT INTO payments.payments (id, tenant_id, idempotency_key, transaction_id, store_id, method, amount, currency, status, created_by)
  VALUES (gen_random_uuid(), :tenant, CAST(:sale_id AS text) || ':' || 'tender' || ':' || '0', :sale_id, :store, 'cash', :total, :currency, 'captured', :cashier);
INSERT INTO sales.outbox (id, tenant_id, type, envelope, published_at)
  VALUES (gen_random_uuid(), :tenant, 'sale.completed', CAST(:envelope AS jsonb), now());
COMMIT;
