-- Two-level distribution (issue 5): trials, promoters, bindings, attribution,
-- commissions, the double-entry ledger, withdrawals and audit events.
-- Money is integer fen; rates are basis points.

ALTER TABLE shops ADD COLUMN l2_active_days BIGINT NOT NULL DEFAULT 30;
ALTER TABLE shops ADD COLUMN withdraw_min_fen BIGINT NOT NULL DEFAULT 1000;
ALTER TABLE shops ADD COLUMN withdraw_daily_fen BIGINT NOT NULL DEFAULT 500000;

-- RULE: EXPERIENCE-FIRST - a free trial the shop granted counts as experience.
CREATE TABLE trials (
    id INTEGER PRIMARY KEY,
    shop_id BIGINT NOT NULL REFERENCES shops(id),
    product_id BIGINT NOT NULL REFERENCES products(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    granted_by BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (shop_id, product_id, user_id)
);
CREATE INDEX trials_user ON trials (user_id, shop_id);

-- RULE: TWO-LEVELS - a promoter stores at most its inviter: one id, nothing further up.
CREATE TABLE promoters (
    id INTEGER PRIMARY KEY,
    shop_id BIGINT NOT NULL REFERENCES shops(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    inviter_id BIGINT REFERENCES promoters(id),
    status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'suspended')),
    invite_code TEXT NOT NULL UNIQUE,
    ref_token TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    approved_at BIGINT,
    updated_at BIGINT NOT NULL,
    UNIQUE (shop_id, user_id),
    CHECK (inviter_id IS NULL OR inviter_id <> id)
);
CREATE INDEX promoters_inviter ON promoters (inviter_id);

-- RULE: BINDING - the customer's current promoter in a shop, and every change.
CREATE TABLE bindings (
    shop_id BIGINT NOT NULL REFERENCES shops(id),
    customer_id BIGINT NOT NULL REFERENCES users(id),
    promoter_id BIGINT NOT NULL REFERENCES promoters(id),
    bound_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (shop_id, customer_id)
);
CREATE INDEX bindings_promoter ON bindings (promoter_id, expires_at);

CREATE TABLE binding_history (
    id INTEGER PRIMARY KEY,
    shop_id BIGINT NOT NULL,
    customer_id BIGINT NOT NULL,
    promoter_id BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('bound', 'unbound', 'replaced')),
    at BIGINT NOT NULL,
    expires_at BIGINT
);
CREATE INDEX binding_history_customer ON binding_history (shop_id, customer_id, id);

-- Attribution of an order: the level-1 promoter, and how (a link or a binding).
ALTER TABLE orders ADD COLUMN promoter_id BIGINT;
ALTER TABLE orders ADD COLUMN attributed_via TEXT;
CREATE INDEX orders_promoter ON orders (promoter_id, paid_at);

-- One row per order and level; level 1 or 2 and nothing else (RULE: TWO-LEVELS).
-- weighted_bps_fen = sum over the items of line_fen * bps: the commission of a
-- level is floor(weighted * (total - refunded) / (total * 10000)).
CREATE TABLE commissions (
    id INTEGER PRIMARY KEY,
    shop_id BIGINT NOT NULL,
    order_id BIGINT NOT NULL REFERENCES orders(id),
    level INTEGER NOT NULL CHECK (level IN (1, 2)),
    promoter_id BIGINT NOT NULL REFERENCES promoters(id),
    weighted_bps_fen BIGINT NOT NULL CHECK (weighted_bps_fen >= 0),
    earned_fen BIGINT NOT NULL CHECK (earned_fen >= 0),
    amount_fen BIGINT NOT NULL CHECK (amount_fen >= 0),
    status TEXT NOT NULL CHECK (status IN ('pending', 'available', 'reversed', 'withheld')),
    note TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    settled_at BIGINT,
    UNIQUE (order_id, level),
    CHECK (amount_fen <= earned_fen)
);
CREATE INDEX commissions_promoter ON commissions (promoter_id, id);
CREATE INDEX commissions_shop ON commissions (shop_id, order_id);
-- The settlement job walks the pending ones only, in id order.
CREATE INDEX commissions_pending ON commissions (id) WHERE status = 'pending';

-- The ledger: accounts with a cached balance (verified by `quanzi ledger check`),
-- append-only transactions whose entries sum to zero.
CREATE TABLE ledger_accounts (
    id INTEGER PRIMARY KEY,
    shop_id BIGINT NOT NULL REFERENCES shops(id),
    kind TEXT NOT NULL CHECK (kind IN ('external', 'revenue', 'commission',
                                       'pending', 'available', 'withdrawing')),
    promoter_id BIGINT NOT NULL DEFAULT 0,
    balance_fen BIGINT NOT NULL DEFAULT 0,
    UNIQUE (shop_id, kind, promoter_id)
);

CREATE TABLE ledger_txns (
    id INTEGER PRIMARY KEY,
    shop_id BIGINT NOT NULL REFERENCES shops(id),
    kind TEXT NOT NULL,
    ref_id BIGINT NOT NULL,
    memo TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX ledger_txns_shop ON ledger_txns (shop_id, id);

CREATE TABLE ledger_entries (
    id INTEGER PRIMARY KEY,
    txn_id BIGINT NOT NULL REFERENCES ledger_txns(id),
    shop_id BIGINT NOT NULL,
    account_id BIGINT NOT NULL REFERENCES ledger_accounts(id),
    amount_fen BIGINT NOT NULL CHECK (amount_fen <> 0)
);
CREATE INDEX ledger_entries_txn ON ledger_entries (txn_id);
CREATE INDEX ledger_entries_account ON ledger_entries (account_id);

CREATE TABLE withdrawals (
    id INTEGER PRIMARY KEY,
    shop_id BIGINT NOT NULL REFERENCES shops(id),
    promoter_id BIGINT NOT NULL REFERENCES promoters(id),
    amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
    status TEXT NOT NULL CHECK (status IN ('requested', 'approved', 'paid', 'rejected')),
    reference TEXT,
    note TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    decided_at BIGINT,
    paid_at BIGINT,
    decided_by BIGINT
);
CREATE INDEX withdrawals_promoter ON withdrawals (promoter_id, created_at);
CREATE INDEX withdrawals_shop ON withdrawals (shop_id, id);

-- What the rules refused, for the audit: self purchases, invite cycles.
CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY,
    shop_id BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('self_purchase', 'self_invite', 'invite_cycle')),
    user_id BIGINT NOT NULL,
    ref_id BIGINT,
    detail TEXT NOT NULL DEFAULT '',
    at BIGINT NOT NULL
);
CREATE INDEX audit_events_shop ON audit_events (shop_id, kind, id);
