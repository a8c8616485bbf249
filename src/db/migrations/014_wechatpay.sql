-- WeChat Pay (issue 16): a shop's merchant settings, and what a notification brought that
-- could not be applied, for the shop to see.

-- One merchant account per shop. The keys themselves are never stored: the settings name
-- files in the server's key folder (wechatpay_key_dir) or QUANZI_WECHATPAY_* environment
-- variables ("env:NAME"), read when they are needed.
CREATE TABLE wechatpay_merchants (
    shop_id BIGINT PRIMARY KEY REFERENCES shops(id),
    mchid TEXT NOT NULL,
    appid TEXT NOT NULL,
    serial_no TEXT NOT NULL,         -- the merchant API certificate's serial number
    private_key TEXT NOT NULL,       -- where the merchant API private key is (PEM)
    apiv3_key TEXT NOT NULL,         -- where the APIv3 key is (32 bytes)
    public_key_id TEXT NOT NULL,     -- WeChat Pay's public key id (the Wechatpay-Serial header)
    public_key TEXT NOT NULL,        -- where WeChat Pay's public key is (PEM)
    app_secret TEXT NOT NULL DEFAULT '', -- where the app's AppSecret is (sign-in with WeChat)
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX wechatpay_merchants_public_key ON wechatpay_merchants (public_key_id);

-- A payment (or refund) a provider reported that was not applied: an amount or currency
-- that differs from the order's, an order that can no longer be paid. Once per report.
CREATE TABLE payment_anomalies (
    id INTEGER PRIMARY KEY,
    shop_id BIGINT NOT NULL REFERENCES shops(id),
    order_id BIGINT REFERENCES orders(id),
    provider TEXT NOT NULL,
    reference TEXT NOT NULL,
    kind TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    UNIQUE (provider, reference, kind)
);
CREATE INDEX payment_anomalies_shop ON payment_anomalies (shop_id, id);

-- A WeChat Pay payment started for an order (one per order, out_trade_no QZ<order id>): its
-- kind, what the page needs to open the payment sheet, and whether it is still open.
CREATE TABLE wechatpay_payments (
    order_id BIGINT PRIMARY KEY REFERENCES orders(id),
    shop_id BIGINT NOT NULL REFERENCES shops(id),
    trade_type TEXT NOT NULL,        -- JSAPI or H5
    prepay TEXT NOT NULL,            -- the prepay_id (JSAPI) or the h5_url (H5)
    state TEXT NOT NULL DEFAULT 'open', -- open, paid, closed
    created_at BIGINT NOT NULL,
    checked_at BIGINT NOT NULL DEFAULT 0 -- last asked of WeChat Pay by reconciliation
);
CREATE INDEX wechatpay_payments_open ON wechatpay_payments (state, checked_at);

-- Who a member is to WeChat: the openid an app knows them by (sign-in with WeChat).
CREATE TABLE wechat_identities (
    appid TEXT NOT NULL,
    openid TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (appid, openid)
);
CREATE INDEX wechat_identities_user ON wechat_identities (user_id, appid);

-- A refund the shop approved of an order paid with WeChat Pay: sent back through WeChat Pay
-- (out_refund_no QZR<refund id>) and applied (refunded_fen, clawback, ledger) only when
-- WeChat Pay says it succeeded. sending: WeChat Pay not yet told (tried again by the job);
-- sent: told, waiting; done; failed (listed for the shop; the request stays open).
CREATE TABLE wechatpay_refunds (
    refund_id BIGINT PRIMARY KEY REFERENCES refunds(id),
    order_id BIGINT NOT NULL REFERENCES orders(id),
    shop_id BIGINT NOT NULL REFERENCES shops(id),
    amount_fen BIGINT NOT NULL,
    state TEXT NOT NULL DEFAULT 'sending',
    decided_by BIGINT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    checked_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX wechatpay_refunds_state ON wechatpay_refunds (state, checked_at);

-- A withdrawal the shop pays by WeChat Pay merchant transfer (商家转账, scene 佣金报酬) to the
-- promoter's WeChat balance (out_bill_no QZW<withdrawal id>): paid when WeChat Pay says it
-- succeeded, rejected (the money back to available) when it failed. States as refunds'.
CREATE TABLE wechatpay_transfers (
    withdrawal_id BIGINT PRIMARY KEY REFERENCES withdrawals(id),
    shop_id BIGINT NOT NULL REFERENCES shops(id),
    amount_fen BIGINT NOT NULL,
    openid TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'sending',
    decided_by BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    checked_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX wechatpay_transfers_state ON wechatpay_transfers (state, checked_at);
