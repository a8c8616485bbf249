-- A seller's order list filtered by status ("to ship": paid) walked the shop's whole
-- history through orders_shop, reading each order's row to test its status: over a long
-- history the orders still to be shipped are a few among hundreds of thousands, and a
-- page of them cost as much as the history that lay above them. This index holds the
-- orders of every status but 'completed' (the history's bulk, which the filter finds
-- densely enough in orders_shop), by shop, status and id: a page of any other status is
-- read in order, the same at any depth. An order enters it at creation, moves in it at
-- each step, and leaves it when completed.
CREATE INDEX orders_shop_status ON orders (shop_id, status, id) WHERE status <> 'completed';
