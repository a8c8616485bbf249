-- The experience loop (issue 14): buyers' feedback on delivered orders, and
-- the shop's follow-up tasks after each delivery.

-- One feedback per order, by its buyer, after delivery.
CREATE TABLE feedback (
    id INTEGER PRIMARY KEY,
    shop_id BIGINT NOT NULL REFERENCES shops(id),
    order_id BIGINT NOT NULL UNIQUE REFERENCES orders(id),
    buyer_id BIGINT NOT NULL REFERENCES users(id),
    rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    text TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX feedback_shop ON feedback (shop_id, id);

-- The products a feedback speaks of (the order's items), for the product page and the feed.
CREATE TABLE feedback_products (
    product_id BIGINT NOT NULL REFERENCES products(id),
    feedback_id BIGINT NOT NULL REFERENCES feedback(id),
    buyer_id BIGINT NOT NULL,
    PRIMARY KEY (product_id, feedback_id)
);
CREATE INDEX feedback_products_buyer ON feedback_products (buyer_id, product_id);

-- What the shop should do after a delivery: ask how it is going (experience, a few days
-- after), remind a consumable's buyer (repurchase, at the product's repurchase_days).
CREATE TABLE followups (
    id INTEGER PRIMARY KEY,
    shop_id BIGINT NOT NULL REFERENCES shops(id),
    order_id BIGINT NOT NULL REFERENCES orders(id),
    buyer_id BIGINT NOT NULL REFERENCES users(id),
    product_id BIGINT REFERENCES products(id),     -- the consumable, for a repurchase reminder
    kind TEXT NOT NULL CHECK (kind IN ('experience', 'repurchase')),
    due_at BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'done')),
    note TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    done_at BIGINT,
    done_by BIGINT
);
CREATE INDEX followups_shop ON followups (shop_id, status, id);
CREATE INDEX followups_order ON followups (order_id);
