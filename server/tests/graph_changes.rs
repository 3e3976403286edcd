//! The impact graph follows the CMDB's changes from the change record (`cmdb_changes`) rather than being read whole
//! again: random changes applied to the held graph give the very trace a fresh read and the SQL trace give, and the
//! record stays bounded.

use crate::support::{empty_store, TestDatabase};
use app::store::{Backend, Store};
use sqlx::AnyPool;

const HOPS: u32 = 10;

/// A small deterministic generator (xorshift), so that a failing sequence fails again the same way.
struct Random(u64);

impl Random {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }

    fn pick(&mut self, ids: &[i64]) -> Option<i64> {
        (!ids.is_empty()).then(|| ids[self.below(ids.len())])
    }
}

async fn ids(db: &AnyPool, sql: &'static str) -> Vec<i64> {
    sqlx::query_scalar(sql).fetch_all(db).await.expect("ids")
}

async fn run(db: &AnyPool, sql: String) {
    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(db).await.expect("change");
}

/// A CMDB of `cis` CIs in layers, each depending on one or two of the layer below, with items on most and some
/// children; the id of the account that owns the items.
async fn seed(db: &AnyPool, cis: usize) -> i64 {
    let account: i64 = sqlx::query_scalar("INSERT INTO accounts (name, kind) VALUES ('Acme', 'external') RETURNING id")
        .fetch_one(db)
        .await
        .expect("account");
    for n in 0..cis {
        run(
            db,
            format!("INSERT INTO configuration_items (name, class) VALUES ('ci-{n}', 'server')"),
        )
        .await;
    }
    let ci = ids(db, "SELECT id FROM configuration_items ORDER BY id").await;
    for n in 4..cis {
        for below in [n / 2, n / 3] {
            run(
                db,
                format!(
                    "INSERT INTO ci_relationships (parent_id, type_id, child_id)
                     SELECT {}, id, {} FROM relationship_types WHERE name = 'Depends on::Used by'",
                    ci[n], ci[below]
                ),
            )
            .await;
        }
    }
    for n in 0..cis * 3 / 2 {
        let parent = if n % 3 == 2 {
            "(SELECT MAX(id) FROM install_base_items)"
        } else {
            "NULL"
        };
        run(
            db,
            format!(
                "INSERT INTO install_base_items (number, name, account_id, ci_id, parent_id)
                 VALUES ('IB{:07}', 'item {n}', {account}, {}, {parent})",
                1_000_000 + n,
                if n % 3 == 2 {
                    "NULL".to_owned()
                } else {
                    ci[n % cis].to_string()
                },
            ),
        )
        .await;
    }
    account
}

/// One random change to the CMDB, as the plain SQL statements an administrator might run.
async fn change(db: &AnyPool, random: &mut Random, account: i64, serial: &mut usize) -> Vec<String> {
    let cis = ids(db, "SELECT id FROM configuration_items").await;
    let items = ids(db, "SELECT id FROM install_base_items").await;
    let relationships = ids(db, "SELECT id FROM ci_relationships").await;
    *serial += 1;
    let serial = *serial;
    let (Some(ci), Some(other)) = (random.pick(&cis), random.pick(&cis)) else {
        return vec![format!(
            "INSERT INTO configuration_items (name, class) VALUES ('new-{serial}', 'server')"
        )];
    };
    let item = random.pick(&items).unwrap_or(0);
    let relationship = random.pick(&relationships).unwrap_or(0);
    match random.below(12) {
        0 | 1 => vec![format!(
            "UPDATE configuration_items SET in_maintenance = 1 - in_maintenance WHERE id = {ci}"
        )],
        2 | 3 if ci != other => vec![format!(
            "INSERT INTO ci_relationships (parent_id, type_id, child_id)
             SELECT {other}, id, {ci} FROM relationship_types WHERE id = {} ON CONFLICT DO NOTHING",
            1 + random.below(6)
        )],
        4 => vec![format!("DELETE FROM ci_relationships WHERE id = {relationship}")],
        5 => vec![format!(
            "UPDATE ci_relationships SET type_id = {} WHERE id = {relationship}
             AND NOT EXISTS (SELECT 1 FROM ci_relationships o WHERE o.id <> {relationship}
                 AND o.child_id = ci_relationships.child_id AND o.parent_id = ci_relationships.parent_id
                 AND o.type_id = {0})",
            1 + random.below(6)
        )],
        6 => vec![format!(
            "UPDATE configuration_items SET name = 'renamed-{serial}' WHERE id = {ci}"
        )],
        7 => vec![format!(
            "INSERT INTO configuration_items (name, class) VALUES ('new-{serial}', 'server')"
        )],
        8 => vec![format!("DELETE FROM configuration_items WHERE id = {ci}")],
        9 => vec![format!(
            "UPDATE install_base_items SET active = 1 - active WHERE id = {item}"
        )],
        10 => match random.below(4) {
            0 => vec![format!("UPDATE install_base_items SET ci_id = NULL WHERE id = {item}")],
            1 => vec![format!("UPDATE install_base_items SET ci_id = {ci} WHERE id = {item}")],
            2 => vec![format!(
                "UPDATE install_base_items SET parent_id = {} WHERE id = {item} AND id <> {0}",
                random.pick(&items).unwrap_or(0)
            )],
            _ => vec![format!(
                "UPDATE install_base_items SET parent_id = NULL WHERE id = {item}"
            )],
        },
        _ => match random.below(2) {
            0 => vec![format!(
                "INSERT INTO install_base_items (number, name, account_id, ci_id, parent_id)
                 VALUES ('IB{:07}', 'new item', {account}, {ci}, {})",
                2_000_000 + serial,
                random.pick(&items).map_or("NULL".to_owned(), |id| id.to_string())
            )],
            _ => vec![
                format!("UPDATE install_base_items SET parent_id = NULL WHERE parent_id = {item}"),
                format!("DELETE FROM install_base_items WHERE id = {item}"),
            ],
        },
    }
}

/// The held graph's trace from every CI (and one that is not there) against a freshly read graph's, the compacted
/// graph's and the SQL trace's; the held graph.
async fn check(store: &Store, db: &AnyPool, step: usize) -> std::sync::Arc<app::install_base::ImpactGraph> {
    let version = store.cmdb_version().await.expect("version");
    let held = store.impact_graph_loaded(version).await.expect("held graph");
    let fresh = store.read_graph().await.expect("fresh graph");
    let compacted = held.compacted().expect("compacted");
    assert_eq!(held.version(), fresh.version(), "step {step}");
    let mut roots = ids(db, "SELECT id FROM configuration_items").await;
    roots.push(1_000_000);
    for root in roots {
        let (_, in_sql) = store.trace_in_sql(root, HOPS).await.expect("SQL trace");
        assert_eq!(
            held.trace(root, HOPS),
            in_sql,
            "step {step}, CI {root}: the held graph and SQL differ"
        );
        assert_eq!(
            fresh.trace(root, HOPS),
            in_sql,
            "step {step}, CI {root}: a fresh read and SQL differ"
        );
        assert_eq!(
            compacted.trace(root, HOPS),
            in_sql,
            "step {step}, CI {root}: compacted and SQL differ"
        );
    }
    held
}

#[tokio::test]
async fn random_changes_applied_to_the_held_graph_trace_as_a_fresh_read_and_sql_do() {
    let (store, db, _database) = empty_store().await;
    let account = seed(&db, 24).await;
    let first = check(&store, &db, 0).await;
    let mut random = Random(0x5eed_cafe);
    let mut serial = 0;
    for step in 1..=60 {
        // Sometimes several changes in one transaction (one version on PostgreSQL, several on SQLite).
        let mut statements = Vec::new();
        for _ in 0..1 + random.below(3) {
            statements.extend(change(&db, &mut random, account, &mut serial).await);
        }
        if random.below(2) == 0 {
            let mut tx = db.begin().await.expect("begin");
            for sql in statements {
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&mut *tx)
                    .await
                    .expect("change");
            }
            tx.commit().await.expect("commit");
        } else {
            for sql in statements {
                run(&db, sql).await;
            }
        }
        let held = check(&store, &db, step).await;
        assert_eq!(
            held.base_version(),
            first.version(),
            "step {step}: the changes were applied to the graph held, not read whole"
        );
    }
}

#[tokio::test]
async fn the_change_record_stays_bounded_and_a_graph_behind_it_is_read_whole() {
    let (store, db, database) = empty_store().await;
    seed(&db, 8).await;
    let version = store.cmdb_version().await.expect("version");
    let held = store.impact_graph_loaded(version).await.expect("graph");
    let ci: i64 = sqlx::query_scalar("SELECT MIN(id) FROM configuration_items")
        .fetch_one(&db)
        .await
        .expect("ci");
    let toggle = format!("UPDATE configuration_items SET in_maintenance = 1 - in_maintenance WHERE id = {ci}");
    // SQLite keeps the last 10,000 versions (a row each), PostgreSQL the last 256 (a transaction each).
    let (changes, most, reach) = match database {
        TestDatabase::SqliteFile(_) => (12_300, 11_024, 10_000),
        TestDatabase::Postgres { .. } => (400, 320, 256),
    };
    if matches!(store.backend(), Backend::Sqlite) {
        // One transaction of single-row statements: each is a version of its own.
        let mut tx = db.begin().await.expect("begin");
        for _ in 0..changes {
            sqlx::query(sqlx::AssertSqlSafe(toggle.clone()))
                .execute(&mut *tx)
                .await
                .expect("toggle");
        }
        tx.commit().await.expect("commit");
    } else {
        for _ in 0..changes {
            run(&db, toggle.clone()).await;
        }
    }
    let (now, since, recorded): (i64, i64, i64) = sqlx::query_as(
        "SELECT version, changes_since, (SELECT COUNT(*) FROM cmdb_changes) FROM cmdb_state WHERE id = 1",
    )
    .fetch_one(&db)
    .await
    .expect("state");
    assert!(recorded <= most, "{recorded} rows kept");
    assert!(
        since > held.version(),
        "the record no longer reaches back to the held graph"
    );
    assert!(
        now - since >= reach,
        "but it reaches back only {} versions",
        now - since
    );

    // The held graph is too far behind: a trace is answered by SQL while the graph is read whole.
    assert!(store.impact_graph(now).await.expect("graph").is_none());
    let read = store.impact_graph_loaded(now).await.expect("graph");
    assert_eq!(read.base_version(), now);
    assert_eq!(read.trace(ci, HOPS), store.trace_in_sql(ci, HOPS).await.expect("SQL").1);
}

#[tokio::test]
async fn a_transaction_too_large_to_record_makes_a_graph_before_it_read_whole() {
    let (store, db, _database) = empty_store().await;
    let account = seed(&db, 8).await;
    let version = store.cmdb_version().await.expect("version");
    store.impact_graph_loaded(version).await.expect("graph");
    let ci: i64 = sqlx::query_scalar("SELECT MIN(id) FROM configuration_items")
        .fetch_one(&db)
        .await
        .expect("ci");
    // An import-sized transaction: 6,000 items.
    let mut tx = db.begin().await.expect("begin");
    for n in 0..6_000 {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO install_base_items (number, name, account_id, ci_id) VALUES ('IB{:07}', 'bulk', {account}, {ci})",
            3_000_000 + n
        )))
        .execute(&mut *tx)
        .await
        .expect("insert");
    }
    tx.commit().await.expect("commit");
    let now = store.cmdb_version().await.expect("version");
    // Read whole (on PostgreSQL the transaction recorded nothing; on SQLite it is more than is worth applying).
    assert!(store.impact_graph(now).await.expect("graph").is_none());
    let read = store.impact_graph_loaded(now).await.expect("graph");
    assert_eq!(read.base_version(), now);
    let traced = read.trace(ci, HOPS);
    assert_eq!(traced, store.trace_in_sql(ci, HOPS).await.expect("SQL").1);
    assert!(traced.len() > 6_000);
}

#[tokio::test]
async fn a_large_import_records_no_changes_and_a_graph_held_before_it_reads_whole() {
    let (store, db, _database) = empty_store().await;
    let folder = crate::support::TempDir::new();
    app::import::generate(folder.path(), 12_000, 1).expect("generate");
    let before = store
        .impact_graph_loaded(store.cmdb_version().await.expect("version"))
        .await
        .expect("graph");
    store.import_dir(folder.path(), |_| {}).await.expect("import");
    let (version, since, recorded, recording): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT version, changes_since, (SELECT COUNT(*) FROM cmdb_changes), recording FROM cmdb_state WHERE id = 1",
    )
    .fetch_one(&db)
    .await
    .expect("state");
    // Some 20,000 rows written, none recorded, and recording on again for what comes next.
    assert_eq!((recorded, recording), (0, 1));
    assert!(
        since > before.version() && since >= version - 1,
        "{since} against version {version}"
    );
    assert!(
        store.impact_graph(version).await.expect("graph").is_none(),
        "read whole"
    );
    let read = store.impact_graph_loaded(version).await.expect("graph");
    assert_eq!(read.size().0, 6_000);
}
