-- Live updates: every change to an alert or a case (its fields, its Case and Incident, its snapshot's time, its
-- journal) leaves a row here, written by triggers in the changing transaction, whoever makes it (a request, the
-- alert rule, `forestall import` or `demo`, a second `serve` on the same file, an administrator's SQL). Each
-- Forestall process follows this table by id and pushes what it reads to its open pages (`live::server::follow`).
-- One row per record: a newer change replaces the older row with a higher id, so the table never grows past the
-- number of alerts and cases, and a reader that is behind reads each record once. (A DELETE and an INSERT rather
-- than INSERT OR REPLACE: an outer statement's conflict policy would override the trigger's.)
CREATE TABLE change_log (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    kind   TEXT    NOT NULL CHECK (kind IN ('alert', 'case')),
    number TEXT    NOT NULL CHECK (length(number) BETWEEN 1 AND 40),
    UNIQUE (kind, number)
);

CREATE TRIGGER alerts_live_insert AFTER INSERT ON alerts BEGIN
    DELETE FROM change_log WHERE kind = 'alert' AND number = NEW.number;
    INSERT INTO change_log (kind, number) VALUES ('alert', NEW.number);
END;

CREATE TRIGGER alerts_live_update AFTER UPDATE ON alerts BEGIN
    DELETE FROM change_log WHERE kind = 'alert' AND number = NEW.number;
    INSERT INTO change_log (kind, number) VALUES ('alert', NEW.number);
END;

CREATE TRIGGER cases_live_insert AFTER INSERT ON cases BEGIN
    DELETE FROM change_log WHERE kind = 'case' AND number = NEW.number;
    INSERT INTO change_log (kind, number) VALUES ('case', NEW.number);
END;

CREATE TRIGGER cases_live_update AFTER UPDATE ON cases BEGIN
    DELETE FROM change_log WHERE kind = 'case' AND number = NEW.number;
    INSERT INTO change_log (kind, number) VALUES ('case', NEW.number);
END;

CREATE TRIGGER journal_live_case AFTER INSERT ON journal_entries WHEN NEW.case_id IS NOT NULL BEGIN
    DELETE FROM change_log WHERE kind = 'case' AND number = (SELECT number FROM cases WHERE id = NEW.case_id);
    INSERT INTO change_log (kind, number) SELECT 'case', number FROM cases WHERE id = NEW.case_id;
END;

CREATE TRIGGER journal_live_alert AFTER INSERT ON journal_entries WHEN NEW.alert_id IS NOT NULL BEGIN
    DELETE FROM change_log WHERE kind = 'alert' AND number = (SELECT number FROM alerts WHERE id = NEW.alert_id);
    INSERT INTO change_log (kind, number) SELECT 'alert', number FROM alerts WHERE id = NEW.alert_id;
END;
