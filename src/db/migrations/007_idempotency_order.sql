-- A created order's answer is no longer stored as text: the record names the
-- order, and a replay renders the order as it was created (what it was
-- created with, in its first state), which is the answer it first got. A
-- refusal's answer is still stored whole (response). Rows written before
-- this keep their stored text, and are replayed from it.
ALTER TABLE idempotency_keys ADD COLUMN order_id BIGINT;
