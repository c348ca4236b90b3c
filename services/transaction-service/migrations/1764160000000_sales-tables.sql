-- sales schema: shifts and cash movements, sales with lines and tenders, refunds, per-store receipt
-- numbers, and the store projection. created_at of listed tables is kept at millisecond precision so
-- keyset cursors compare exactly.

-- Up Migration
CREATE TABLE stores (
  id                   uuid PRIMARY KEY,
  tenant_id            uuid        NOT NULL,
  name                 text        NOT NULL,
  currency             char(3)     NOT NULL,
  timezone             text        NOT NULL,
  tax_inclusive        boolean     NOT NULL,
  allow_negative_stock boolean     NOT NULL,
  active               boolean     NOT NULL,
  source_version       integer     NOT NULL,
  updated_at           timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE shifts (
  id            uuid PRIMARY KEY,
  tenant_id     uuid        NOT NULL,
  store_id      uuid        NOT NULL REFERENCES stores (id),
  cashier_id    text        NOT NULL,
  status        text        NOT NULL CHECK (status IN ('open', 'closed')),
  currency      char(3)     NOT NULL,
  opening_float bigint      NOT NULL CHECK (opening_float >= 0),
  counted_cash  bigint,
  expected_cash bigint,
  variance      bigint,
  z_report      jsonb,
  opened_at     timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  closed_at     timestamptz,
  closed_by     text,
  version       integer     NOT NULL DEFAULT 1
);
-- One open shift per cashier per store.
CREATE UNIQUE INDEX shifts_one_open ON shifts (tenant_id, store_id, cashier_id) WHERE status = 'open';
CREATE INDEX shifts_store_idx ON shifts (tenant_id, store_id, opened_at, id);

CREATE TABLE cash_movements (
  id         uuid PRIMARY KEY,
  tenant_id  uuid        NOT NULL,
  shift_id   uuid        NOT NULL REFERENCES shifts (id),
  kind       text        NOT NULL CHECK (kind IN ('paid_in', 'paid_out')),
  amount     bigint      NOT NULL CHECK (amount > 0),
  reason     text        NOT NULL,
  actor_id   text        NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cash_movements_shift_idx ON cash_movements (shift_id);

CREATE TABLE receipt_counters (
  tenant_id   uuid    NOT NULL,
  store_id    uuid    NOT NULL,
  last_number integer NOT NULL,
  PRIMARY KEY (tenant_id, store_id)
);

CREATE TABLE sales (
  id               uuid PRIMARY KEY,
  tenant_id        uuid        NOT NULL,
  store_id         uuid        NOT NULL REFERENCES stores (id),
  shift_id         uuid        NOT NULL REFERENCES shifts (id),
  cashier_id       text        NOT NULL,
  customer_id      uuid,
  idempotency_key  text        NOT NULL,
  status           text        NOT NULL CHECK (status IN ('pending', 'reserved', 'completed', 'failed', 'voided')),
  failure_code     text,
  failure_reason   text,
  receipt_number   integer,
  currency         char(3)     NOT NULL,
  tax_inclusive    boolean     NOT NULL,
  subtotal         bigint      NOT NULL,
  discount_total   bigint      NOT NULL,
  tax_total        bigint      NOT NULL,
  total            bigint      NOT NULL,
  cash_applied     bigint      NOT NULL DEFAULT 0,
  change_due       bigint      NOT NULL DEFAULT 0,
  discounts        jsonb       NOT NULL DEFAULT '[]',
  business_date    date        NOT NULL,
  refunded_total   bigint      NOT NULL DEFAULT 0,
  -- A pending sale belongs to the request running it until this passes; then a retry or the
  -- recovery sweep may finish or compensate it.
  lease_until      timestamptz NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  completed_at     timestamptz,
  voided_at        timestamptz,
  voided_by        text,
  version          integer     NOT NULL DEFAULT 1,
  UNIQUE (tenant_id, idempotency_key),
  UNIQUE (tenant_id, store_id, receipt_number)
);
CREATE INDEX sales_store_created_idx ON sales (tenant_id, store_id, created_at, id);
CREATE INDEX sales_tenant_created_idx ON sales (tenant_id, created_at, id);
CREATE INDEX sales_shift_idx ON sales (shift_id);
CREATE INDEX sales_customer_idx ON sales (tenant_id, customer_id) WHERE customer_id IS NOT NULL;
CREATE INDEX sales_unfinished_idx ON sales (lease_until) WHERE status IN ('pending', 'reserved');
CREATE INDEX sales_business_date_idx ON sales (tenant_id, store_id, business_date) WHERE status = 'completed';

CREATE TABLE sale_lines (
  id                uuid PRIMARY KEY,
  tenant_id         uuid    NOT NULL,
  sale_id           uuid    NOT NULL REFERENCES sales (id),
  line_no           integer NOT NULL,
  product_id        uuid    NOT NULL,
  sku               text    NOT NULL,
  name              text    NOT NULL,
  quantity          integer NOT NULL CHECK (quantity > 0),
  unit_price        bigint  NOT NULL,
  catalog_price     bigint  NOT NULL,
  price_override_by text,
  tax_rate_bps      integer NOT NULL,
  line_discount     bigint  NOT NULL,
  order_discount    bigint  NOT NULL,
  tax               bigint  NOT NULL,
  total             bigint  NOT NULL,
  discount_spec     jsonb,
  refunded_quantity integer NOT NULL DEFAULT 0,
  refunded_total    bigint  NOT NULL DEFAULT 0,
  refunded_tax      bigint  NOT NULL DEFAULT 0,
  UNIQUE (sale_id, line_no),
  CHECK (refunded_quantity <= quantity AND refunded_total <= total)
);
CREATE INDEX sale_lines_product_idx ON sale_lines (tenant_id, product_id);

CREATE TABLE sale_tenders (
  id              uuid PRIMARY KEY,
  tenant_id       uuid    NOT NULL,
  sale_id         uuid    NOT NULL REFERENCES sales (id),
  tender_no       integer NOT NULL,
  method          text    NOT NULL,
  tendered        bigint  NOT NULL,
  applied         bigint  NOT NULL,
  payment_key     text    NOT NULL,
  payment_id      uuid,
  status          text    NOT NULL CHECK (status IN ('pending', 'captured', 'failed', 'voided')),
  details         jsonb   NOT NULL DEFAULT '{}',
  refunded_amount bigint  NOT NULL DEFAULT 0,
  UNIQUE (sale_id, tender_no),
  CHECK (refunded_amount <= applied)
);

CREATE TABLE refunds (
  id              uuid PRIMARY KEY,
  tenant_id       uuid        NOT NULL,
  sale_id         uuid        NOT NULL REFERENCES sales (id),
  idempotency_key text        NOT NULL,
  status          text        NOT NULL CHECK (status IN ('pending', 'completed')),
  reason          text,
  restock         boolean     NOT NULL,
  total           bigint      NOT NULL,
  tax             bigint      NOT NULL,
  cash_amount     bigint      NOT NULL,
  shift_id        uuid REFERENCES shifts (id),
  created_by      text        NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  completed_at    timestamptz,
  UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX refunds_sale_idx ON refunds (sale_id);
CREATE INDEX refunds_shift_idx ON refunds (shift_id);

CREATE TABLE refund_lines (
  refund_id uuid    NOT NULL REFERENCES refunds (id),
  tenant_id uuid    NOT NULL,
  line_id   uuid    NOT NULL REFERENCES sale_lines (id),
  quantity  integer NOT NULL CHECK (quantity > 0),
  total     bigint  NOT NULL,
  tax       bigint  NOT NULL,
  PRIMARY KEY (refund_id, line_id)
);

CREATE TABLE refund_tenders (
  refund_id         uuid    NOT NULL REFERENCES refunds (id),
  tenant_id         uuid    NOT NULL,
  tender_id         uuid REFERENCES sale_tenders (id),
  method            text    NOT NULL,
  amount            bigint  NOT NULL CHECK (amount > 0),
  payment_refund_id uuid,
  status            text    NOT NULL CHECK (status IN ('pending', 'completed')),
  seq               integer NOT NULL,
  PRIMARY KEY (refund_id, seq)
);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['stores', 'shifts', 'cash_movements', 'receipt_counters', 'sales', 'sale_lines', 'sale_tenders', 'refunds', 'refund_lines', 'refund_tenders'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($p$CREATE POLICY tenant_isolation ON %I
      USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
      WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)$p$, t);
  END LOOP;
END $$;

-- Down Migration
DROP TABLE refund_tenders;
DROP TABLE refund_lines;
DROP TABLE refunds;
DROP TABLE sale_tenders;
DROP TABLE sale_lines;
DROP TABLE sales;
DROP TABLE receipt_counters;
DROP TABLE cash_movements;
DROP TABLE shifts;
DROP TABLE stores;
