-- Product search through a trigram index that row-level security does not switch off.
--
-- Under RLS, Postgres may use an index for a condition only if its operator is LEAKPROOF, so that it
-- can never run on another tenant's row before the policy does; LIKE is not, so the trigram index on
-- products went unused and every search filtered all of a tenant's products (17.9 ms of Postgres
-- CPU per search at 10,000 products, docs/performance.md). The searchable text of each live product
-- is therefore kept in a table of its own, in a schema the runtime roles cannot use at all, and is
-- searched only by one SECURITY DEFINER function that filters by the same app.tenant_id setting the
-- policies use. The caller then reads the products themselves under RLS as before.

-- Up Migration
CREATE EXTENSION IF NOT EXISTS btree_gin WITH SCHEMA public;
CREATE SCHEMA inventory_search;
REVOKE ALL ON SCHEMA inventory_search FROM PUBLIC;

CREATE TABLE inventory_search.product_text (
  product_id uuid PRIMARY KEY REFERENCES inventory.products (id) ON DELETE CASCADE,
  tenant_id  uuid NOT NULL,
  text       text NOT NULL
);
-- Tenant and trigrams in one GIN index: a search touches one tenant's matches only.
CREATE INDEX product_text_trgm_idx ON inventory_search.product_text USING gin (tenant_id, text public.gin_trgm_ops);

CREATE FUNCTION inventory_search.sync_product_text() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$
BEGIN
  IF NEW.deleted_at IS NOT NULL THEN
    DELETE FROM inventory_search.product_text WHERE product_id = NEW.id;
  ELSE
    INSERT INTO inventory_search.product_text (product_id, tenant_id, text)
    VALUES (NEW.id, NEW.tenant_id, inventory.search_text(NEW.name || ' ' || NEW.sku))
    ON CONFLICT (product_id) DO UPDATE SET text = EXCLUDED.text;
  END IF;
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION inventory_search.sync_product_text() FROM PUBLIC;

CREATE TRIGGER products_search_text AFTER INSERT OR UPDATE OF name, sku, deleted_at ON inventory.products
  FOR EACH ROW EXECUTE FUNCTION inventory_search.sync_product_text();

-- Every tenant's products: the owner is subject to the forced policy too, and an owner that is not a
-- superuser would copy none; lifted for this statement only, inside the migration's transaction.
ALTER TABLE inventory.products NO FORCE ROW LEVEL SECURITY;
INSERT INTO inventory_search.product_text (product_id, tenant_id, text)
  SELECT id, tenant_id, inventory.search_text(name || ' ' || sku) FROM inventory.products WHERE deleted_at IS NULL;
ALTER TABLE inventory.products FORCE ROW LEVEL SECURITY;

-- The LIKE pattern that finds `q` anywhere in a search text: normalised first, then its %, _ and \
-- escaped. Escaping before would let a full-width ％ through, which unaccent turns into %.
CREATE FUNCTION inventory.search_pattern(q text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
  AS $$ SELECT '%' || replace(replace(replace(inventory.search_text(q), '\', '\\'), '%', '\%'), '_', '\_') || '%' $$;

-- `pattern` is a LIKE pattern over inventory.search_text() (see inventory.search_pattern); the
-- tenant is the caller's app.tenant_id, never an argument, so no caller can name another tenant. More than `max_count` matches gives NULL:
-- a pattern that common is served better by walking the products in name order, where the first
-- page fills up at once, than by fetching every match to sort them.
CREATE FUNCTION inventory.matching_product_ids(pattern text, max_count integer) RETURNS uuid[]
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$
    SELECT CASE WHEN count(*) > max_count THEN NULL ELSE coalesce(array_agg(product_id), '{}') END
      FROM (SELECT product_id FROM inventory_search.product_text
             WHERE tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid AND text LIKE pattern
             LIMIT max_count + 1) AS matches
  $$;
REVOKE ALL ON FUNCTION inventory.matching_product_ids(text, integer) FROM PUBLIC;

-- The old index served the filter RLS kept it from serving.
DROP INDEX products_search_trgm_idx;

-- Down Migration
CREATE INDEX products_search_trgm_idx ON products USING gin (inventory.search_text(name || ' ' || sku) public.gin_trgm_ops) WHERE deleted_at IS NULL;
DROP FUNCTION inventory.matching_product_ids(text, integer);
DROP FUNCTION inventory.search_pattern(text);
DROP TRIGGER products_search_text ON inventory.products;
DROP SCHEMA inventory_search CASCADE;
