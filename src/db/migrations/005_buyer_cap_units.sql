-- RULE: NO-STOCKPILING - what counts against a buyer's per-product cap: the
-- units of every live order (not cancelled, not refunded), by buyer, product
-- and time. The check at each order sums a few entries of one index instead
-- of walking the buyer's whole order history (and each order's items).
-- An order leaves it when it is cancelled or refunded whole.
CREATE TABLE buyer_cap_units (
    id INTEGER PRIMARY KEY,
    buyer_id BIGINT NOT NULL,
    product_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    order_id BIGINT NOT NULL REFERENCES orders(id),
    qty BIGINT NOT NULL CHECK (qty > 0)
);
CREATE INDEX buyer_cap_units_sum ON buyer_cap_units (buyer_id, product_id, created_at, qty);

INSERT INTO buyer_cap_units (buyer_id, product_id, created_at, order_id, qty)
SELECT o.buyer_id, i.product_id, o.created_at, o.id, i.qty
FROM order_items i JOIN orders o ON o.id = i.order_id
WHERE o.status <> 'cancelled' AND o.status <> 'refunded';
