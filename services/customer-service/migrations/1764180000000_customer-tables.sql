-- customers schema: customer profiles with marketing consents (and their history), the loyalty
-- points ledger with the balance kept on the customer row, the per-tenant loyalty rule, and the
-- purchase-history projection fed by transaction-service's sale events.
-- created_at of listed tables is kept at millisecond precision so keyset cursors compare exactly.

-- Up Migration
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA public;

-- unaccent() is only STABLE; pinning the dictionary makes this wrapper safe to declare IMMUTABLE,
-- so it can back the trigram search index.
CREATE FUNCTION customers.search_text(text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
  AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, $1)) $$;

CREATE TABLE customers (
  id               uuid PRIMARY KEY,
  tenant_id        uuid        NOT NULL,
  name             text        NOT NULL,
  -- Stored lower-cased; phones in E.164.
  email            text,
  phone            text,
  notes            text,
  email_consent    boolean     NOT NULL DEFAULT false,
  -- When the email consent was last given or withdrawn (null: never asked).
  email_consent_at timestamptz,
  sms_consent      boolean     NOT NULL DEFAULT false,
  sms_consent_at   timestamptz,
  -- Always the balance_after of the customer's latest ledger entry; changed in the same transaction.
  loyalty_balance  bigint      NOT NULL DEFAULT 0 CHECK (loyalty_balance >= 0),
  created_by       text        NOT NULL,
  version          integer     NOT NULL DEFAULT 1,
  created_at       timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  -- Erasure anonymises the row in place; purchase totals and the ledger stay.
  erased_at        timestamptz,
  erased_by        text,
  CHECK (email IS NULL OR email = lower(email)),
  CHECK (phone IS NULL OR phone ~ '^\+[1-9][0-9]{6,14}$')
);
-- One customer per email and per phone in a tenant.
CREATE UNIQUE INDEX customers_email_unique ON customers (tenant_id, email) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX customers_phone_unique ON customers (tenant_id, phone) WHERE phone IS NOT NULL;
CREATE INDEX customers_name_idx ON customers (tenant_id, lower(name), id) WHERE erased_at IS NULL;
-- Case- and accent-insensitive substring search over name, email and phone.
CREATE INDEX customers_search_trgm_idx ON customers
  USING gin (customers.search_text(name || ' ' || coalesce(email, '') || ' ' || coalesce(phone, '')) public.gin_trgm_ops)
  WHERE erased_at IS NULL;

-- Every change of a marketing consent: when it was given or withdrawn, and by whom.
CREATE TABLE consent_changes (
  id          uuid PRIMARY KEY,
  tenant_id   uuid        NOT NULL,
  customer_id uuid        NOT NULL REFERENCES customers (id),
  channel     text        NOT NULL CHECK (channel IN ('email', 'sms')),
  granted     boolean     NOT NULL,
  actor_id    text        NOT NULL,
  changed_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX consent_changes_customer_idx ON consent_changes (customer_id, changed_at);

CREATE TABLE loyalty_rules (
  tenant_id       uuid PRIMARY KEY,
  points_per_unit integer     NOT NULL CHECK (points_per_unit BETWEEN 0 AND 1000),
  version         integer     NOT NULL DEFAULT 1,
  updated_by      text        NOT NULL,
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- The points ledger: append-only; the balance on the customer row is the last balance_after.
CREATE TABLE loyalty_ledger (
  seq           bigserial PRIMARY KEY,
  id            uuid        NOT NULL UNIQUE,
  tenant_id     uuid        NOT NULL,
  customer_id   uuid        NOT NULL REFERENCES customers (id),
  kind          text        NOT NULL CHECK (kind IN ('earn', 'reverse', 'redeem', 'redeem_refund', 'adjust')),
  -- Signed: earn/redeem_refund > 0, redeem < 0, reverse <= 0 (0 when the balance was already spent).
  points        bigint      NOT NULL,
  balance_after bigint      NOT NULL CHECK (balance_after >= 0),
  sale_id       uuid,
  -- Idempotency: the client's Idempotency-Key for redeem, refund:<refundId> / void:<saleId> for reverse…
  key           text,
  redemption_id uuid REFERENCES loyalty_ledger (id),
  reference     text,
  note          text,
  actor_id      text        NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
  CHECK (points <> 0 OR kind = 'reverse'),
  CHECK (kind <> 'redeem' OR (points < 0 AND key IS NOT NULL)),
  CHECK (kind <> 'redeem_refund' OR (points > 0 AND redemption_id IS NOT NULL))
);
-- A redemption key (and every other entry key) is used once per tenant.
CREATE UNIQUE INDEX loyalty_ledger_key_unique ON loyalty_ledger (tenant_id, kind, key) WHERE key IS NOT NULL;
CREATE INDEX loyalty_ledger_customer_idx ON loyalty_ledger (tenant_id, customer_id, seq);
CREATE INDEX loyalty_ledger_redemption_idx ON loyalty_ledger (redemption_id) WHERE redemption_id IS NOT NULL;

CREATE FUNCTION customers.refuse_ledger_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'loyalty ledger entries are immutable' USING ERRCODE = 'P0001';
END $$;
CREATE TRIGGER loyalty_ledger_immutable BEFORE UPDATE OR DELETE ON loyalty_ledger
  FOR EACH ROW EXECUTE FUNCTION customers.refuse_ledger_change();

-- A refund (compensation) of a redemption that never arrived: a late redemption with the key is refused.
CREATE TABLE loyalty_redemption_tombstones (
  tenant_id   uuid        NOT NULL,
  key         text        NOT NULL,
  customer_id uuid        NOT NULL REFERENCES customers (id),
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, key)
);

-- Purchase history: one row per sale with a customer, from sale.completed / refunded / voided.
CREATE TABLE customer_sales (
  tenant_id       uuid        NOT NULL,
  sale_id         uuid        NOT NULL,
  customer_id     uuid        NOT NULL REFERENCES customers (id),
  store_id        uuid        NOT NULL,
  receipt_number  integer,
  currency        char(3)     NOT NULL,
  total           bigint      NOT NULL,
  refunded_total  bigint      NOT NULL DEFAULT 0,
  status          text        NOT NULL CHECK (status IN ('completed', 'partially_refunded', 'refunded', 'voided')),
  occurred_at     timestamptz NOT NULL,
  business_date   date        NOT NULL,
  points_earned   bigint      NOT NULL DEFAULT 0,
  -- Points due back from refunds and voids (the ledger shows what could actually be taken back).
  points_reversed bigint      NOT NULL DEFAULT 0 CHECK (points_reversed <= points_earned),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, sale_id)
);
CREATE INDEX customer_sales_customer_idx ON customer_sales (tenant_id, customer_id, occurred_at DESC, sale_id DESC);

-- Refunds applied to the projection (each once).
CREATE TABLE customer_sale_refunds (
  tenant_id   uuid        NOT NULL,
  refund_id   uuid        NOT NULL,
  sale_id     uuid        NOT NULL,
  total       bigint      NOT NULL,
  occurred_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, refund_id),
  FOREIGN KEY (tenant_id, sale_id) REFERENCES customer_sales (tenant_id, sale_id)
);
CREATE INDEX customer_sale_refunds_sale_idx ON customer_sale_refunds (tenant_id, sale_id);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['customers', 'consent_changes', 'loyalty_rules', 'loyalty_ledger', 'loyalty_redemption_tombstones', 'customer_sales', 'customer_sale_refunds'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($p$CREATE POLICY tenant_isolation ON %I
      USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
      WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)$p$, t);
  END LOOP;
END $$;

-- Down Migration
DROP TABLE customer_sale_refunds;
DROP TABLE customer_sales;
DROP TABLE loyalty_redemption_tombstones;
DROP TRIGGER loyalty_ledger_immutable ON loyalty_ledger;
DROP TABLE loyalty_ledger;
DROP FUNCTION customers.refuse_ledger_change();
DROP TABLE loyalty_rules;
DROP TABLE consent_changes;
DROP TABLE customers;
DROP FUNCTION customers.search_text(text);
