//! The two schemas, `migrations/sqlite` and `migrations/postgres`, must describe the same database: the same tables,
//! columns (and which may be empty), primary keys, foreign keys, unique constraints, checks and indexes. Run with
//! `FORESTALL_TEST_POSTGRES_URL` (as `scripts/test` does on its PostgreSQL run); without it there is nothing to compare.

use crate::support;

use app::store::Store;
use sqlx::AnyPool;
use std::collections::BTreeMap;
use support::TestDatabase;

/// What differs between the stores by design: SQLite's processes follow a change-log table, PostgreSQL's instances
/// LISTEN to NOTIFY (see `live::server::follow`).
const ONLY_SQLITE: &[&str] = &["change_log"];

/// Text search is built differently on each store by design (see `alerts::server`): SQLite keeps FTS5 trigram tables
/// (each with its shadow tables `<name>_data`, `_idx`, `_content`, `_docsize`, `_config`), PostgreSQL a table of
/// search documents and pg_trgm GIN indexes. These are left out of the comparison once each is seen to be there.
const SEARCH_ON_SQLITE: &[&str] = &["alert_search", "ci_search"];
const SEARCH_ON_POSTGRES: &[&str] = &["alert_search"];
const SEARCH_INDEXES_ON_POSTGRES: &[&str] = &["alert_search_doc", "configuration_items_name_trgm"];

/// Indexes only SQLite needs: lookups by `lower(name)`, which on PostgreSQL the unique index on `lower(name)` serves
/// (on SQLite uniqueness is `UNIQUE COLLATE NOCASE`, which such a lookup cannot use).
const ONLY_SQLITE_INDEXES: &[&str] = &["configuration_items_lower_name"];

/// PostgreSQL CHECK constraints that SQLite enforces with a trigger of the same name (SQLite cannot add a table
/// constraint to an existing table): table, name.
const CHECKED_BY_TRIGGER_ON_SQLITE: &[(&str, &str)] = &[("cases", "cases_resolution_notes_required")];

/// Everything compared of one table.
#[derive(Debug, Default, PartialEq, Eq)]
struct Table {
    /// Column name → may be NULL.
    columns: BTreeMap<String, bool>,
    primary_key: Vec<String>,
    foreign_keys: usize,
    /// Unique constraints and unique indexes, the primary key aside: a case-insensitive name is `UNIQUE COLLATE
    /// NOCASE` on SQLite and a unique index on `lower(name)` on PostgreSQL, the same rule.
    uniques: usize,
    checks: usize,
}

/// Table name → its description, and the names of the (not unique) indexes made by CREATE INDEX.
type Schema = (BTreeMap<String, Table>, Vec<String>);

async fn names(db: &AnyPool, sql: &str, bind: Option<&str>) -> Vec<String> {
    let mut query = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql.to_owned()));
    if let Some(value) = bind {
        query = query.bind(value.to_owned());
    }
    let mut names = query.fetch_all(db).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    names.sort();
    names
}

async fn count(db: &AnyPool, sql: &str, table: &str) -> usize {
    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(table.to_owned())
        .fetch_one(db)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    usize::try_from(n).expect("a count")
}

/// A column as SQLite's `pragma_table_info` lists it.
#[derive(sqlx::FromRow)]
struct PragmaColumn {
    name: String,
    /// 1 if the column is declared NOT NULL.
    not_null: i64,
    /// Its position in the primary key from 1, or 0 if it is not part of it.
    pk: i64,
}

async fn sqlite_schema(db: &AnyPool) -> Schema {
    let mut tables = BTreeMap::new();
    let names_of_tables = names(
        db,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%'",
        None,
    )
    .await;
    for name in names_of_tables {
        let columns: Vec<PragmaColumn> =
            sqlx::query_as("SELECT name, \"notnull\" AS not_null, pk FROM pragma_table_info($1) ORDER BY pk, cid")
                .bind(name.clone())
                .fetch_all(db)
                .await
                .expect("columns");
        let sql: String = sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = $1")
            .bind(name.clone())
            .fetch_one(db)
            .await
            .expect("table sql");
        let table = Table {
            // An INTEGER PRIMARY KEY is never NULL, whatever `notnull` says.
            columns: columns
                .iter()
                .map(|c| (c.name.clone(), c.not_null == 0 && c.pk == 0))
                .collect(),
            // Sorted, as the PostgreSQL side reads them: which columns make the key, not in which order.
            primary_key: {
                let mut key: Vec<String> = columns.iter().filter(|c| c.pk > 0).map(|c| c.name.clone()).collect();
                key.sort();
                key
            },
            foreign_keys: count(db, "SELECT COUNT(DISTINCT id) FROM pragma_foreign_key_list($1)", &name).await,
            uniques: count(
                db,
                "SELECT COUNT(*) FROM pragma_index_list($1) WHERE \"unique\" = 1 AND origin <> 'pk'",
                &name,
            )
            .await,
            checks: sql.matches("CHECK (").count() + sql.matches("CHECK(").count(),
        };
        tables.insert(name, table);
    }
    let indexes = names(
        db,
        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'",
        None,
    )
    .await;
    (tables, indexes)
}

async fn postgres_schema(db: &AnyPool) -> Schema {
    let mut tables = BTreeMap::new();
    let names_of_tables = names(
        db,
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' AND table_name NOT LIKE '\\_sqlx%'",
        None,
    )
    .await;
    for name in names_of_tables {
        let columns: Vec<(String, String)> = sqlx::query_as(
            "SELECT column_name::text, is_nullable::text FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name = $1",
        )
        .bind(name.clone())
        .fetch_all(db)
        .await
        .expect("columns");
        let constraints = |kind: &'static str| {
            format!(
                "SELECT COUNT(*) FROM pg_constraint WHERE contype = '{kind}' AND conrelid = ('public.' || $1)::regclass"
            )
        };
        let primary_key = names(
            db,
            "SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
             WHERE i.indisprimary AND i.indrelid = ('public.' || $1)::regclass",
            Some(&name),
        )
        .await;
        let table = Table {
            columns: columns.into_iter().map(|(c, nullable)| (c, nullable == "YES")).collect(),
            primary_key,
            foreign_keys: count(db, &constraints("f"), &name).await,
            uniques: count(
                db,
                "SELECT COUNT(*) FROM pg_index WHERE indisunique AND NOT indisprimary AND indrelid = ('public.' || $1)::regclass",
                &name,
            )
            .await,
            checks: count(db, &constraints("c"), &name).await,
        };
        tables.insert(name, table);
    }
    let indexes = names(
        db,
        "SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public' AND indexdef NOT LIKE 'CREATE UNIQUE%'",
        None,
    )
    .await;
    (tables, indexes)
}

#[tokio::test]
async fn both_schemas_have_the_same_tables_columns_keys_checks_and_indexes() {
    if std::env::var("FORESTALL_TEST_POSTGRES_URL").map_or(true, |url| url.is_empty()) {
        eprintln!("no FORESTALL_TEST_POSTGRES_URL: only one schema to look at, nothing compared");
        return;
    }
    let (_postgres, postgres_url) = TestDatabase::create().await;
    let postgres = Store::open(&postgres_url).await.expect("PostgreSQL schema");
    let file = std::env::temp_dir().join(format!("forestall-schema-{}.db", std::process::id()));
    let sqlite = Store::open(&format!("sqlite://{}", file.display()))
        .await
        .expect("SQLite schema");
    let pg_db = AnyPool::connect(&postgres_url).await.expect("PostgreSQL");
    let sqlite_db = AnyPool::connect(&format!("sqlite://{}", file.display()))
        .await
        .expect("SQLite");

    let (mut sqlite_tables, mut sqlite_indexes) = sqlite_schema(&sqlite_db).await;
    for only in ONLY_SQLITE_INDEXES {
        let before = sqlite_indexes.len();
        sqlite_indexes.retain(|index| index != only);
        assert_eq!(sqlite_indexes.len() + 1, before, "{only} is on SQLite");
    }
    let (mut postgres_tables, mut postgres_indexes) = postgres_schema(&pg_db).await;
    for search in SEARCH_ON_SQLITE {
        assert!(sqlite_tables.contains_key(*search), "SQLite search table {search}");
        let shadow = format!("{search}_");
        sqlite_tables.retain(|name, _| name != search && !name.starts_with(&shadow));
    }
    for search in SEARCH_ON_POSTGRES {
        assert!(
            postgres_tables.remove(*search).is_some(),
            "PostgreSQL search table {search}"
        );
    }
    for search in SEARCH_INDEXES_ON_POSTGRES {
        let before = postgres_indexes.len();
        postgres_indexes.retain(|index| index != search);
        assert_eq!(postgres_indexes.len() + 1, before, "PostgreSQL search index {search}");
    }
    for only in ONLY_SQLITE {
        assert!(sqlite_tables.remove(*only).is_some(), "{only} is on SQLite");
    }
    for (table, name) in CHECKED_BY_TRIGGER_ON_SQLITE {
        let on_sqlite = names(
            &sqlite_db,
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = $1",
            Some(table),
        )
        .await;
        assert!(
            on_sqlite.iter().any(|t| t == name),
            "SQLite trigger {name} on {table}: {on_sqlite:?}"
        );
        let on_postgres: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM pg_constraint WHERE conname = $1 AND contype = 'c'")
                .bind(name.to_string())
                .fetch_one(&pg_db)
                .await
                .expect("constraint");
        assert_eq!(on_postgres, 1, "PostgreSQL constraint {name}");
        if let Some(table) = sqlite_tables.get_mut(*table) {
            table.checks += 1;
        }
    }
    let sqlite_names: Vec<_> = sqlite_tables.keys().collect();
    let postgres_names: Vec<_> = postgres_tables.keys().collect();
    assert_eq!(sqlite_names, postgres_names, "tables (SQLite, then PostgreSQL)");
    for (name, table) in &sqlite_tables {
        assert_eq!(
            Some(table),
            postgres_tables.get(name),
            "table {name} (SQLite, then PostgreSQL)"
        );
    }
    assert_eq!(
        sqlite_indexes, postgres_indexes,
        "indexes made by CREATE INDEX (SQLite, then PostgreSQL)"
    );

    sqlite.close().await;
    postgres.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
}
