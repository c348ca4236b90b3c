-- Offline sales (POS-DESIGN §11): a sale a terminal made without a connection and synced later. It
-- keeps when it happened (occurred_at, which also dates created_at/completed_at and the business
-- date) apart from when the server got it (synced_at), which terminal made it, and flags that a
-- manager reviews. An offline sale may have no shift: it must never be refused for want of one.

-- Up Migration
ALTER TABLE sales
  ADD COLUMN occurred_at timestamptz,
  ADD COLUMN terminal_id text,
  ADD COLUMN synced_at   timestamptz,
  ADD COLUMN flags       text[] NOT NULL DEFAULT '{}',
  ALTER COLUMN shift_id DROP NOT NULL,
  ADD CONSTRAINT sales_offline_fields CHECK ((occurred_at IS NULL) = (terminal_id IS NULL) AND (occurred_at IS NULL) = (synced_at IS NULL)),
  ADD CONSTRAINT sales_shift_required CHECK (shift_id IS NOT NULL OR occurred_at IS NOT NULL),
  ADD CONSTRAINT sales_flags_known CHECK (flags <@ ARRAY['price_mismatch', 'negative_stock', 'product_inactive', 'shift_closed', 'outside_shift', 'no_shift']::text[]);
CREATE INDEX sales_flagged_idx ON sales (tenant_id, created_at, id) WHERE flags <> '{}';

-- Down Migration
DROP INDEX sales_flagged_idx;
ALTER TABLE sales
  DROP CONSTRAINT sales_flags_known,
  DROP CONSTRAINT sales_shift_required,
  DROP CONSTRAINT sales_offline_fields,
  DROP COLUMN flags,
  DROP COLUMN synced_at,
  DROP COLUMN terminal_id,
  DROP COLUMN occurred_at,
  ALTER COLUMN shift_id SET NOT NULL;
