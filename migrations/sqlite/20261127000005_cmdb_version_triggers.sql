-- The CMDB's version goes up with every change to the impact graph, however it is made: an import, the demo data, or
-- an administrator's own SQL. Each Forestall process keeps the graph in memory keyed by this version (see
-- `install_base::server::graph`), so a change that did not raise it would be traced against an old graph.
CREATE TRIGGER configuration_items_changed_insert AFTER INSERT ON configuration_items BEGIN
    UPDATE cmdb_state SET version = version + 1, changed_at = strftime('%Y-%m-%d %H:%M:%S', 'now') WHERE id = 1;
END;
CREATE TRIGGER configuration_items_changed_update AFTER UPDATE ON configuration_items BEGIN
    UPDATE cmdb_state SET version = version + 1, changed_at = strftime('%Y-%m-%d %H:%M:%S', 'now') WHERE id = 1;
END;
CREATE TRIGGER configuration_items_changed_delete AFTER DELETE ON configuration_items BEGIN
    UPDATE cmdb_state SET version = version + 1, changed_at = strftime('%Y-%m-%d %H:%M:%S', 'now') WHERE id = 1;
END;
CREATE TRIGGER ci_relationships_changed_insert AFTER INSERT ON ci_relationships BEGIN
    UPDATE cmdb_state SET version = version + 1, changed_at = strftime('%Y-%m-%d %H:%M:%S', 'now') WHERE id = 1;
END;
CREATE TRIGGER ci_relationships_changed_update AFTER UPDATE ON ci_relationships BEGIN
    UPDATE cmdb_state SET version = version + 1, changed_at = strftime('%Y-%m-%d %H:%M:%S', 'now') WHERE id = 1;
END;
CREATE TRIGGER ci_relationships_changed_delete AFTER DELETE ON ci_relationships BEGIN
    UPDATE cmdb_state SET version = version + 1, changed_at = strftime('%Y-%m-%d %H:%M:%S', 'now') WHERE id = 1;
END;
CREATE TRIGGER install_base_items_changed_insert AFTER INSERT ON install_base_items BEGIN
    UPDATE cmdb_state SET version = version + 1, changed_at = strftime('%Y-%m-%d %H:%M:%S', 'now') WHERE id = 1;
END;
CREATE TRIGGER install_base_items_changed_update AFTER UPDATE ON install_base_items BEGIN
    UPDATE cmdb_state SET version = version + 1, changed_at = strftime('%Y-%m-%d %H:%M:%S', 'now') WHERE id = 1;
END;
CREATE TRIGGER install_base_items_changed_delete AFTER DELETE ON install_base_items BEGIN
    UPDATE cmdb_state SET version = version + 1, changed_at = strftime('%Y-%m-%d %H:%M:%S', 'now') WHERE id = 1;
END;
