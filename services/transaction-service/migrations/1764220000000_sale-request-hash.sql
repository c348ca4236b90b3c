-- A sale is its own idempotency record (POS-DESIGN §11: idempotent commands keyed by a request id):
-- sales are unique on (tenant, key) already, so the hash of the request that created one is enough
-- to refuse the same key with a different request (422), and the extra fields of its failure
-- (shortages, decline code, available balance) let a retry get the same answer. The general
-- idempotency record cost every checkout two more transactions.

-- Up Migration
ALTER TABLE sales
  ADD COLUMN request_hash    text,
  ADD COLUMN failure_details jsonb;

-- Down Migration
ALTER TABLE sales
  DROP COLUMN failure_details,
  DROP COLUMN request_hash;
