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

-- Text search: pg_trgm's GIN index finds any substring of three characters or more without reading every row
-- (pg_trgm ships with PostgreSQL and is a trusted extension: the database's owner may create it). The searched
-- text sits in a table of its own, kept by a trigger only when it changes: an alert's every event rewrites its row
-- (its last event time is indexed, so the update is never HOT), and would otherwise rewrite its search entries too.
-- Fields are joined by a line feed, which a search never holds, so a match never spans two fields.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE alert_search (
    alert_id BIGINT PRIMARY KEY REFERENCES alerts (id) ON DELETE CASCADE,
    doc      TEXT   NOT NULL
);
CREATE INDEX alert_search_doc ON alert_search USING gin (doc gin_trgm_ops);

CREATE FUNCTION alert_search_doc(a alerts) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
    SELECT lower(a.number || chr(10) || a.node || chr(10) || a.source || chr(10) || a.description)
$$;

INSERT INTO alert_search (alert_id, doc) SELECT id, alert_search_doc(alerts) FROM alerts;

CREATE FUNCTION alert_search_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO alert_search (alert_id, doc) VALUES (NEW.id, alert_search_doc(NEW))
        ON CONFLICT (alert_id) DO UPDATE SET doc = EXCLUDED.doc;
    RETURN NULL;
END
$$;
CREATE TRIGGER alert_search_insert AFTER INSERT ON alerts
    FOR EACH ROW EXECUTE FUNCTION alert_search_kept();
CREATE TRIGGER alert_search_update AFTER UPDATE OF number, node, source, description ON alerts
    FOR EACH ROW WHEN (OLD.number IS DISTINCT FROM NEW.number OR OLD.node IS DISTINCT FROM NEW.node
                       OR OLD.source IS DISTINCT FROM NEW.source OR OLD.description IS DISTINCT FROM NEW.description)
    EXECUTE FUNCTION alert_search_kept();

-- CI names, for a search that names the alert's CI.
CREATE INDEX configuration_items_name_trgm ON configuration_items USING gin (lower(name) gin_trgm_ops);
