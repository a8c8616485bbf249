-- A buyer may withdraw a refund request that the shop has not decided yet
-- (status 'withdrawn'); see 009_refund_withdrawn.sql.
ALTER TABLE refunds DROP CONSTRAINT refunds_status_check;
ALTER TABLE refunds ADD CONSTRAINT refunds_status_check
    CHECK (status IN ('requested', 'approved', 'rejected', 'withdrawn'));
