-- An order's own indexes are a large part of what writing it costs: every
-- index is one more b-tree to change at the create, and the payment moved the
-- order in two of them (its status, and its promoter's paid_at). What reads
-- them only ever wants a few of the orders:
--   - the jobs sweep orders still unpaid, shipped or delivered, by id;
--   - the distribution rules look up the orders of one promoter.
-- Partial indexes hold exactly those rows. A paid order is in none of the
-- sweep indexes, and an order that nobody referred is in no promoter index.
DROP INDEX orders_status;
CREATE INDEX orders_unpaid ON orders (id) WHERE status = 'created';
CREATE INDEX orders_shipped ON orders (id) WHERE status = 'shipped';
CREATE INDEX orders_delivered ON orders (id) WHERE status = 'delivered';

DROP INDEX orders_promoter;
CREATE INDEX orders_promoter ON orders (promoter_id, paid_at) WHERE promoter_id IS NOT NULL;
