-- A year of alerts (issue 14): All Alerts reads a page, never the table.
--
-- Filters walk an index in the list's order (newest event first) and stop after a page; the page's count stops at
-- 10,001 (`more than 10,000`). The old filter, `($1 IS NULL OR state = $1)`, could use no index at all.
CREATE INDEX alerts_state_newest ON alerts (state, last_event_at DESC, id DESC);
CREATE INDEX alerts_severity_newest ON alerts (severity, last_event_at DESC, id DESC);
CREATE INDEX alerts_state_severity_newest ON alerts (state, severity, last_event_at DESC, id DESC);
-- Alerts on a CI whose name matches a search.
CREATE INDEX alerts_ci ON alerts (ci_id) WHERE ci_id IS NOT NULL;
-- Retention (`--retain-closed-alerts`) counts from when an alert closed; the demo's closed alerts had no time.
UPDATE alerts SET closed_at = last_event_at WHERE state = 'Closed' AND closed_at IS NULL;
-- Retention finds the oldest closed alerts without a case here, a batch at a time.
CREATE INDEX alerts_prunable ON alerts (closed_at, id) WHERE state = 'Closed' AND case_id IS NULL;
-- Retention keeps an alert that any case (a major case's children too) or incident names.
CREATE INDEX cases_alert ON cases (alert_id) WHERE alert_id IS NOT NULL;

-- Text search: FTS5's trigram index finds any substring of three characters or more, ignoring case, without
-- reading every row. Its rowid is the alert's id. Kept by triggers in the writing transaction; an event that only
-- repeats an alert changes none of these columns and writes nothing here.
CREATE VIRTUAL TABLE alert_search USING fts5 (number, node, source, description, tokenize = 'trigram');
INSERT INTO alert_search (rowid, number, node, source, description)
    SELECT id, number, node, source, description FROM alerts;

CREATE TRIGGER alert_search_insert AFTER INSERT ON alerts BEGIN
    INSERT INTO alert_search (rowid, number, node, source, description)
        VALUES (NEW.id, NEW.number, NEW.node, NEW.source, NEW.description);
END;
CREATE TRIGGER alert_search_update AFTER UPDATE OF number, node, source, description ON alerts
    WHEN OLD.number IS NOT NEW.number OR OLD.node IS NOT NEW.node OR OLD.source IS NOT NEW.source
      OR OLD.description IS NOT NEW.description BEGIN
    DELETE FROM alert_search WHERE rowid = OLD.id;
    INSERT INTO alert_search (rowid, number, node, source, description)
        VALUES (NEW.id, NEW.number, NEW.node, NEW.source, NEW.description);
END;
CREATE TRIGGER alert_search_delete AFTER DELETE ON alerts BEGIN
    DELETE FROM alert_search WHERE rowid = OLD.id;
END;

-- CI names, for a search that names the alert's CI.
CREATE VIRTUAL TABLE ci_search USING fts5 (name, tokenize = 'trigram');
INSERT INTO ci_search (rowid, name) SELECT id, name FROM configuration_items;

CREATE TRIGGER ci_search_insert AFTER INSERT ON configuration_items BEGIN
    INSERT INTO ci_search (rowid, name) VALUES (NEW.id, NEW.name);
END;
CREATE TRIGGER ci_search_update AFTER UPDATE OF name ON configuration_items WHEN OLD.name IS NOT NEW.name BEGIN
    DELETE FROM ci_search WHERE rowid = OLD.id;
    INSERT INTO ci_search (rowid, name) VALUES (NEW.id, NEW.name);
END;
CREATE TRIGGER ci_search_delete AFTER DELETE ON configuration_items BEGIN
    DELETE FROM ci_search WHERE rowid = OLD.id;
END;
