-- Catalogue, circles and contacts (issue 4).
-- Shop-owned tables carry shop_id; contacts, like members, are shared between shops.

-- New shop settings: defaults for products and orders.
ALTER TABLE shops ADD COLUMN buyer_cap_30d BIGINT NOT NULL DEFAULT 10;
ALTER TABLE shops ADD COLUMN unpaid_timeout_min BIGINT NOT NULL DEFAULT 30;
ALTER TABLE shops ADD COLUMN auto_receive_days BIGINT NOT NULL DEFAULT 10;

CREATE TABLE products (
    id INTEGER PRIMARY KEY,
    shop_id BIGINT NOT NULL REFERENCES shops(id),
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    price_fen BIGINT NOT NULL CHECK (price_fen > 0),
    -- stock: units available; sold: units in live orders; stock_in: all units ever added.
    -- Invariant: stock + sold = stock_in, none negative.
    stock BIGINT NOT NULL CHECK (stock >= 0),
    sold BIGINT NOT NULL DEFAULT 0 CHECK (sold >= 0),
    stock_in BIGINT NOT NULL CHECK (stock_in >= 0),
    status TEXT NOT NULL CHECK (status IN ('draft', 'on_sale', 'off')),
    buyer_cap_30d BIGINT,              -- NULL: the shop's default
    repurchase_days BIGINT NOT NULL DEFAULT 0,  -- 0: not a consumable
    trial_available INTEGER NOT NULL DEFAULT 0,
    l1_bps BIGINT,                     -- NULL: the shop's rate
    l2_bps BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX products_shop ON products (shop_id, id);

CREATE TABLE product_tags (
    shop_id BIGINT NOT NULL,
    product_id BIGINT NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    weight_milli INTEGER NOT NULL CHECK (weight_milli BETWEEN 1 AND 1000),
    PRIMARY KEY (product_id, tag)
);
CREATE INDEX product_tags_tag ON product_tags (shop_id, tag);

CREATE TABLE product_images (
    id INTEGER PRIMARY KEY,
    shop_id BIGINT NOT NULL,
    product_id BIGINT NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    file TEXT NOT NULL,                -- content address: <sha256>.<ext> under <data_dir>/images
    content_type TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX product_images_product ON product_images (product_id, position);

CREATE TABLE circles (
    id INTEGER PRIMARY KEY,
    shop_id BIGINT NOT NULL REFERENCES shops(id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('parents', 'neighbourhood', 'fitness', 'interest', 'other')),
    capacity BIGINT NOT NULL CHECK (capacity BETWEEN 2 AND 500),
    member_count BIGINT NOT NULL DEFAULT 0 CHECK (member_count >= 0),
    invite_code TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CHECK (member_count <= capacity)
);
CREATE INDEX circles_shop ON circles (shop_id, id);

CREATE TABLE circle_tags (
    shop_id BIGINT NOT NULL,
    circle_id BIGINT NOT NULL REFERENCES circles(id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    weight_milli INTEGER NOT NULL CHECK (weight_milli BETWEEN 1 AND 1000),
    PRIMARY KEY (circle_id, tag)
);

CREATE TABLE circle_members (
    shop_id BIGINT NOT NULL,
    circle_id BIGINT NOT NULL REFERENCES circles(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id),
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    joined_at BIGINT NOT NULL,
    PRIMARY KEY (circle_id, user_id)
);
CREATE INDEX circle_members_user ON circle_members (user_id);

-- One row per pair of members, lower id first; `requested_by` is one of the two.
CREATE TABLE contacts (
    user_lo BIGINT NOT NULL REFERENCES users(id),
    user_hi BIGINT NOT NULL REFERENCES users(id),
    requested_by BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'accepted')),
    created_at BIGINT NOT NULL,
    accepted_at BIGINT,
    PRIMARY KEY (user_lo, user_hi),
    CHECK (user_lo < user_hi)
);
CREATE INDEX contacts_hi ON contacts (user_hi);
