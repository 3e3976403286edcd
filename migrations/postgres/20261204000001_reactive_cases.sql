-- Reactive cases, as in migrations/sqlite: a case a customer raised, recorded by an agent for the customer's account,
-- optionally related to an alert's proactive case.
ALTER TABLE cases ADD COLUMN channel TEXT
    CHECK (channel IS NULL OR (channel IN ('phone', 'email', 'web') AND proactive = 0 AND account_id IS NOT NULL));
ALTER TABLE cases ADD COLUMN related_case_id BIGINT REFERENCES cases (id)
    CHECK (related_case_id IS NULL OR (channel IS NOT NULL AND related_case_id <> id));

-- The related case is a top-level proactive case (the alert's case, not one of its child cases).
CREATE FUNCTION cases_related_is_proactive() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.related_case_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM cases WHERE id = NEW.related_case_id AND proactive = 1 AND parent_id IS NULL
    ) THEN
        RAISE EXCEPTION 'cases_related_is_proactive' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER cases_related_is_proactive BEFORE INSERT OR UPDATE OF related_case_id ON cases
    FOR EACH ROW EXECUTE FUNCTION cases_related_is_proactive();

CREATE INDEX cases_related ON cases (related_case_id, account_id, opened_at) WHERE related_case_id IS NOT NULL;
