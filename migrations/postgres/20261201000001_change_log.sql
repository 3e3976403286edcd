-- Live updates: every change to an alert or a case (its fields, its Case and Incident, its snapshot's time, its
-- journal) is announced on the channel `forestall_changes` by triggers in the changing transaction, whoever makes
-- it. PostgreSQL delivers a notification to every listening instance when the transaction commits, in commit order,
-- and only once for identical payloads of one transaction (a batch of a thousand events for one alert announces it
-- once). Each instance listens and pushes what it hears to its open pages (`live::server::follow`). Payloads are
-- `alert Alert0010027` or `case CS0010001`: ids, never records, far under NOTIFY's 8,000 bytes.
CREATE FUNCTION live_record_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('forestall_changes', TG_ARGV[0] || ' ' || NEW.number);
    RETURN NULL;
END
$$;
CREATE TRIGGER alerts_live AFTER INSERT OR UPDATE ON alerts
    FOR EACH ROW EXECUTE FUNCTION live_record_changed('alert');
CREATE TRIGGER cases_live AFTER INSERT OR UPDATE ON cases
    FOR EACH ROW EXECUTE FUNCTION live_record_changed('case');

CREATE FUNCTION live_journal_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.case_id IS NOT NULL THEN
        PERFORM pg_notify('forestall_changes', 'case ' || number) FROM cases WHERE id = NEW.case_id;
    ELSE
        PERFORM pg_notify('forestall_changes', 'alert ' || number) FROM alerts WHERE id = NEW.alert_id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER journal_live AFTER INSERT ON journal_entries
    FOR EACH ROW EXECUTE FUNCTION live_journal_changed();
