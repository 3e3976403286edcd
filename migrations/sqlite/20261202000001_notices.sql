-- Telling the customers: who receives notices, the notice templates, the accounts each proactive case covers as the
-- CMDB changes, the case's impact timeline, and the notices themselves, which are also the outbox that delivery
-- works through.

-- A contact marked to receive notices gets them besides the account's primary contact (contacts.csv `notify`).
ALTER TABLE contacts ADD COLUMN notify INTEGER NOT NULL DEFAULT 0 CHECK (notify IN (0, 1));

-- One template per kind of notice, edited on the Notice templates page; rendered with MiniJinja.
CREATE TABLE notice_templates (
    kind       TEXT PRIMARY KEY CHECK (kind IN ('initial', 'update', 'resolution')),
    subject    TEXT NOT NULL CHECK (length(trim(subject)) BETWEEN 1 AND 200),
    body       TEXT NOT NULL CHECK (length(trim(body)) BETWEEN 1 AND 3000),
    updated_by TEXT CHECK (updated_by IS NULL OR length(updated_by) BETWEEN 1 AND 160),
    updated_at TEXT
);
INSERT INTO notice_templates (kind, subject, body) VALUES
('initial', '[{{ case.number }}] We are working on an issue that affects {{ account.name }}',
'Hello {{ contact.name }},

Our monitoring found a problem before it reached you: {{ alert.description }}

It affects {{ item_count }} of your services:
{% for item in items %}- {{ item.name }} ({{ item.number }})
{% endfor %}
We opened case {{ case.number }} for you and are working on it now. We will write again by {{ next_update_due }} UTC, or sooner when it is resolved.

Your support team'),
('update', '[{{ case.number }}] Update {{ update_number }}: {{ case.short_description }}',
'Hello {{ contact.name }},

An update on case {{ case.number }}, which affects {{ item_count }} of your services: we are still working on it.

We will write again by {{ next_update_due }} UTC.

Your support team'),
('resolution', '[{{ case.number }}] Resolved: {{ case.short_description }}',
'Hello {{ contact.name }},

The problem behind case {{ case.number }} is resolved, and your services are working normally again:
{% for item in items %}- {{ item.name }} ({{ item.number }})
{% endfor %}
Thank you for your patience.

Your support team');

-- Each account a proactive case covers: the case whose journal it hears on (its child case, or the case itself when
-- it is the one account), whether a refresh still finds it affected (never deleted), how many of its items are, and
-- when its next update is due.
CREATE TABLE case_accounts (
    case_id         INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    account_id      INTEGER NOT NULL REFERENCES accounts (id),
    child_case_id   INTEGER NOT NULL UNIQUE REFERENCES cases (id),
    items           INTEGER NOT NULL DEFAULT 0 CHECK (items >= 0),
    affected        INTEGER NOT NULL DEFAULT 1 CHECK (affected IN (0, 1)),
    added_at        TEXT    NOT NULL,
    removed_at      TEXT,
    next_update_due TEXT,
    PRIMARY KEY (case_id, account_id),
    CHECK ((affected = 1) = (removed_at IS NULL))
) WITHOUT ROWID;
INSERT INTO case_accounts (case_id, account_id, child_case_id, items, added_at)
    SELECT c.parent_id, c.account_id, c.id, (SELECT COUNT(*) FROM case_items ci WHERE ci.case_id = c.id), c.opened_at
    FROM cases c WHERE c.proactive = 1 AND c.parent_id IS NOT NULL AND c.account_id IS NOT NULL;
INSERT INTO case_accounts (case_id, account_id, child_case_id, items, added_at)
    SELECT c.id, c.account_id, c.id, (SELECT COUNT(*) FROM case_items ci WHERE ci.case_id = c.id), c.opened_at
    FROM cases c WHERE c.proactive = 1 AND c.parent_id IS NULL AND c.account_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM cases k WHERE k.parent_id = c.id);

-- What each refresh after the case changed in its affected set: the case page's impact timeline.
CREATE TABLE case_impact_changes (
    id            INTEGER PRIMARY KEY,
    case_id       INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    at            TEXT    NOT NULL,
    actor         TEXT    NOT NULL CHECK (length(actor) BETWEEN 1 AND 160),
    account_id    INTEGER NOT NULL REFERENCES accounts (id),
    change        TEXT    NOT NULL CHECK (change IN ('added', 'removed', 'returned', 'items')),
    items_added   INTEGER NOT NULL DEFAULT 0 CHECK (items_added >= 0),
    items_removed INTEGER NOT NULL DEFAULT 0 CHECK (items_removed >= 0),
    detail        TEXT    NOT NULL DEFAULT '' CHECK (length(detail) <= 1000)
);
CREATE INDEX case_impact_changes_case ON case_impact_changes (case_id, id);

-- One notice per account, kind and sequence (an update's number; 1 for the others), whoever presses Send and
-- however often. A pending notice is in the outbox: delivery takes it when `next_attempt_at` has passed.
CREATE TABLE notices (
    id              INTEGER PRIMARY KEY,
    case_id         INTEGER NOT NULL,
    account_id      INTEGER NOT NULL,
    child_case_id   INTEGER NOT NULL REFERENCES cases (id),
    kind            TEXT    NOT NULL CHECK (kind IN ('initial', 'update', 'resolution')),
    seq             INTEGER NOT NULL CHECK (seq >= 1),
    recipients      TEXT    NOT NULL CHECK (length(recipients) BETWEEN 3 AND 4000),
    subject         TEXT    NOT NULL CHECK (length(subject) BETWEEN 1 AND 1000),
    body            TEXT    NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
    message_id      TEXT    NOT NULL UNIQUE CHECK (length(message_id) BETWEEN 3 AND 200),
    status          TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TEXT,
    answer          TEXT    CHECK (answer IS NULL OR length(answer) <= 1000),
    created_by      TEXT    NOT NULL CHECK (length(created_by) BETWEEN 1 AND 160),
    created_at      TEXT    NOT NULL,
    sent_at         TEXT,
    UNIQUE (case_id, account_id, kind, seq),
    CHECK (kind = 'update' OR seq = 1),
    CHECK ((status = 'sent') = (sent_at IS NOT NULL)),
    CHECK ((status = 'pending') = (next_attempt_at IS NOT NULL)),
    FOREIGN KEY (case_id, account_id) REFERENCES case_accounts (case_id, account_id)
);
CREATE INDEX notices_due ON notices (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notices_newest ON notices (created_at DESC, id DESC);
CREATE INDEX notices_case ON notices (case_id, account_id, id);

-- A notice's delivery shows on its case's page, live.
CREATE TRIGGER notices_live_insert AFTER INSERT ON notices BEGIN
    INSERT INTO change_log (kind, number) SELECT 'case', number FROM cases WHERE id = NEW.case_id;
END;
CREATE TRIGGER notices_live_update AFTER UPDATE ON notices BEGIN
    INSERT INTO change_log (kind, number) SELECT 'case', number FROM cases WHERE id = NEW.case_id;
END;

-- The rule may send the initial notice itself once the alert has stayed open for the hold-down time.
ALTER TABLE alert_rules ADD COLUMN send_initial_notice INTEGER NOT NULL DEFAULT 0 CHECK (send_initial_notice IN (0, 1));
ALTER TABLE cases ADD COLUMN auto_notice TEXT CHECK (auto_notice IN ('scheduled', 'held', 'done'));
ALTER TABLE cases ADD COLUMN auto_notice_at TEXT CHECK ((auto_notice = 'scheduled') = (auto_notice_at IS NOT NULL));
CREATE INDEX cases_auto_notice ON cases (auto_notice_at) WHERE auto_notice = 'scheduled';

CREATE TABLE audit_log_new (
    id      INTEGER PRIMARY KEY,
    at      TEXT    NOT NULL,
    actor   TEXT    NOT NULL CHECK (length(actor) BETWEEN 1 AND 160),
    action  TEXT    NOT NULL CHECK (action IN (
                'login', 'login_failed', 'login_throttled', 'logout',
                'install_base_refreshed', 'case_created', 'case_state_changed', 'case_work_note', 'case_comment',
                'user_added', 'user_role_changed', 'user_password_reset', 'user_disabled', 'user_enabled',
                'token_created', 'token_revoked', 'incident_created', 'alert_rule_changed', 'case_assigned',
                'customers_notified', 'notice_retried', 'notice_template_changed', 'case_impact_changed',
                'auto_notice_changed')),
    record  TEXT    CHECK (record IS NULL OR length(record) BETWEEN 1 AND 160),
    detail  TEXT    NOT NULL DEFAULT '' CHECK (length(detail) <= 1000),
    address TEXT    CHECK (address IS NULL OR length(address) <= 100)
);
INSERT INTO audit_log_new (id, at, actor, action, record, detail, address)
    SELECT id, at, actor, action, record, detail, address FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_new RENAME TO audit_log;
