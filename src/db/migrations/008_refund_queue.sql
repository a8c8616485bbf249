-- The shop's after-sales queue: its refunds by status, newest first
-- (GET /shops/{id}/refunds?status=requested is what a seller works through).
CREATE INDEX refunds_shop ON refunds (shop_id, status, id);
