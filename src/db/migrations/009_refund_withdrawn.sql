-- A buyer may withdraw a refund request that the shop has not decided yet
-- (status 'withdrawn', decided_at/decided_by: when and by whom). SQLite
-- cannot change a CHECK constraint in place, so the table is rebuilt with
-- the same columns, rows and indexes.
CREATE TABLE refunds_new (
    id INTEGER PRIMARY KEY,
    shop_id BIGINT NOT NULL,
    order_id BIGINT NOT NULL REFERENCES orders(id),
    amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
    reason TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('requested', 'approved', 'rejected', 'withdrawn')),
    requested_by BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    decided_at BIGINT,
    decided_by BIGINT,
    note TEXT NOT NULL DEFAULT ''
);
INSERT INTO refunds_new (id, shop_id, order_id, amount_fen, reason, status, requested_by,
                         created_at, decided_at, decided_by, note)
    SELECT id, shop_id, order_id, amount_fen, reason, status, requested_by, created_at,
           decided_at, decided_by, note FROM refunds;
DROP TABLE refunds;
ALTER TABLE refunds_new RENAME TO refunds;
CREATE INDEX refunds_order ON refunds (order_id);
CREATE INDEX refunds_shop ON refunds (shop_id, status, id);
