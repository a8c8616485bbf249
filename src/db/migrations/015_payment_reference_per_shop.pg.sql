-- A payment reference is unique per shop and provider; see 015_payment_reference_per_shop.sql.
ALTER TABLE payments DROP CONSTRAINT payments_provider_reference_key;
ALTER TABLE payments ADD CONSTRAINT payments_shop_provider_reference_key
    UNIQUE (shop_id, provider, reference);
