-- A payment reference is unique per shop and provider, not across shops: one shop must
-- not be able to learn or block another's references. SQLite cannot change a UNIQUE
-- constraint in place, so the table is rebuilt with the same columns, rows and index.
CREATE TABLE payments_new (
    id INTEGER PRIMARY KEY,
    shop_id BIGINT NOT NULL,
    order_id BIGINT NOT NULL REFERENCES orders(id),
    provider TEXT NOT NULL,
    reference TEXT NOT NULL,
    amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
    created_at BIGINT NOT NULL,
    UNIQUE (shop_id, provider, reference)
);
INSERT INTO payments_new (id, shop_id, order_id, provider, reference, amount_fen, created_at)
    SELECT id, shop_id, order_id, provider, reference, amount_fen, created_at FROM payments;
DROP TABLE payments;
ALTER TABLE payments_new RENAME TO payments;
CREATE INDEX payments_order ON payments (order_id);
