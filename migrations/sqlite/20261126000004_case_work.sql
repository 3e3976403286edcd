-- Working a case: resolution notes, required once a case is resolved or closed; closed and canceled cases are
-- read-only, whatever the code above the database does.

ALTER TABLE cases ADD COLUMN resolution_notes TEXT
    CHECK (resolution_notes IS NULL OR length(trim(resolution_notes)) BETWEEN 1 AND 4000);
ALTER TABLE cases ADD COLUMN updated_at TEXT;

CREATE TRIGGER cases_resolution_notes_required
BEFORE UPDATE OF state ON cases
WHEN NEW.state IN ('Resolved', 'Closed') AND NEW.resolution_notes IS NULL
BEGIN
    SELECT RAISE(ABORT, 'cases_resolution_notes_required');
END;

CREATE TRIGGER cases_closed_read_only
BEFORE UPDATE ON cases
WHEN OLD.state IN ('Closed', 'Canceled')
BEGIN
    SELECT RAISE(ABORT, 'cases_closed_read_only');
END;

CREATE TRIGGER journal_closed_case_read_only
BEFORE INSERT ON journal_entries
WHEN NEW.case_id IS NOT NULL
     AND (SELECT state FROM cases WHERE id = NEW.case_id) IN ('Closed', 'Canceled')
BEGIN
    SELECT RAISE(ABORT, 'cases_closed_read_only');
END;
