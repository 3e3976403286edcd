-- Who may sign in, their sessions, failed sign-ins (for throttling) and the audit log of every write.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    -- User names compare without case: "Operator" and "operator" are one user.
    name          TEXT    NOT NULL UNIQUE COLLATE NOCASE
                          CHECK (length(name) BETWEEN 1 AND 64 AND name = trim(name)),
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'evt_mgmt_admin', 'evt_mgmt_operator',
                                                   'sn_customerservice_agent', 'evt_mgmt_user')),
    -- An Argon2id hash in PHC string format; never the password.
    password_hash TEXT    NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    TEXT    NOT NULL
);

-- tower-sessions' records: the session id, its data as JSON, and when it expires (Unix seconds).
CREATE TABLE sessions (
    id         TEXT    PRIMARY KEY,
    data       TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- Failed sign-ins within the throttling window, by the user name typed (existing or not) and the address.
CREATE TABLE login_failures (
    id        INTEGER PRIMARY KEY,
    user_name TEXT    NOT NULL COLLATE NOCASE CHECK (length(user_name) <= 64),
    address   TEXT    NOT NULL CHECK (length(address) <= 100),
    at        INTEGER NOT NULL
);
CREATE INDEX login_failures_user ON login_failures (user_name, at);
CREATE INDEX login_failures_address ON login_failures (address, at);

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    at      TEXT    NOT NULL,
    actor   TEXT    NOT NULL CHECK (length(actor) BETWEEN 1 AND 160),
    action  TEXT    NOT NULL CHECK (action IN (
                'login', 'login_failed', 'login_throttled', 'logout',
                'install_base_refreshed', 'case_created', 'case_state_changed', 'case_work_note', 'case_comment',
                'user_added', 'user_role_changed', 'user_password_reset', 'user_disabled', 'user_enabled')),
    record  TEXT    CHECK (record IS NULL OR length(record) BETWEEN 1 AND 160),
    detail  TEXT    NOT NULL DEFAULT '' CHECK (length(detail) <= 1000),
    address TEXT    CHECK (address IS NULL OR length(address) <= 100)
);
