-- Stale snapshots, as in migrations/sqlite: the CMDB's version, and the version each alert's snapshot was traced at.
CREATE TABLE cmdb_state (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    version    BIGINT  NOT NULL CHECK (version >= 0),
    changed_at TEXT
);
INSERT INTO cmdb_state (id, version) VALUES (1, 0);
ALTER TABLE alerts ADD COLUMN ib_cmdb_version BIGINT CHECK (ib_cmdb_version IS NULL OR ib_cmdb_version >= 0);
