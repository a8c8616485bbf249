-- Precise propagation (issue 14): shares and their audience (the feed is the
-- delivered part of it), mutes, reports, and the events behind trust.

-- RULE: TRUST-REACH - below trust_min a share reaches only the trust_reach most similar.
ALTER TABLE shops ADD COLUMN trust_min_milli BIGINT NOT NULL DEFAULT 300;
ALTER TABLE shops ADD COLUMN trust_reach BIGINT NOT NULL DEFAULT 20;
-- RULE: FREQUENCY-CAP - recommendations one member receives from the shop in a China day.
ALTER TABLE shops ADD COLUMN feed_daily_shop BIGINT NOT NULL DEFAULT 1;

-- RULE: TWO-HOPS - hop 1 has no parent; hop 2 has a hop-1 parent; there is no hop 3.
CREATE TABLE shares (
    id INTEGER PRIMARY KEY,
    shop_id BIGINT NOT NULL REFERENCES shops(id),
    product_id BIGINT NOT NULL REFERENCES products(id),
    sharer_id BIGINT NOT NULL REFERENCES users(id),
    promoter_id BIGINT REFERENCES promoters(id),   -- the sharer as an active promoter, if so
    parent_id BIGINT REFERENCES shares(id),
    root_id BIGINT NOT NULL,                       -- the hop-1 share of the chain (itself at hop 1)
    hop INTEGER NOT NULL CHECK (hop IN (1, 2)),
    circle_id BIGINT REFERENCES circles(id),       -- NULL: the sharer's contacts
    token TEXT NOT NULL UNIQUE,
    note TEXT NOT NULL DEFAULT '',
    trust_milli BIGINT,                            -- the sharer's trust then (promoters only)
    -- RULE: SHARE-NEEDS-EXPERIENCE - the sharer's evidence: 'order' (delivered), 'trial', or
    -- 'shop' (the shop's own people), and when they had it
    experience TEXT NOT NULL CHECK (experience IN ('order', 'trial', 'shop')),
    experienced_at BIGINT,
    candidates BIGINT NOT NULL DEFAULT 0,
    delivered BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    CHECK ((hop = 1) = (parent_id IS NULL))
);
CREATE INDEX shares_sharer ON shares (sharer_id, id);
CREATE INDEX shares_shop ON shares (shop_id, id);
CREATE INDEX shares_parent ON shares (parent_id);

-- Everyone a share considered, with what became of them: 'delivered' rows are
-- the recipients' feed items; the others say why they were left out.
-- similarity_milli: to the product; root_similarity_milli: to the root sharer.
CREATE TABLE share_audience (
    id INTEGER PRIMARY KEY,
    share_id BIGINT NOT NULL REFERENCES shares(id),
    root_id BIGINT NOT NULL,
    shop_id BIGINT NOT NULL,
    product_id BIGINT NOT NULL,
    hop INTEGER NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users(id),
    outcome TEXT NOT NULL CHECK (outcome IN ('delivered', 'similarity', 'frequency', 'muted',
                                             'already_reached', 'recently_bought', 'trust_cap')),
    similarity_milli BIGINT NOT NULL,
    root_similarity_milli BIGINT NOT NULL,
    matched TEXT NOT NULL DEFAULT '',              -- the interests that matched, one per line
    at BIGINT NOT NULL,
    opened_at BIGINT,
    hidden_at BIGINT                               -- "not interested"
);
-- RULE: NOT-TWICE - one delivery per member and share chain.
CREATE UNIQUE INDEX share_audience_once ON share_audience (root_id, user_id)
    WHERE outcome = 'delivered';
CREATE INDEX share_audience_feed ON share_audience (user_id, id) WHERE outcome = 'delivered';
CREATE INDEX share_audience_day ON share_audience (user_id, at) WHERE outcome = 'delivered';
CREATE INDEX share_audience_share ON share_audience (share_id, id);

-- RULE: MUTES - a member mutes one person or one shop.
CREATE TABLE mutes (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    muted_user_id BIGINT REFERENCES users(id),
    muted_shop_id BIGINT REFERENCES shops(id),
    created_at BIGINT NOT NULL,
    CHECK ((muted_user_id IS NULL) <> (muted_shop_id IS NULL))
);
CREATE UNIQUE INDEX mutes_of_user ON mutes (muted_user_id, user_id) WHERE muted_user_id IS NOT NULL;
CREATE UNIQUE INDEX mutes_of_shop ON mutes (muted_shop_id, user_id) WHERE muted_shop_id IS NOT NULL;
CREATE INDEX mutes_user ON mutes (user_id, id);

CREATE TABLE reports (
    id INTEGER PRIMARY KEY,
    shop_id BIGINT NOT NULL REFERENCES shops(id),
    share_id BIGINT NOT NULL REFERENCES shares(id),
    reporter_id BIGINT NOT NULL REFERENCES users(id),
    reason TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'upheld', 'dismissed')),
    created_at BIGINT NOT NULL,
    decided_at BIGINT,
    decided_by BIGINT,
    UNIQUE (share_id, reporter_id)
);
CREATE INDEX reports_shop ON reports (shop_id, status, id);

-- RULE: TRUST-REACH - the outcomes behind a promoter's trust, one row per event.
CREATE TABLE trust_events (
    id INTEGER PRIMARY KEY,
    shop_id BIGINT NOT NULL,
    promoter_id BIGINT NOT NULL REFERENCES promoters(id),
    kind TEXT NOT NULL CHECK (kind IN ('sale_kept', 'good_feedback', 'refund', 'muted',
                                       'report_upheld', 'bad_feedback')),
    good INTEGER NOT NULL CHECK (good IN (0, 1)),
    ref_id BIGINT NOT NULL,
    at BIGINT NOT NULL,
    UNIQUE (promoter_id, kind, ref_id)
);
CREATE INDEX trust_events_promoter ON trust_events (promoter_id, id);

-- Attribution of an order to a share: which one, and at which hop.
ALTER TABLE orders ADD COLUMN share_id BIGINT;
ALTER TABLE orders ADD COLUMN share_hop INTEGER;
CREATE INDEX orders_share ON orders (share_id) WHERE share_id IS NOT NULL;
