-- What changed in the CMDB at each version, written by the triggers that raise the version, so that a process holding
-- the impact graph at an older version applies the changes rather than reading the graph whole again (see
-- `install_base::server::graph`). One row per changed row, naming what the graph must read again: a CI's id; for a
-- relationship, its child CI's (whose dependents changed); for an item, its id, the CI it is on and its parent. Before
-- and after, so that a move or a delete names both sides.
CREATE TABLE cmdb_changes (
    version       INTEGER NOT NULL,
    part          TEXT    NOT NULL CHECK (part IN ('ci', 'relationship', 'item')),
    old_id        INTEGER,
    new_id        INTEGER,
    old_ci_id     INTEGER,
    new_ci_id     INTEGER,
    old_parent_id INTEGER,
    new_parent_id INTEGER
);
CREATE INDEX cmdb_changes_version ON cmdb_changes (version);
-- Every change after this version is in cmdb_changes; a graph held at an older version reads whole again. Pruning
-- raises it. Changes made before this migration were never recorded.
ALTER TABLE cmdb_state ADD COLUMN changes_since INTEGER NOT NULL DEFAULT 0;
UPDATE cmdb_state SET changes_since = version;
-- 0 while a large import writes, which records nothing (it would double the time other writers wait for it) and
-- raises changes_since past itself when done: a graph reads whole faster than it applies a million changes.
ALTER TABLE cmdb_state ADD COLUMN recording INTEGER NOT NULL DEFAULT 1 CHECK (recording IN (0, 1));

-- On SQLite every changed row is a version of its own, so the record is kept for the last 10,000 versions: pruned
-- each 1,024th version, it holds at most 11,024 rows. A graph further behind than that reads whole, which a change
-- that large would cost anyway.
DROP TRIGGER configuration_items_changed_insert;
DROP TRIGGER configuration_items_changed_update;
DROP TRIGGER configuration_items_changed_delete;
DROP TRIGGER ci_relationships_changed_insert;
DROP TRIGGER ci_relationships_changed_update;
DROP TRIGGER ci_relationships_changed_delete;
DROP TRIGGER install_base_items_changed_insert;
DROP TRIGGER install_base_items_changed_update;
DROP TRIGGER install_base_items_changed_delete;

CREATE TRIGGER configuration_items_changed_insert AFTER INSERT ON configuration_items BEGIN
    UPDATE cmdb_state SET version = version + 1, changed_at = strftime('%Y-%m-%d %H:%M:%S', 'now') WHERE id = 1;
    INSERT INTO cmdb_changes (version, part, new_id) SELECT version, 'ci', NEW.id FROM cmdb_state WHERE id = 1 AND recording = 1;
    DELETE FROM cmdb_changes WHERE version <= (SELECT version - 10000 FROM cmdb_state WHERE id = 1 AND version % 1024 = 0);
    UPDATE cmdb_state SET changes_since = version - 10000
    WHERE id = 1 AND version % 1024 = 0 AND changes_since < version - 10000;
END;
CREATE TRIGGER configuration_items_changed_update AFTER UPDATE ON configuration_items BEGIN
    UPDATE cmdb_state SET version = version + 1, changed_at = strftime('%Y-%m-%d %H:%M:%S', 'now') WHERE id = 1;
    INSERT INTO cmdb_changes (version, part, old_id, new_id) SELECT version, 'ci', OLD.id, NEW.id FROM cmdb_state WHERE id = 1 AND recording = 1;
    DELETE FROM cmdb_changes WHERE version <= (SELECT version - 10000 FROM cmdb_state WHERE id = 1 AND version % 1024 = 0);
    UPDATE cmdb_state SET changes_since = version - 10000
    WHERE id = 1 AND version % 1024 = 0 AND changes_since < version - 10000;
END;
CREATE TRIGGER configuration_items_changed_delete AFTER DELETE ON configuration_items BEGIN
    UPDATE cmdb_state SET version = version + 1, changed_at = strftime('%Y-%m-%d %H:%M:%S', 'now') WHERE id = 1;
    INSERT INTO cmdb_changes (version, part, old_id) SELECT version, 'ci', OLD.id FROM cmdb_state WHERE id = 1 AND recording = 1;
    DELETE FROM cmdb_changes WHERE version <= (SELECT version - 10000 FROM cmdb_state WHERE id = 1 AND version % 1024 = 0);
    UPDATE cmdb_state SET changes_since = version - 10000
    WHERE id = 1 AND version % 1024 = 0 AND changes_since < version - 10000;
END;
CREATE TRIGGER ci_relationships_changed_insert AFTER INSERT ON ci_relationships BEGIN
    UPDATE cmdb_state SET version = version + 1, changed_at = strftime('%Y-%m-%d %H:%M:%S', 'now') WHERE id = 1;
    INSERT INTO cmdb_changes (version, part, new_id) SELECT version, 'relationship', NEW.child_id FROM cmdb_state WHERE id = 1 AND recording = 1;
    DELETE FROM cmdb_changes WHERE version <= (SELECT version - 10000 FROM cmdb_state WHERE id = 1 AND version % 1024 = 0);
    UPDATE cmdb_state SET changes_since = version - 10000
    WHERE id = 1 AND version % 1024 = 0 AND changes_since < version - 10000;
END;
CREATE TRIGGER ci_relationships_changed_update AFTER UPDATE ON ci_relationships BEGIN
    UPDATE cmdb_state SET version = version + 1, changed_at = strftime('%Y-%m-%d %H:%M:%S', 'now') WHERE id = 1;
    INSERT INTO cmdb_changes (version, part, old_id, new_id)
    SELECT version, 'relationship', OLD.child_id, NEW.child_id FROM cmdb_state WHERE id = 1 AND recording = 1;
    DELETE FROM cmdb_changes WHERE version <= (SELECT version - 10000 FROM cmdb_state WHERE id = 1 AND version % 1024 = 0);
    UPDATE cmdb_state SET changes_since = version - 10000
    WHERE id = 1 AND version % 1024 = 0 AND changes_since < version - 10000;
END;
CREATE TRIGGER ci_relationships_changed_delete AFTER DELETE ON ci_relationships BEGIN
    UPDATE cmdb_state SET version = version + 1, changed_at = strftime('%Y-%m-%d %H:%M:%S', 'now') WHERE id = 1;
    INSERT INTO cmdb_changes (version, part, old_id) SELECT version, 'relationship', OLD.child_id FROM cmdb_state WHERE id = 1 AND recording = 1;
    DELETE FROM cmdb_changes WHERE version <= (SELECT version - 10000 FROM cmdb_state WHERE id = 1 AND version % 1024 = 0);
    UPDATE cmdb_state SET changes_since = version - 10000
    WHERE id = 1 AND version % 1024 = 0 AND changes_since < version - 10000;
END;
CREATE TRIGGER install_base_items_changed_insert AFTER INSERT ON install_base_items BEGIN
    UPDATE cmdb_state SET version = version + 1, changed_at = strftime('%Y-%m-%d %H:%M:%S', 'now') WHERE id = 1;
    INSERT INTO cmdb_changes (version, part, new_id, new_ci_id, new_parent_id)
    SELECT version, 'item', NEW.id, NEW.ci_id, NEW.parent_id FROM cmdb_state WHERE id = 1 AND recording = 1;
    DELETE FROM cmdb_changes WHERE version <= (SELECT version - 10000 FROM cmdb_state WHERE id = 1 AND version % 1024 = 0);
    UPDATE cmdb_state SET changes_since = version - 10000
    WHERE id = 1 AND version % 1024 = 0 AND changes_since < version - 10000;
END;
CREATE TRIGGER install_base_items_changed_update AFTER UPDATE ON install_base_items BEGIN
    UPDATE cmdb_state SET version = version + 1, changed_at = strftime('%Y-%m-%d %H:%M:%S', 'now') WHERE id = 1;
    INSERT INTO cmdb_changes (version, part, old_id, new_id, old_ci_id, new_ci_id, old_parent_id, new_parent_id)
    SELECT version, 'item', OLD.id, NEW.id, OLD.ci_id, NEW.ci_id, OLD.parent_id, NEW.parent_id FROM cmdb_state WHERE id = 1 AND recording = 1;
    DELETE FROM cmdb_changes WHERE version <= (SELECT version - 10000 FROM cmdb_state WHERE id = 1 AND version % 1024 = 0);
    UPDATE cmdb_state SET changes_since = version - 10000
    WHERE id = 1 AND version % 1024 = 0 AND changes_since < version - 10000;
END;
CREATE TRIGGER install_base_items_changed_delete AFTER DELETE ON install_base_items BEGIN
    UPDATE cmdb_state SET version = version + 1, changed_at = strftime('%Y-%m-%d %H:%M:%S', 'now') WHERE id = 1;
    INSERT INTO cmdb_changes (version, part, old_id, old_ci_id, old_parent_id)
    SELECT version, 'item', OLD.id, OLD.ci_id, OLD.parent_id FROM cmdb_state WHERE id = 1 AND recording = 1;
    DELETE FROM cmdb_changes WHERE version <= (SELECT version - 10000 FROM cmdb_state WHERE id = 1 AND version % 1024 = 0);
    UPDATE cmdb_state SET changes_since = version - 10000
    WHERE id = 1 AND version % 1024 = 0 AND changes_since < version - 10000;
END;
