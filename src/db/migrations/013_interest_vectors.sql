-- Each member's interest vector, kept on their users row in step with member_interests
-- (RULE: SIMILARITY): one line per tag, "tag<TAB>weight", weight = declared + learned / 2
-- (thousandths; a tag whose weight comes to 0 is left out by the reader). A share reads
-- one row per candidate instead of every interest row. Triggers keep it current for every
-- writer, in the writer's own transaction.
ALTER TABLE users ADD COLUMN interest_vector TEXT NOT NULL DEFAULT '';

CREATE TRIGGER member_interests_insert AFTER INSERT ON member_interests BEGIN
    UPDATE users SET interest_vector = (SELECT COALESCE(group_concat(tag || char(9) || w,
        char(10)), '') FROM (SELECT tag, SUM(CASE WHEN source = 'declared' THEN weight_milli
        ELSE weight_milli / 2 END) AS w FROM member_interests WHERE user_id = NEW.user_id
        GROUP BY tag)) WHERE id = NEW.user_id;
END;
CREATE TRIGGER member_interests_update AFTER UPDATE ON member_interests BEGIN
    UPDATE users SET interest_vector = (SELECT COALESCE(group_concat(tag || char(9) || w,
        char(10)), '') FROM (SELECT tag, SUM(CASE WHEN source = 'declared' THEN weight_milli
        ELSE weight_milli / 2 END) AS w FROM member_interests WHERE user_id = NEW.user_id
        GROUP BY tag)) WHERE id = NEW.user_id;
END;
CREATE TRIGGER member_interests_delete AFTER DELETE ON member_interests BEGIN
    UPDATE users SET interest_vector = (SELECT COALESCE(group_concat(tag || char(9) || w,
        char(10)), '') FROM (SELECT tag, SUM(CASE WHEN source = 'declared' THEN weight_milli
        ELSE weight_milli / 2 END) AS w FROM member_interests WHERE user_id = OLD.user_id
        GROUP BY tag)) WHERE id = OLD.user_id;
END;

UPDATE users SET interest_vector = (SELECT COALESCE(group_concat(tag || char(9) || w,
    char(10)), '') FROM (SELECT tag, SUM(CASE WHEN source = 'declared' THEN weight_milli
    ELSE weight_milli / 2 END) AS w FROM member_interests WHERE user_id = users.id
    GROUP BY tag))
WHERE id IN (SELECT DISTINCT user_id FROM member_interests);
