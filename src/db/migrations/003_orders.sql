-- Orders, their items and timeline, payments, refunds, idempotency keys (issue 4).
-- Money is integer fen; prices are copied into the order at creation.

CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    shop_id BIGINT NOT NULL REFERENCES shops(id),
    buyer_id BIGINT NOT NULL REFERENCES users(id),
    status TEXT NOT NULL CHECK (status IN ('created', 'paid', 'shipped', 'delivered',
                                           'completed', 'cancelled', 'refunded')),
    total_fen BIGINT NOT NULL CHECK (total_fen > 0),
    refunded_fen BIGINT NOT NULL DEFAULT 0 CHECK (refunded_fen >= 0),
    share_token TEXT,
    address_name TEXT NOT NULL,
    address_phone TEXT NOT NULL,
    address_region TEXT NOT NULL,
    address_line TEXT NOT NULL,
    carrier TEXT,
    tracking TEXT,
    pay_deadline_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    paid_at BIGINT,
    shipped_at BIGINT,
    delivered_at BIGINT,
    completed_at BIGINT,
    cancelled_at BIGINT,
    updated_at BIGINT NOT NULL,
    CHECK (refunded_fen <= total_fen)
);
CREATE INDEX orders_shop ON orders (shop_id, id);
CREATE INDEX orders_buyer ON orders (buyer_id, id);
CREATE INDEX orders_status ON orders (status, id);

CREATE TABLE order_items (
    shop_id BIGINT NOT NULL,
    order_id BIGINT NOT NULL REFERENCES orders(id),
    product_id BIGINT NOT NULL REFERENCES products(id),
    title TEXT NOT NULL,
    price_fen BIGINT NOT NULL CHECK (price_fen > 0),
    qty BIGINT NOT NULL CHECK (qty > 0),
    line_fen BIGINT NOT NULL CHECK (line_fen > 0),
    PRIMARY KEY (order_id, product_id)
);
CREATE INDEX order_items_product ON order_items (product_id);

-- The timeline: one row per transition, append-only.
CREATE TABLE order_events (
    id INTEGER PRIMARY KEY,
    shop_id BIGINT NOT NULL,
    order_id BIGINT NOT NULL REFERENCES orders(id),
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    actor_id BIGINT,                   -- NULL: the system (a job)
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX order_events_order ON order_events (order_id, id);

-- Each payment notification has exactly one effect: (provider, reference) is unique.
CREATE TABLE payments (
    id INTEGER PRIMARY KEY,
    shop_id BIGINT NOT NULL,
    order_id BIGINT NOT NULL REFERENCES orders(id),
    provider TEXT NOT NULL,
    reference TEXT NOT NULL,
    amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
    created_at BIGINT NOT NULL,
    UNIQUE (provider, reference)
);
CREATE INDEX payments_order ON payments (order_id);

CREATE TABLE refunds (
    id INTEGER PRIMARY KEY,
    shop_id BIGINT NOT NULL,
    order_id BIGINT NOT NULL REFERENCES orders(id),
    amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
    reason TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('requested', 'approved', 'rejected')),
    requested_by BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    decided_at BIGINT,
    decided_by BIGINT,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX refunds_order ON refunds (order_id);

-- Idempotency-Key of a create: same key + same body -> the stored response.
CREATE TABLE idempotency_keys (
    user_id BIGINT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'done')),
    status_code INTEGER,
    response TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
