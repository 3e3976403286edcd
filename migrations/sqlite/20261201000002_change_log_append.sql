-- Live updates, cheaper to write: the change log becomes append-only. The first form kept one row per record (a
-- DELETE through a unique index, an INSERT, and AUTOINCREMENT's own counter row, for every changed alert), which cost
-- ingestion about a fifth of its rate. Now each change appends one row to a table keyed by its id alone; readers
-- take each record once however often it appears (`live::server::follow`).
--
-- Ids stay gapless and in commit order: SQLite has one writer at a time, a new row takes the highest id plus one,
-- and rows leave only from the oldest end. So a reader that finds the first id after its cursor missing knows the
-- rows it needed were pruned, and tells its pages to resync.
--
-- Pruned as it grows: every 1,000th row removes what is 100,000 rows or more behind it (minutes of history at full
-- ingestion, for a second process that follows from behind; a few megabytes).
DROP TRIGGER alerts_live_insert;
DROP TRIGGER alerts_live_update;
DROP TRIGGER cases_live_insert;
DROP TRIGGER cases_live_update;
DROP TRIGGER journal_live_case;
DROP TRIGGER journal_live_alert;
DROP TABLE change_log;

CREATE TABLE change_log (
    id     INTEGER PRIMARY KEY,
    kind   TEXT    NOT NULL CHECK (kind IN ('alert', 'case')),
    number TEXT    NOT NULL CHECK (length(number) BETWEEN 1 AND 40)
);

CREATE TRIGGER change_log_prune AFTER INSERT ON change_log WHEN NEW.id % 1000 = 0 BEGIN
    DELETE FROM change_log WHERE id <= NEW.id - 100000;
END;

CREATE TRIGGER alerts_live_insert AFTER INSERT ON alerts BEGIN
    INSERT INTO change_log (kind, number) VALUES ('alert', NEW.number);
END;

CREATE TRIGGER alerts_live_update AFTER UPDATE ON alerts BEGIN
    INSERT INTO change_log (kind, number) VALUES ('alert', NEW.number);
END;

CREATE TRIGGER cases_live_insert AFTER INSERT ON cases BEGIN
    INSERT INTO change_log (kind, number) VALUES ('case', NEW.number);
END;

CREATE TRIGGER cases_live_update AFTER UPDATE ON cases BEGIN
    INSERT INTO change_log (kind, number) VALUES ('case', NEW.number);
END;

CREATE TRIGGER journal_live_case AFTER INSERT ON journal_entries WHEN NEW.case_id IS NOT NULL BEGIN
    INSERT INTO change_log (kind, number) SELECT 'case', number FROM cases WHERE id = NEW.case_id;
END;

CREATE TRIGGER journal_live_alert AFTER INSERT ON journal_entries WHEN NEW.alert_id IS NOT NULL BEGIN
    INSERT INTO change_log (kind, number) SELECT 'alert', number FROM alerts WHERE id = NEW.alert_id;
END;
