-- A share reads once who hid its product ("not interested"): a small index of the hidden.
CREATE INDEX share_audience_hidden ON share_audience (product_id, user_id)
    WHERE hidden_at IS NOT NULL;

-- The sharer's latest feedback on a product, for each feed item: found and ordered by one
-- index (the primary key, by product, would read every feedback of a popular product).
DROP INDEX feedback_products_buyer;
CREATE INDEX feedback_products_buyer ON feedback_products (buyer_id, product_id, feedback_id);
