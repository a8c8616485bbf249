-- Accounts, sessions, interest profiles, shops and shop roles.
-- Portable SQL (DESIGN.md §4): times are integer ms since the epoch,
-- booleans 0/1, weights in thousandths (1..1000 = (0, 1]).

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    login TEXT NOT NULL UNIQUE,            -- normalised phone or e-mail
    password_hash TEXT NOT NULL,           -- argon2id encoded string
    display_name TEXT NOT NULL,
    is_admin INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,       -- hex SHA-256 of the token; the token is never stored
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE member_interests (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    source TEXT NOT NULL CHECK (source IN ('declared', 'learned')),
    tag TEXT NOT NULL,
    weight_milli INTEGER NOT NULL CHECK (weight_milli BETWEEN 1 AND 1000),
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, source, tag)
);

CREATE TABLE shops (
    id INTEGER PRIMARY KEY,
    owner_id BIGINT NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    story TEXT NOT NULL DEFAULT '',
    trial_ends_at BIGINT NOT NULL,
    l1_bps INTEGER NOT NULL,
    l2_bps INTEGER NOT NULL,
    settle_days INTEGER NOT NULL,
    binding_days INTEGER NOT NULL,
    similarity_milli INTEGER NOT NULL,
    promoter_auto_approve INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX shops_owner ON shops (owner_id);

-- Who runs a shop: exactly one owner row per shop, any number of staff.
CREATE TABLE shop_roles (
    shop_id BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id),
    role TEXT NOT NULL CHECK (role IN ('owner', 'staff')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (shop_id, user_id)
);
CREATE INDEX shop_roles_user ON shop_roles (user_id);
