-- Reactive cases: a case a customer raised (by phone, email or the web), recorded by an agent for the customer's
-- account, and optionally related to an alert's proactive case: the case the customer is calling about. The
-- dashboard's beat-the-customer compares their opening with the proactive case's first notice to the account.
ALTER TABLE cases ADD COLUMN channel TEXT
    CHECK (channel IS NULL OR (channel IN ('phone', 'email', 'web') AND proactive = 0 AND account_id IS NOT NULL));
ALTER TABLE cases ADD COLUMN related_case_id INTEGER REFERENCES cases (id)
    CHECK (related_case_id IS NULL OR (channel IS NOT NULL AND related_case_id <> id));

-- The related case is a top-level proactive case (the alert's case, not one of its child cases).
CREATE TRIGGER cases_related_is_proactive_insert BEFORE INSERT ON cases
WHEN NEW.related_case_id IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM cases WHERE id = NEW.related_case_id AND proactive = 1 AND parent_id IS NULL)
BEGIN
    SELECT RAISE(ABORT, 'cases_related_is_proactive');
END;
CREATE TRIGGER cases_related_is_proactive_update BEFORE UPDATE OF related_case_id ON cases
WHEN NEW.related_case_id IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM cases WHERE id = NEW.related_case_id AND proactive = 1 AND parent_id IS NULL)
BEGIN
    SELECT RAISE(ABORT, 'cases_related_is_proactive');
END;

-- Customer impact's reactive cases of an account, and the dashboard's first reactive case per account.
CREATE INDEX cases_related ON cases (related_case_id, account_id, opened_at) WHERE related_case_id IS NOT NULL;
