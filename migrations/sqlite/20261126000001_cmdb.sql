-- The CMDB side: who the customers are, what they run, and how configuration items depend on each other.

CREATE TABLE accounts (
    id                 INTEGER PRIMARY KEY,
    name               TEXT    NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 160),
    kind               TEXT    NOT NULL CHECK (kind IN ('external', 'internal')),
    primary_contact_id INTEGER,
    -- The primary contact must be one of the account's own contacts.
    CONSTRAINT accounts_primary_contact_fk FOREIGN KEY (primary_contact_id, id)
        REFERENCES contacts (id, account_id) DEFERRABLE INITIALLY DEFERRED
);

CREATE TABLE contacts (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    name       TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 160),
    email      TEXT    NOT NULL UNIQUE CHECK (length(email) <= 254 AND email LIKE '_%@_%'),
    UNIQUE (id, account_id)
);
CREATE INDEX contacts_account ON contacts (account_id);

CREATE TABLE products (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 160)
);

CREATE TABLE configuration_items (
    id             INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL UNIQUE COLLATE NOCASE CHECK (length(name) BETWEEN 1 AND 255),
    class          TEXT    NOT NULL CHECK (class IN ('server', 'database', 'application', 'network', 'service', 'storage')),
    fqdn           TEXT    COLLATE NOCASE CHECK (fqdn IS NULL OR length(fqdn) BETWEEN 1 AND 255),
    ip             TEXT    CHECK (ip IS NULL OR length(ip) BETWEEN 2 AND 45),
    in_maintenance INTEGER NOT NULL DEFAULT 0 CHECK (in_maintenance IN (0, 1))
);

-- A relationship type reads "parent <verb> child::child <verb> parent". When it carries impact, an impacted child
-- impacts its parent: the parent depends on, runs on or is hosted on the child.
CREATE TABLE relationship_types (
    id             INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL UNIQUE CHECK (name LIKE '_%::_%'),
    carries_impact INTEGER NOT NULL CHECK (carries_impact IN (0, 1))
);

CREATE TABLE ci_relationships (
    id        INTEGER PRIMARY KEY,
    parent_id INTEGER NOT NULL REFERENCES configuration_items (id) ON DELETE CASCADE,
    child_id  INTEGER NOT NULL REFERENCES configuration_items (id) ON DELETE CASCADE,
    type_id   INTEGER NOT NULL REFERENCES relationship_types (id),
    CHECK (parent_id <> child_id),
    -- Ordered for the trace, which walks from a child to the parents that depend on it.
    UNIQUE (child_id, type_id, parent_id)
);

INSERT INTO relationship_types (name, carries_impact) VALUES
    ('Depends on::Used by', 1),
    ('Runs on::Runs', 1),
    ('Hosted on::Hosts', 1),
    ('Connected by::Connects', 0),
    ('Contains::Contained by', 0),
    ('Members::Member of', 0);

CREATE TABLE install_base_items (
    id           INTEGER PRIMARY KEY,
    number       TEXT    NOT NULL UNIQUE CHECK (number GLOB 'IB[0-9][0-9][0-9][0-9][0-9][0-9][0-9]*'),
    name         TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 160),
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    contact_id   INTEGER,
    product_id   INTEGER REFERENCES products (id),
    ci_id        INTEGER REFERENCES configuration_items (id) ON DELETE SET NULL,
    parent_id    INTEGER REFERENCES install_base_items (id),
    active       INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    install_date TEXT    CHECK (install_date IS NULL OR install_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    CHECK (parent_id IS NULL OR parent_id <> id),
    -- An item's contact belongs to the item's account.
    FOREIGN KEY (contact_id, account_id) REFERENCES contacts (id, account_id)
);
CREATE INDEX install_base_items_ci ON install_base_items (ci_id) WHERE active = 1;
CREATE INDEX install_base_items_parent ON install_base_items (parent_id) WHERE active = 1;

-- Record numbers (Alert0010001, IB0010001, CS0010001, INC0010001): one row per prefix, advanced inside the
-- transaction that inserts the record, so a number is never handed out twice nor reused after a rollback commits.
CREATE TABLE number_counters (
    prefix TEXT    PRIMARY KEY CHECK (prefix IN ('Alert', 'IB', 'CS', 'INC')),
    next   INTEGER NOT NULL CHECK (next BETWEEN 1 AND 9999999)
);
INSERT INTO number_counters (prefix, next) VALUES ('Alert', 10001), ('IB', 10001), ('CS', 10001), ('INC', 10001);
