-- Lookups by CI name compare lower(name) on both databases (PostgreSQL has no NOCASE collation); this index lets
-- SQLite answer them without reading the whole table, as PostgreSQL's unique index on lower(name) does there.
CREATE INDEX configuration_items_lower_name ON configuration_items (lower(name));
