-- inventory schema: catalog (categories, products, barcodes), stock per store as an immutable
-- ledger of movements with the on-hand level maintained beside it, reservations for checkout,
-- transfers, and a projection of the stores (fed by auth-service's store events).
-- created_at of listed tables is kept at millisecond precision so keyset cursors compare exactly.

-- Up Migration
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA public;

-- unaccent() is only STABLE (its dictionary could change); pinning the dictionary makes this
-- wrapper safe to declare IMMUTABLE, so it can back the trigram search index.
CREATE FUNCTION inventory.search_text(text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
  AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, $1)) $$;

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

CREATE TABLE categories (
  id         uuid PRIMARY KEY,
  tenant_id  uuid        NOT NULL,
  name       text        NOT NULL,
  parent_id  uuid REFERENCES categories (id),
  version    integer     NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);
CREATE UNIQUE INDEX categories_name_unique ON categories (tenant_id, lower(name)) WHERE deleted_at IS NULL;

CREATE TABLE products (
  id           uuid PRIMARY KEY,
  tenant_id    uuid        NOT NULL,
  sku          text        NOT NULL,
  name         text        NOT NULL,
  description  text,
  category_id  uuid REFERENCES categories (id),
  price_amount bigint      NOT NULL CHECK (price_amount >= 0),
  currency     char(3)     NOT NULL,
  tax_rate_bps integer     NOT NULL CHECK (tax_rate_bps BETWEEN 0 AND 10000),
  cost_amount  bigint CHECK (cost_amount >= 0),
  active       boolean     NOT NULL DEFAULT true,
  version      integer     NOT NULL DEFAULT 1,
  created_at   timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  deleted_at   timestamptz
);
-- SKUs are unique per tenant among live products; a deleted product frees its SKU.
CREATE UNIQUE INDEX products_sku_unique ON products (tenant_id, sku) WHERE deleted_at IS NULL;
CREATE INDEX products_name_idx ON products (tenant_id, lower(name), id) WHERE deleted_at IS NULL;
CREATE INDEX products_category_idx ON products (tenant_id, category_id) WHERE deleted_at IS NULL;
-- Case- and accent-insensitive prefix and substring search on name and SKU.
CREATE INDEX products_search_trgm_idx ON products USING gin (inventory.search_text(name || ' ' || sku) public.gin_trgm_ops) WHERE deleted_at IS NULL;

CREATE TABLE barcodes (
  tenant_id  uuid NOT NULL,
  barcode    text NOT NULL,
  product_id uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
  PRIMARY KEY (tenant_id, barcode)
);
CREATE INDEX barcodes_product_idx ON barcodes (product_id);

CREATE TABLE stock_levels (
  id            uuid PRIMARY KEY,
  tenant_id     uuid        NOT NULL,
  store_id      uuid        NOT NULL REFERENCES stores (id),
  product_id    uuid        NOT NULL REFERENCES products (id),
  on_hand       integer     NOT NULL DEFAULT 0,
  reorder_point integer     NOT NULL DEFAULT 0 CHECK (reorder_point >= 0),
  version       integer     NOT NULL DEFAULT 1,
  created_at    timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, store_id, product_id)
);
CREATE INDEX stock_levels_store_idx ON stock_levels (tenant_id, store_id, created_at, id);
CREATE INDEX stock_levels_low_idx ON stock_levels (tenant_id, store_id) WHERE on_hand <= reorder_point;

CREATE TABLE stock_movements (
  id             uuid PRIMARY KEY,
  tenant_id      uuid        NOT NULL,
  level_id       uuid        NOT NULL REFERENCES stock_levels (id),
  store_id       uuid        NOT NULL,
  product_id     uuid        NOT NULL,
  kind           text        NOT NULL CHECK (kind IN ('receive', 'sale', 'sale_release', 'return', 'adjustment', 'count', 'transfer_out', 'transfer_in', 'damage')),
  quantity       integer     NOT NULL CHECK (quantity <> 0),
  on_hand_after  integer     NOT NULL,
  reason         text,
  actor_id       text        NOT NULL,
  reference_type text,
  reference_id   text,
  created_at     timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp())
);
CREATE INDEX stock_movements_level_idx ON stock_movements (level_id, created_at, id);
CREATE INDEX stock_movements_reference_idx ON stock_movements (tenant_id, reference_type, reference_id);

-- The ledger is append-only: a correction is a new movement, never an edit.
CREATE FUNCTION inventory.refuse_movement_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'stock movements are immutable' USING ERRCODE = 'P0001';
END $$;
CREATE TRIGGER stock_movements_immutable BEFORE UPDATE OR DELETE ON stock_movements
  FOR EACH ROW EXECUTE FUNCTION inventory.refuse_movement_change();

CREATE TABLE reservations (
  tenant_id   uuid        NOT NULL,
  sale_id     uuid        NOT NULL,
  store_id    uuid,
  -- 'released' without a prior reservation is a tombstone: a late reserve for that sale is refused.
  status      text        NOT NULL CHECK (status IN ('reserved', 'released')),
  lines       jsonb       NOT NULL DEFAULT '[]',
  created_at  timestamptz NOT NULL DEFAULT now(),
  released_at timestamptz,
  PRIMARY KEY (tenant_id, sale_id)
);

CREATE TABLE transfers (
  id            uuid PRIMARY KEY,
  tenant_id     uuid        NOT NULL,
  from_store_id uuid        NOT NULL,
  to_store_id   uuid        NOT NULL,
  lines         jsonb       NOT NULL,
  note          text,
  created_by    text        NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['stores', 'categories', 'products', 'barcodes', 'stock_levels', 'stock_movements', 'reservations', 'transfers'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($p$CREATE POLICY tenant_isolation ON %I
      USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
      WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)$p$, t);
  END LOOP;
END $$;

-- Down Migration
DROP TABLE transfers;
DROP TABLE reservations;
DROP TRIGGER stock_movements_immutable ON stock_movements;
DROP TABLE stock_movements;
DROP FUNCTION inventory.refuse_movement_change();
DROP TABLE stock_levels;
DROP TABLE barcodes;
DROP TABLE products;
DROP TABLE categories;
DROP TABLE stores;
DROP FUNCTION inventory.search_text(text);
