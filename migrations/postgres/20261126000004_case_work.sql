-- Working a case, as in migrations/sqlite: resolution notes, required once a case is resolved or closed; closed
-- and canceled cases are read-only.

ALTER TABLE cases ADD COLUMN resolution_notes TEXT
    CHECK (resolution_notes IS NULL OR length(trim(resolution_notes)) BETWEEN 1 AND 4000);
ALTER TABLE cases ADD COLUMN updated_at TEXT;
ALTER TABLE cases ADD CONSTRAINT cases_resolution_notes_required
    CHECK (state NOT IN ('Resolved', 'Closed') OR resolution_notes IS NOT NULL);

CREATE FUNCTION cases_closed_read_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'cases_closed_read_only' USING ERRCODE = 'check_violation';
END;
$$;

CREATE TRIGGER cases_closed_read_only
BEFORE UPDATE ON cases
FOR EACH ROW WHEN (OLD.state IN ('Closed', 'Canceled'))
EXECUTE FUNCTION cases_closed_read_only();

CREATE FUNCTION journal_closed_case_read_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.case_id IS NOT NULL
       AND (SELECT state FROM cases WHERE id = NEW.case_id) IN ('Closed', 'Canceled') THEN
        RAISE EXCEPTION 'cases_closed_read_only' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER journal_closed_case_read_only
BEFORE INSERT ON journal_entries
FOR EACH ROW EXECUTE FUNCTION journal_closed_case_read_only();
