-- The event side: alerts, what they affect, and the cases and incidents opened for them.

CREATE TABLE alerts (
    id               INTEGER PRIMARY KEY,
    number           TEXT    NOT NULL UNIQUE CHECK (number GLOB 'Alert[0-9][0-9][0-9][0-9][0-9][0-9][0-9]*'),
    source           TEXT    NOT NULL CHECK (length(source) BETWEEN 1 AND 100),
    node             TEXT    NOT NULL CHECK (length(node) <= 100),
    type             TEXT    NOT NULL DEFAULT '' CHECK (length(type) <= 100),
    resource         TEXT    NOT NULL DEFAULT '' CHECK (length(resource) <= 100),
    metric_name      TEXT    NOT NULL DEFAULT '' CHECK (length(metric_name) <= 100),
    message_key      TEXT    NOT NULL CHECK (length(message_key) BETWEEN 1 AND 1024),
    description      TEXT    NOT NULL DEFAULT '' CHECK (length(description) <= 4000),
    severity         INTEGER NOT NULL CHECK (severity BETWEEN 0 AND 5),
    state            TEXT    NOT NULL CHECK (state IN ('Open', 'Reopen', 'Flapping', 'Closed')),
    ci_id            INTEGER REFERENCES configuration_items (id) ON DELETE SET NULL,
    case_id          INTEGER UNIQUE REFERENCES cases (id),
    incident_id      INTEGER UNIQUE REFERENCES incidents (id),
    event_count      INTEGER NOT NULL DEFAULT 1 CHECK (event_count >= 1),
    first_event_at   TEXT    NOT NULL,
    last_event_at    TEXT    NOT NULL,
    ib_refreshed_at  TEXT,
    CHECK (last_event_at >= first_event_at)
);
CREATE INDEX alerts_newest ON alerts (last_event_at DESC, id DESC);
CREATE INDEX alerts_message_key ON alerts (message_key);

-- The alert's snapshot of affected install base items, replaced whole by each refresh.
CREATE TABLE affected_items (
    alert_id    INTEGER NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    item_id     INTEGER NOT NULL REFERENCES install_base_items (id) ON DELETE CASCADE,
    reason      TEXT    NOT NULL CHECK (reason IN ('direct', 'ci_path', 'child')),
    hops        INTEGER NOT NULL CHECK (hops >= 0),
    -- Names of the CIs from the alert's CI to the item's CI, joined by ' → ' (for direct and ci_path rows).
    ci_path     TEXT,
    via_item_id INTEGER REFERENCES install_base_items (id) ON DELETE CASCADE,
    PRIMARY KEY (alert_id, item_id),
    CHECK ((reason = 'child') = (via_item_id IS NOT NULL)),
    CHECK ((reason = 'direct') = (hops = 0 AND via_item_id IS NULL))
) WITHOUT ROWID;

CREATE TABLE cases (
    id                INTEGER PRIMARY KEY,
    number            TEXT    NOT NULL UNIQUE CHECK (number GLOB 'CS[0-9][0-9][0-9][0-9][0-9][0-9][0-9]*'),
    proactive         INTEGER NOT NULL DEFAULT 0 CHECK (proactive IN (0, 1)),
    alert_id          INTEGER REFERENCES alerts (id),
    parent_id         INTEGER REFERENCES cases (id),
    account_id        INTEGER REFERENCES accounts (id),
    contact_id        INTEGER,
    product_id        INTEGER REFERENCES products (id),
    short_description TEXT    NOT NULL CHECK (length(trim(short_description)) BETWEEN 1 AND 160),
    priority          INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 4),
    state             TEXT    NOT NULL DEFAULT 'New'
                              CHECK (state IN ('New', 'Open', 'Awaiting Info', 'Resolved', 'Closed', 'Canceled')),
    assigned_to       TEXT    CHECK (assigned_to IS NULL OR length(assigned_to) BETWEEN 1 AND 160),
    opened_by         TEXT    NOT NULL CHECK (length(opened_by) BETWEEN 1 AND 160),
    opened_at         TEXT    NOT NULL,
    CHECK (parent_id IS NULL OR parent_id <> id),
    CHECK (proactive = 1 OR alert_id IS NULL),
    CHECK (contact_id IS NULL OR account_id IS NOT NULL),
    FOREIGN KEY (contact_id, account_id) REFERENCES contacts (id, account_id)
);
-- The rule that makes "exactly one proactive case per alert" hold under any race: a second top-level proactive case
-- for the same alert cannot be written. Child cases of a major case carry the alert too, under their parent.
CREATE UNIQUE INDEX cases_one_proactive_per_alert ON cases (alert_id) WHERE proactive = 1 AND parent_id IS NULL;
CREATE UNIQUE INDEX cases_one_child_per_account ON cases (parent_id, account_id) WHERE parent_id IS NOT NULL;
CREATE INDEX cases_newest ON cases (opened_at DESC, id DESC);

CREATE TABLE case_items (
    case_id INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    item_id INTEGER NOT NULL REFERENCES install_base_items (id),
    PRIMARY KEY (case_id, item_id)
) WITHOUT ROWID;

CREATE TABLE incidents (
    id                INTEGER PRIMARY KEY,
    number            TEXT    NOT NULL UNIQUE CHECK (number GLOB 'INC[0-9][0-9][0-9][0-9][0-9][0-9][0-9]*'),
    alert_id          INTEGER UNIQUE REFERENCES alerts (id),
    short_description TEXT    NOT NULL CHECK (length(short_description) BETWEEN 1 AND 160),
    state             TEXT    NOT NULL DEFAULT 'New' CHECK (state IN ('New', 'In Progress', 'On Hold', 'Resolved', 'Closed')),
    opened_at         TEXT    NOT NULL
);

-- Work notes (internal), comments (customer-visible) and activity (what the system or an agent did) on a case or
-- an alert; exactly one of the two.
CREATE TABLE journal_entries (
    id         INTEGER PRIMARY KEY,
    case_id    INTEGER REFERENCES cases (id) ON DELETE CASCADE,
    alert_id   INTEGER REFERENCES alerts (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL CHECK (kind IN ('work_note', 'comment', 'activity')),
    author     TEXT    NOT NULL CHECK (length(author) BETWEEN 1 AND 160),
    created_at TEXT    NOT NULL,
    body       TEXT    NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
    CHECK ((case_id IS NULL) <> (alert_id IS NULL))
);
CREATE INDEX journal_entries_case ON journal_entries (case_id, id) WHERE case_id IS NOT NULL;
CREATE INDEX journal_entries_alert ON journal_entries (alert_id, id) WHERE alert_id IS NOT NULL;
