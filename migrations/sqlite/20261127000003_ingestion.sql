-- Alerts in from monitoring: one open alert per problem, closing and reopening, flapping, binding by fqdn or ip, the
-- API tokens monitoring sends, and the alert rules.

ALTER TABLE alerts ADD COLUMN closed_at TEXT;
-- What the monitoring tool sent beyond the fields above (labels, links), as JSON text.
ALTER TABLE alerts ADD COLUMN additional_info TEXT CHECK (additional_info IS NULL OR length(additional_info) <= 4000);
-- Reopens counted within the flapping window that started at flap_window_start.
ALTER TABLE alerts ADD COLUMN flap_count INTEGER NOT NULL DEFAULT 0 CHECK (flap_count >= 0);
ALTER TABLE alerts ADD COLUMN flap_window_start TEXT;
-- One alert per problem, whatever races: at most one alert that is not closed for each message key.
CREATE UNIQUE INDEX alerts_one_open_per_key ON alerts (message_key) WHERE state <> 'Closed';

-- The node of an event is matched against CI name, fqdn and ip, ignoring case.
CREATE INDEX configuration_items_lower_fqdn ON configuration_items (lower(fqdn));
CREATE INDEX configuration_items_lower_ip ON configuration_items (lower(ip));

-- Tokens monitoring tools send; only a SHA-256 of each is kept (each holds over 230 random bits, so no slow hash is needed).
CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE COLLATE NOCASE CHECK (length(name) BETWEEN 1 AND 64 AND name = trim(name)),
    token_hash TEXT    NOT NULL UNIQUE CHECK (length(token_hash) = 64),
    created_by TEXT    NOT NULL CHECK (length(created_by) BETWEEN 1 AND 160),
    created_at TEXT    NOT NULL,
    revoked_at TEXT
);

CREATE TABLE alert_rules (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 160),
    action       TEXT    NOT NULL UNIQUE CHECK (action IN ('create_proactive_case')),
    active       INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1)),
    -- The least severe alert the rule acts on: 1 Critical only ... 5 down to Info.
    min_severity INTEGER NOT NULL CHECK (min_severity BETWEEN 1 AND 5),
    updated_by   TEXT    CHECK (updated_by IS NULL OR length(updated_by) BETWEEN 1 AND 160),
    updated_at   TEXT
);
INSERT INTO alert_rules (name, action, active, min_severity) VALUES ('Create Proactive Case', 'create_proactive_case', 0, 2);

-- New audited actions: SQLite cannot change a CHECK in place, so the table is copied.
CREATE TABLE audit_log_new (
    id      INTEGER PRIMARY KEY,
    at      TEXT    NOT NULL,
    actor   TEXT    NOT NULL CHECK (length(actor) BETWEEN 1 AND 160),
    action  TEXT    NOT NULL CHECK (action IN (
                'login', 'login_failed', 'login_throttled', 'logout',
                'install_base_refreshed', 'case_created', 'case_state_changed', 'case_work_note', 'case_comment',
                'user_added', 'user_role_changed', 'user_password_reset', 'user_disabled', 'user_enabled',
                'token_created', 'token_revoked', 'incident_created', 'alert_rule_changed')),
    record  TEXT    CHECK (record IS NULL OR length(record) BETWEEN 1 AND 160),
    detail  TEXT    NOT NULL DEFAULT '' CHECK (length(detail) <= 1000),
    address TEXT    CHECK (address IS NULL OR length(address) <= 100)
);
INSERT INTO audit_log_new (id, at, actor, action, record, detail, address)
    SELECT id, at, actor, action, record, detail, address FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_new RENAME TO audit_log;
