-- The `loyalty` method (POS-DESIGN §11 "Tenders"): points redeemed at customer-service with the
-- payment's Idempotency-Key as the redemption key. The payment keeps the customer, the points it
-- redeemed and the customer's points balance after the attempt (after the redemption when captured,
-- what was available when declined for insufficient points).

-- Up Migration
ALTER TABLE payments DROP CONSTRAINT payments_method_check;
ALTER TABLE payments ADD CONSTRAINT payments_method_check CHECK (method IN ('cash', 'card', 'external_card', 'gift_card', 'loyalty'));
ALTER TABLE payments
  ADD COLUMN customer_id           uuid,
  ADD COLUMN loyalty_points        bigint CHECK (loyalty_points > 0),
  ADD COLUMN loyalty_balance_after bigint CHECK (loyalty_balance_after >= 0);
ALTER TABLE payments ADD CONSTRAINT payments_loyalty_check
  CHECK (method IS DISTINCT FROM 'loyalty' OR (customer_id IS NOT NULL AND loyalty_points IS NOT NULL));

-- Down Migration
ALTER TABLE payments DROP CONSTRAINT payments_loyalty_check;
ALTER TABLE payments DROP COLUMN loyalty_balance_after, DROP COLUMN loyalty_points, DROP COLUMN customer_id;
ALTER TABLE payments DROP CONSTRAINT payments_method_check;
ALTER TABLE payments ADD CONSTRAINT payments_method_check CHECK (method IN ('cash', 'card', 'external_card', 'gift_card'));
