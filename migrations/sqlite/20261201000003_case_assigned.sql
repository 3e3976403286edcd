-- Cases are assigned (`Assign to me` on the case page), and each assignment is audited. SQLite cannot change a
-- CHECK in place, so the audit log is copied with the new action in its list.
CREATE TABLE audit_log_new (
    id      INTEGER PRIMARY KEY,
    at      TEXT    NOT NULL,
    actor   TEXT    NOT NULL CHECK (length(actor) BETWEEN 1 AND 160),
    action  TEXT    NOT NULL CHECK (action IN (
                'login', 'login_failed', 'login_throttled', 'logout',
                'install_base_refreshed', 'case_created', 'case_state_changed', 'case_work_note', 'case_comment',
                'user_added', 'user_role_changed', 'user_password_reset', 'user_disabled', 'user_enabled',
                'token_created', 'token_revoked', 'incident_created', 'alert_rule_changed', 'case_assigned')),
    record  TEXT    CHECK (record IS NULL OR length(record) BETWEEN 1 AND 160),
    detail  TEXT    NOT NULL DEFAULT '' CHECK (length(detail) <= 1000),
    address TEXT    CHECK (address IS NULL OR length(address) <= 100)
);
INSERT INTO audit_log_new (id, at, actor, action, record, detail, address)
    SELECT id, at, actor, action, record, detail, address FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_new RENAME TO audit_log;
