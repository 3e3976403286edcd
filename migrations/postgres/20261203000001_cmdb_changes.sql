-- What changed in the CMDB at each version, written by the trigger that raises the version, so that a process holding
-- the impact graph at an older version applies the changes rather than reading the graph whole again (see
-- `install_base::server::graph`). One row per changed row, naming what the graph must read again: a CI's id; for a
-- relationship, its child CI's (whose dependents changed); for an item, its id, the CI it is on and its parent. Before
-- and after, so that a move or a delete names both sides.
CREATE TABLE cmdb_changes (
    version       BIGINT NOT NULL,
    part          TEXT   NOT NULL CHECK (part IN ('ci', 'relationship', 'item')),
    old_id        BIGINT,
    new_id        BIGINT,
    old_ci_id     BIGINT,
    new_ci_id     BIGINT,
    old_parent_id BIGINT,
    new_parent_id BIGINT
);
CREATE INDEX cmdb_changes_version ON cmdb_changes (version);
-- Every change after this version is in cmdb_changes; a graph held at an older version reads whole again. Pruning
-- and a transaction too large to record raise it. Changes made before this migration were never recorded.
ALTER TABLE cmdb_state ADD COLUMN changes_since BIGINT NOT NULL DEFAULT 0;
UPDATE cmdb_state SET changes_since = version;
-- 0 while a large import writes, which records nothing and raises changes_since past itself when done (SQLite's
-- import sets it; here a transaction past 1,000 rows stops recording by itself as well).
ALTER TABLE cmdb_state ADD COLUMN recording INTEGER NOT NULL DEFAULT 1 CHECK (recording IN (0, 1));

-- On PostgreSQL a version is a transaction. Its first changed row raises the version (as before) and, each 64th
-- version, prunes the record to the last 256 versions; a transaction records at most 1,000 rows, and one that changes
-- more (an import) records none and raises changes_since past itself instead, since a graph reads whole faster than
-- it applies that much. So the record holds at most 320 versions of at most 1,000 rows.
CREATE OR REPLACE FUNCTION cmdb_touched() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    touched bigint;
    recorded integer;
BEGIN
    IF coalesce(current_setting('forestall.cmdb_version', true), '') = '' THEN
        UPDATE cmdb_state
        SET version = version + 1, changed_at = to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')
        WHERE id = 1
        RETURNING version, CASE WHEN recording = 1 THEN 0 ELSE 1001 END INTO touched, recorded;
        PERFORM set_config('forestall.cmdb_version', touched::text, true);
        IF touched % 64 = 0 THEN
            DELETE FROM cmdb_changes WHERE version <= touched - 256;
            UPDATE cmdb_state SET changes_since = touched - 256 WHERE id = 1 AND changes_since < touched - 256;
        END IF;
    ELSE
        touched := current_setting('forestall.cmdb_version')::bigint;
        recorded := current_setting('forestall.cmdb_recorded')::integer;
    END IF;
    IF recorded < 1000 THEN
        IF TG_TABLE_NAME = 'configuration_items' THEN
            INSERT INTO cmdb_changes (version, part, old_id, new_id)
            VALUES (touched, 'ci', CASE WHEN TG_OP <> 'INSERT' THEN OLD.id END,
                    CASE WHEN TG_OP <> 'DELETE' THEN NEW.id END);
        ELSIF TG_TABLE_NAME = 'ci_relationships' THEN
            INSERT INTO cmdb_changes (version, part, old_id, new_id)
            VALUES (touched, 'relationship', CASE WHEN TG_OP <> 'INSERT' THEN OLD.child_id END,
                    CASE WHEN TG_OP <> 'DELETE' THEN NEW.child_id END);
        ELSIF TG_OP = 'INSERT' THEN
            INSERT INTO cmdb_changes (version, part, new_id, new_ci_id, new_parent_id)
            VALUES (touched, 'item', NEW.id, NEW.ci_id, NEW.parent_id);
        ELSIF TG_OP = 'UPDATE' THEN
            INSERT INTO cmdb_changes (version, part, old_id, new_id, old_ci_id, new_ci_id, old_parent_id, new_parent_id)
            VALUES (touched, 'item', OLD.id, NEW.id, OLD.ci_id, NEW.ci_id, OLD.parent_id, NEW.parent_id);
        ELSE
            INSERT INTO cmdb_changes (version, part, old_id, old_ci_id, old_parent_id)
            VALUES (touched, 'item', OLD.id, OLD.ci_id, OLD.parent_id);
        END IF;
    ELSIF recorded = 1000 THEN
        DELETE FROM cmdb_changes WHERE version = touched;
        UPDATE cmdb_state SET changes_since = touched WHERE id = 1;
    END IF;
    IF recorded <= 1000 THEN
        PERFORM set_config('forestall.cmdb_recorded', (recorded + 1)::text, true);
    END IF;
    RETURN NULL;
END
$$;
