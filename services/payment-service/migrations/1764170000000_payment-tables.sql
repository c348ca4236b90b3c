-- payments schema: payments (one row per tender, unique per tenant + Idempotency-Key), refunds,
-- gift cards with an append-only balance ledger. No card numbers or security codes are ever stored:
-- only a processor token, the brand and the last four digits. Gift card codes are stored as an HMAC.
-- created_at of listed tables is kept at millisecond precision so keyset cursors compare exactly.

-- Up Migration
CREATE TABLE gift_cards (
  id         uuid PRIMARY KEY,
  tenant_id  uuid        NOT NULL,
  code_hash  text        NOT NULL,
  last4      text        NOT NULL,
  currency   char(3)     NOT NULL,
  balance    bigint      NOT NULL CHECK (balance >= 0),
  active     boolean     NOT NULL DEFAULT true,
  created_by text        NOT NULL,
  version    integer     NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, code_hash)
);

CREATE TABLE gift_card_ledger (
  id            uuid PRIMARY KEY,
  tenant_id     uuid        NOT NULL,
  gift_card_id  uuid        NOT NULL REFERENCES gift_cards (id),
  kind          text        NOT NULL CHECK (kind IN ('issue', 'load', 'redeem', 'refund', 'void')),
  -- Signed: redeem takes money off the card, everything else puts it on.
  amount        bigint      NOT NULL CHECK (amount <> 0),
  balance_after bigint      NOT NULL CHECK (balance_after >= 0),
  payment_id    uuid,
  refund_id     uuid,
  actor_id      text        NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp())
);
CREATE INDEX gift_card_ledger_card_idx ON gift_card_ledger (gift_card_id, created_at, id);

-- The ledger is append-only: a correction is a new entry, never an edit.
CREATE FUNCTION payments.refuse_ledger_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'gift card ledger entries are immutable' USING ERRCODE = 'P0001';
END $$;
CREATE TRIGGER gift_card_ledger_immutable BEFORE UPDATE OR DELETE ON gift_card_ledger
  FOR EACH ROW EXECUTE FUNCTION payments.refuse_ledger_change();

CREATE TABLE payments (
  id                      uuid PRIMARY KEY,
  tenant_id               uuid        NOT NULL,
  -- The request's Idempotency-Key: a payment is unique per (tenant, key), independently of the
  -- idempotency middleware, so a retry after its lease lapsed can never capture twice.
  idempotency_key         text        NOT NULL,
  -- A tombstone (void-by-key before any capture) has no transaction, store, method or money.
  tombstone               boolean     NOT NULL DEFAULT false,
  transaction_id          uuid,
  store_id                uuid,
  method                  text CHECK (method IN ('cash', 'card', 'external_card', 'gift_card')),
  amount                  bigint CHECK (amount > 0),
  currency                char(3),
  status                  text        NOT NULL CHECK (status IN ('pending', 'captured', 'declined', 'failed', 'voided')),
  refunded_amount         bigint      NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0),
  request_hash            text,
  card_token              text,
  card_brand              text,
  card_last4              text CHECK (card_last4 ~ '^[0-9]{4}$'),
  gift_card_id            uuid REFERENCES gift_cards (id),
  gift_card_last4         text,
  gift_card_balance_after bigint,
  processor               text,
  processor_ref           text,
  failure_code            text,
  failure_reason          text,
  created_by              text        NOT NULL,
  voided_at               timestamptz,
  version                 integer     NOT NULL DEFAULT 1,
  created_at              timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
  updated_at              timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, idempotency_key),
  CHECK (tombstone = (method IS NULL)),
  CHECK (tombstone OR (transaction_id IS NOT NULL AND store_id IS NOT NULL AND amount IS NOT NULL AND currency IS NOT NULL)),
  CHECK (tombstone OR refunded_amount <= amount),
  CHECK (NOT tombstone OR status = 'voided')
);
CREATE INDEX payments_transaction_idx ON payments (tenant_id, transaction_id, created_at, id);
CREATE INDEX payments_store_idx ON payments (tenant_id, store_id, created_at, id);
CREATE INDEX payments_created_idx ON payments (tenant_id, created_at, id);

CREATE TABLE refunds (
  id              uuid PRIMARY KEY,
  tenant_id       uuid        NOT NULL,
  payment_id      uuid        NOT NULL REFERENCES payments (id),
  idempotency_key text        NOT NULL,
  amount          bigint      NOT NULL CHECK (amount > 0),
  currency        char(3)     NOT NULL,
  reason          text,
  processor_ref   text,
  created_by      text        NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
  UNIQUE (tenant_id, payment_id, idempotency_key)
);
CREATE INDEX refunds_payment_idx ON refunds (payment_id, created_at, id);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['gift_cards', 'gift_card_ledger', 'payments', 'refunds'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($p$CREATE POLICY tenant_isolation ON %I
      USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
      WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)$p$, t);
  END LOOP;
END $$;

-- Down Migration
DROP TABLE refunds;
DROP TABLE payments;
DROP TRIGGER gift_card_ledger_immutable ON gift_card_ledger;
DROP TABLE gift_card_ledger;
DROP FUNCTION payments.refuse_ledger_change();
DROP TABLE gift_cards;
