-- Stale snapshots: the CMDB's version goes up with every change to it (an import, the demo data), and each alert
-- keeps the version its snapshot was traced at. A snapshot older than the CMDB is stale.
CREATE TABLE cmdb_state (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    version    INTEGER NOT NULL CHECK (version >= 0),
    changed_at TEXT
);
INSERT INTO cmdb_state (id, version) VALUES (1, 0);
ALTER TABLE alerts ADD COLUMN ib_cmdb_version INTEGER CHECK (ib_cmdb_version IS NULL OR ib_cmdb_version >= 0);
