-- auth schema: tenants, stores, users, credentials, refresh tokens, reset tokens, signing keys.
-- created_at of listed tables is kept at millisecond precision so keyset cursors, which carry a
-- JavaScript Date, compare exactly.

-- Up Migration
CREATE TABLE tenants (
  id         uuid PRIMARY KEY,
  name       text        NOT NULL,
  version    integer     NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE stores (
  id                   uuid PRIMARY KEY,
  tenant_id            uuid        NOT NULL REFERENCES tenants (id),
  name                 text        NOT NULL,
  currency             char(3)     NOT NULL,
  timezone             text        NOT NULL,
  tax_inclusive        boolean     NOT NULL DEFAULT false,
  allow_negative_stock boolean     NOT NULL DEFAULT false,
  address              jsonb,
  active               boolean     NOT NULL DEFAULT true,
  version              integer     NOT NULL DEFAULT 1,
  created_at           timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stores_tenant_created_idx ON stores (tenant_id, created_at, id);

CREATE TABLE users (
  id                 uuid PRIMARY KEY,
  tenant_id          uuid        NOT NULL REFERENCES tenants (id),
  email              text        NOT NULL,
  name               text        NOT NULL,
  role               text        NOT NULL CHECK (role IN ('owner', 'manager', 'cashier')),
  store_ids          uuid[]      NOT NULL DEFAULT '{}',
  password_hash      text,
  pin_hash           text,
  active             boolean     NOT NULL DEFAULT true,
  failed_logins      integer     NOT NULL DEFAULT 0,
  locked_until       timestamptz,
  failed_pins        integer     NOT NULL DEFAULT 0,
  pin_locked_until   timestamptz,
  last_login_at      timestamptz,
  version            integer     NOT NULL DEFAULT 1,
  created_at         timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  updated_at         timestamptz NOT NULL DEFAULT now()
);
-- Emails are globally unique (POS-DESIGN §11): login finds the tenant from the email.
CREATE UNIQUE INDEX users_email_unique ON users (lower(email));
CREATE INDEX users_tenant_created_idx ON users (tenant_id, created_at, id);

CREATE TABLE refresh_tokens (
  id             uuid PRIMARY KEY,
  tenant_id      uuid        NOT NULL REFERENCES tenants (id),
  user_id        uuid        NOT NULL REFERENCES users (id),
  family_id      uuid        NOT NULL,
  token_hash     text        NOT NULL UNIQUE,
  -- A PIN session is limited to the store it was opened at; null means the user's stores.
  store_scope    uuid[],
  expires_at     timestamptz NOT NULL,
  rotated_at     timestamptz,
  -- The pair issued at rotation, encrypted with a key derived from this (old) token, so a client
  -- that lost the rotation response can get it once more within the grace window (§11).
  grace_pair     text,
  grace_used_at  timestamptz,
  revoked_at     timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

CREATE TABLE credential_tokens (
  id         uuid PRIMARY KEY,
  tenant_id  uuid        NOT NULL REFERENCES tenants (id),
  user_id    uuid        NOT NULL REFERENCES users (id),
  purpose    text        NOT NULL CHECK (purpose IN ('invite', 'password_reset')),
  token_hash text        NOT NULL UNIQUE,
  expires_at timestamptz NOT NULL,
  used_at    timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Platform-wide, not tenant data: no row-level security.
CREATE TABLE signing_keys (
  kid             text PRIMARY KEY,
  alg             text        NOT NULL,
  public_jwk      jsonb       NOT NULL,
  private_key_enc text        NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  retired_at      timestamptz
);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['stores', 'users', 'refresh_tokens', 'credential_tokens'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($p$CREATE POLICY tenant_isolation ON %I
      USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
      WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)$p$, t);
  END LOOP;
END $$;
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants
  USING (id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  WITH CHECK (id = nullif(current_setting('app.tenant_id', true), '')::uuid);

-- Requests that arrive without a tenant (login by email, refresh, reset confirm) find the tenant
-- through these point lookups; they return ids only, and the rest is read under RLS.
-- They run as their owner, which must be a superuser or hold BYPASSRLS (docs/database.md).
CREATE FUNCTION auth.find_login(p_email text) RETURNS TABLE (user_id uuid, tenant_id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$ SELECT u.id, u.tenant_id FROM auth.users u WHERE lower(u.email) = lower(p_email) $$;

CREATE FUNCTION auth.find_refresh_token_tenant(p_hash text) RETURNS uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$ SELECT r.tenant_id FROM auth.refresh_tokens r WHERE r.token_hash = p_hash $$;

CREATE FUNCTION auth.find_credential_token_tenant(p_hash text) RETURNS uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$ SELECT c.tenant_id FROM auth.credential_tokens c WHERE c.token_hash = p_hash $$;

REVOKE ALL ON FUNCTION auth.find_login(text), auth.find_refresh_token_tenant(text), auth.find_credential_token_tenant(text) FROM PUBLIC;

-- Down Migration
DROP FUNCTION auth.find_credential_token_tenant(text);
DROP FUNCTION auth.find_refresh_token_tenant(text);
DROP FUNCTION auth.find_login(text);
DROP TABLE signing_keys;
DROP TABLE credential_tokens;
DROP TABLE refresh_tokens;
DROP TABLE users;
DROP TABLE stores;
DROP TABLE tenants;
