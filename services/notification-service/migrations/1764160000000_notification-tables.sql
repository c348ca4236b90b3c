-- notifications schema: per-tenant settings and template overrides (defaults live in code), browser
-- push subscriptions, and durable deliveries with one row per sending attempt.
-- created_at of listed tables is kept at millisecond precision so keyset cursors compare exactly.

-- Up Migration
CREATE TABLE settings (
  tenant_id             uuid PRIMARY KEY,
  -- Receipt emails to customers after a sale are opt-in per tenant.
  receipt_emails        boolean     NOT NULL DEFAULT false,
  -- Always copied on low-stock alerts, besides the store's managers.
  low_stock_recipients  text[]      NOT NULL DEFAULT '{}',
  version               integer     NOT NULL DEFAULT 1,
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE templates (
  tenant_id  uuid        NOT NULL,
  name       text        NOT NULL CHECK (name ~ '^[a-z][a-z0-9_]{0,63}$'),
  subject    text        NOT NULL,
  text_body  text        NOT NULL,
  html_body  text,
  version    integer     NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, name)
);

CREATE TABLE push_subscriptions (
  id         uuid PRIMARY KEY,
  tenant_id  uuid        NOT NULL,
  user_id    text        NOT NULL,
  device_id  text        NOT NULL,
  endpoint   text        NOT NULL,
  p256dh     text        NOT NULL,
  auth       text        NOT NULL,
  user_agent text,
  created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, user_id, device_id),
  -- A browser's endpoint belongs to whoever registered it last in the tenant.
  UNIQUE (tenant_id, endpoint)
);

CREATE TABLE deliveries (
  id                  uuid PRIMARY KEY,
  tenant_id           uuid        NOT NULL,
  channel             text        NOT NULL CHECK (channel IN ('email', 'sms', 'push')),
  status              text        NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
  -- Email addresses, one phone number (E.164) or one user id (push).
  recipients          text[]      NOT NULL DEFAULT '{}',
  template            text,
  subject             text,
  body_text           text,
  body_html           text,
  -- Template variables still to be rendered (after a contact lookup), and push payload fields.
  data                jsonb,
  -- A contact lookup the worker does before sending: {"kind":"customer","customerId"} or {"kind":"store_managers","storeId"}.
  lookup              jsonb,
  -- Bodies that carry a one-time token (invitations, password resets): wiped once final, never shown.
  sensitive           boolean     NOT NULL DEFAULT false,
  source              text        NOT NULL CHECK (source IN ('api', 'event')),
  event_id            uuid,
  event_type          text,
  request_key         text,
  request_id          text,
  requested_by        text,
  attempts            integer     NOT NULL DEFAULT 0,
  max_attempts        integer     NOT NULL CHECK (max_attempts > 0),
  next_attempt_at     timestamptz NOT NULL DEFAULT now(),
  lease_until         timestamptz,
  worker              text,
  last_error          text,
  provider_message_id text,
  -- Push: subscriptions already served, so a retry only goes to the devices that failed.
  delivered_to        text[]      NOT NULL DEFAULT '{}',
  sent_at             timestamptz,
  failed_at           timestamptz,
  created_at          timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  CHECK ((status = 'sending') = (lease_until IS NOT NULL)),
  -- One message per event and channel, even if the inbox record were lost.
  UNIQUE (tenant_id, event_id, channel),
  -- One message per Idempotency-Key and channel, even when the idempotency lease was taken over.
  UNIQUE (tenant_id, channel, request_key)
);
CREATE INDEX deliveries_due_idx ON deliveries (next_attempt_at) WHERE status = 'queued';
CREATE INDEX deliveries_lease_idx ON deliveries (lease_until) WHERE status = 'sending';
CREATE INDEX deliveries_log_idx ON deliveries (tenant_id, created_at DESC, id DESC);
CREATE INDEX deliveries_log_status_idx ON deliveries (tenant_id, status, created_at DESC, id DESC);

CREATE TABLE attempts (
  id          uuid PRIMARY KEY,
  tenant_id   uuid        NOT NULL,
  delivery_id uuid        NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
  attempt_no  integer     NOT NULL,
  worker      text        NOT NULL,
  -- NULL while running; 'abandoned' when its worker died and the lease lapsed.
  outcome     text CHECK (outcome IN ('sent', 'error', 'abandoned')),
  error       text,
  started_at  timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  UNIQUE (delivery_id, attempt_no)
);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['settings', 'templates', 'push_subscriptions', 'deliveries', 'attempts'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($p$CREATE POLICY tenant_isolation ON %I
      USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
      WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)$p$, t);
  END LOOP;
END $$;

-- Down Migration
DROP TABLE attempts;
DROP TABLE deliveries;
DROP TABLE push_subscriptions;
DROP TABLE templates;
DROP TABLE settings;
