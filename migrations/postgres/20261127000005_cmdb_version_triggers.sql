-- The CMDB's version goes up with every change to the impact graph, however it is made: an import, the demo data, or
-- an administrator's own SQL. Each Forestall instance keeps the graph in memory keyed by this version (see
-- `install_base::server::graph`), so a change that did not raise it would be traced against an old graph.
-- Row triggers, so that a statement that changes nothing (an import run twice) raises nothing; the first changed row of
-- a transaction raises the version once, remembered in a transaction-local setting, because updating the one
-- `cmdb_state` row for each of a million imported rows would leave a million versions of it in one transaction.
CREATE FUNCTION cmdb_touched() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('forestall.cmdb_touched', true), '') = '' THEN
        PERFORM set_config('forestall.cmdb_touched', 'yes', true);
        UPDATE cmdb_state
        SET version = version + 1, changed_at = to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')
        WHERE id = 1;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER configuration_items_changed AFTER INSERT OR UPDATE OR DELETE ON configuration_items
    FOR EACH ROW EXECUTE FUNCTION cmdb_touched();
CREATE TRIGGER ci_relationships_changed AFTER INSERT OR UPDATE OR DELETE ON ci_relationships
    FOR EACH ROW EXECUTE FUNCTION cmdb_touched();
CREATE TRIGGER install_base_items_changed AFTER INSERT OR UPDATE OR DELETE ON install_base_items
    FOR EACH ROW EXECUTE FUNCTION cmdb_touched();
