-- The dashboard's count of alerts by the day they were raised, as in migrations/sqlite: kept by triggers in the
-- transaction that writes the alert.
CREATE TABLE alert_days (
    day       TEXT    NOT NULL CHECK (length(day) = 10),
    -- Each day's count is spread over 16 rows (by the alert's id), so writers that raise alerts at once seldom
    -- wait for each other's row; the dashboard sums them.
    slot      INTEGER NOT NULL CHECK (slot BETWEEN 0 AND 15),
    raised    INTEGER NOT NULL CHECK (raised >= 0),
    with_case INTEGER NOT NULL CHECK (with_case BETWEEN 0 AND raised),
    PRIMARY KEY (day, slot)
);
INSERT INTO alert_days (day, slot, raised, with_case)
    SELECT substr(first_event_at, 1, 10), id % 16, COUNT(*), SUM(CASE WHEN case_id IS NOT NULL THEN 1 ELSE 0 END)
    FROM alerts GROUP BY substr(first_event_at, 1, 10), id % 16;

CREATE FUNCTION alert_days_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE alert_days SET raised = raised - 1,
                              with_case = with_case - CASE WHEN OLD.case_id IS NOT NULL THEN 1 ELSE 0 END
            WHERE day = substr(OLD.first_event_at, 1, 10) AND slot = OLD.id % 16;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO alert_days (day, slot, raised, with_case)
            VALUES (substr(NEW.first_event_at, 1, 10), NEW.id % 16, 1, CASE WHEN NEW.case_id IS NOT NULL THEN 1 ELSE 0 END)
            ON CONFLICT (day, slot) DO UPDATE SET raised = alert_days.raised + 1,
                                                  with_case = alert_days.with_case + excluded.with_case;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER alert_days_insert AFTER INSERT ON alerts FOR EACH ROW EXECUTE FUNCTION alert_days_kept();
-- Ingestion sets every repeat's first_event_at to itself: only a real change moves a count.
CREATE TRIGGER alert_days_update AFTER UPDATE OF first_event_at, case_id ON alerts
    FOR EACH ROW WHEN (OLD.first_event_at IS DISTINCT FROM NEW.first_event_at OR OLD.case_id IS DISTINCT FROM NEW.case_id)
    EXECUTE FUNCTION alert_days_kept();
CREATE TRIGGER alert_days_delete AFTER DELETE ON alerts FOR EACH ROW EXECUTE FUNCTION alert_days_kept();

-- Alerts that reached customers without a case: refreshed, with items in their snapshot. Few, found by this index.
CREATE INDEX alerts_refreshed_without_case ON alerts (first_event_at) WHERE ib_refreshed_at IS NOT NULL AND case_id IS NULL;
