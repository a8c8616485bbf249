-- A share reads once who hid its product ("not interested"): a small index of the hidden.
CREATE INDEX share_audience_hidden ON share_audience (product_id, user_id)
    WHERE hidden_at IS NOT NULL;
