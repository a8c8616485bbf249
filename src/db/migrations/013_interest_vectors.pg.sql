-- Each member's interest vector on their users row, kept in step with member_interests by
-- a trigger; see 013_interest_vectors.sql.
ALTER TABLE users ADD COLUMN interest_vector TEXT NOT NULL DEFAULT '';

CREATE FUNCTION interest_vector_of(uid BIGINT) RETURNS TEXT AS $$
    SELECT COALESCE(string_agg(tag || chr(9) || w::text, chr(10)), '')
    FROM (SELECT tag, SUM(CASE WHEN source = 'declared' THEN weight_milli
          ELSE weight_milli / 2 END) AS w FROM member_interests WHERE user_id = uid
          GROUP BY tag) t
$$ LANGUAGE sql STABLE;

CREATE FUNCTION member_interests_changed() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE users SET interest_vector = interest_vector_of(OLD.user_id) WHERE id = OLD.user_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE users SET interest_vector = interest_vector_of(NEW.user_id) WHERE id = NEW.user_id;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER member_interests_vector AFTER INSERT OR UPDATE OR DELETE ON member_interests
    FOR EACH ROW EXECUTE FUNCTION member_interests_changed();

UPDATE users SET interest_vector = interest_vector_of(id)
WHERE id IN (SELECT DISTINCT user_id FROM member_interests);
